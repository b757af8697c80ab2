"""The ProPose network: HRNet-W48 + soft-argmax 3D keypoints + shape, prior-F and camera heads.

Everything after the backbone (softmax, decoding, heads, camera) runs in float32 even under
autocast: the soft-argmax sums 64³ probabilities and the depth-from-scale division amplifies
rounding, both of which bf16 would visibly degrade.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from propose_backend.model.hrnet import W48_LAYOUT, HRNetLayout, HRNetW48
from propose_backend.skeleton import (
    CROP_SIZE,
    DEPTH_FACTOR_M,
    FOCAL_LENGTH_PX,
    NUM_SMPL_JOINTS,
)

NUM_BETAS = 10
INIT_CAM = (0.9, 0.0, 0.0)  # (scale, tx, ty): a person filling the crop at ~8.7 m depth


class NetworkOutput(NamedTuple):
    """Per-crop predictions before the posterior (shapes for batch B)."""

    heatmap_coords: Tensor  # (B, 34, 3) normalised crop-volume coordinates in [-0.5, 0.5]
    heatmap_joints: Tensor  # (B, 35, 3) root-relative metres, root fixed at zero
    betas: Tensor  # (B, 10)
    prior_F: Tensor  # (B, 24, 3, 3) matrix-Fisher prior parameters, row-major per joint
    cam: Tensor  # (B, 3) (scale, tx, ty)
    transl: Tensor  # (B, 3) camera-frame translation in metres


def heatmap_probabilities(logits: Tensor, depth: int) -> Tensor:
    """Softmax over each joint's whole volume: (B, J·D, H, W) logits → (B, J, D, H, W) in fp32.

    Channels are joint-major (channel = j·D + d), as the released head lays them out.
    """
    batch, channels, height, width = logits.shape
    joints = channels // depth
    flat = logits.float().reshape(batch, joints, depth * height * width)
    return flat.softmax(dim=-1).reshape(batch, joints, depth, height, width)


def soft_argmax(probs: Tensor) -> Tensor:
    """Expected voxel index per axis, scaled to [-0.5, 0.5) without a half-voxel offset.

    Returns (B, J, 3) ordered (x along W, y along H, z along D).
    """
    marginals = (probs.sum(dim=(2, 3)), probs.sum(dim=(2, 4)), probs.sum(dim=(3, 4)))
    coords = []
    for marginal in marginals:
        size = marginal.shape[-1]
        index = torch.arange(size, dtype=marginal.dtype, device=marginal.device)
        coords.append((marginal * index).sum(dim=-1) / size - 0.5)
    return torch.stack(coords, dim=-1)


def heatmap_soft_argmax(logits: Tensor, depth: int) -> Tensor:
    """`soft_argmax(heatmap_probabilities(logits, depth))` without building the normalised volume.

    The expected voxel index is Σ e·i / Σ e with e = exp(logit − max) over each joint's volume, so
    the softmax's division and the three marginal volumes are never needed: one exp pass, then one
    skinny matrix product against [1, i] along the innermost memory axis (W in NCHW, D in
    channels-last, whichever the backbone produced, so no 35 MB re-layout copy), then sums over
    small (B, J, ·, ·) tables. Returns (B, J, 3) ordered (x along W, y along H, z along D).
    """
    batch, channels, height, width = logits.shape
    joints = channels // depth
    logits = logits.float()
    channels_last = logits.dim() == 4 and logits.is_contiguous(memory_format=torch.channels_last) \
        and not logits.is_contiguous()
    if channels_last:  # memory is (B, H, W, J, D)
        volume = logits.permute(0, 2, 3, 1).reshape(batch, height, width, joints, depth)
        peak = volume.amax(dim=(1, 2, 4), keepdim=True)
        inner_size = depth
    else:  # memory is (B, J, D, H, W)
        volume = logits.reshape(batch, joints, depth, height, width)
        peak = volume.amax(dim=(2, 3, 4), keepdim=True)
        inner_size = width
    weights = _index_weights(inner_size, logits.device)
    # (…, 2): Σ e and Σ e·i over the innermost axis; the exp volume is the only full-size temporary
    sums = (volume - peak).exp_() @ weights
    mass, inner_moment = sums[..., 0], sums[..., 1]
    if channels_last:  # mass: (B, H, W, J)
        total = mass.sum(dim=(1, 2))
        x = (mass.sum(dim=1) * _index(width, mass)[:, None]).sum(dim=1)
        y = (mass.sum(dim=2) * _index(height, mass)[:, None]).sum(dim=1)
        z = inner_moment.sum(dim=(1, 2))
    else:  # mass: (B, J, D, H)
        total = mass.sum(dim=(2, 3))
        x = inner_moment.sum(dim=(2, 3))
        y = (mass.sum(dim=2) * _index(height, mass)).sum(dim=-1)
        z = (mass.sum(dim=3) * _index(depth, mass)).sum(dim=-1)
    sizes = torch.tensor((width, height, depth), dtype=total.dtype, device=total.device)
    return torch.stack((x, y, z), dim=-1) / (total[..., None] * sizes) - 0.5


def _index(size: int, like: Tensor) -> Tensor:
    return torch.arange(size, dtype=like.dtype, device=like.device)


def _index_weights(size: int, device: torch.device) -> Tensor:
    """(size, 2) matrix whose product with a row gives (Σ row, Σ row·i)."""
    index = torch.arange(size, dtype=torch.float32, device=device)
    return torch.stack((torch.ones_like(index), index), dim=-1)


def root_relative_joints(coords: Tensor) -> Tensor:
    """Scales normalised coordinates to metres and prepends the pelvis at the origin."""
    root = coords.new_zeros(coords.shape[0], 1, 3)
    return torch.cat((root, coords * DEPTH_FACTOR_M), dim=1)


def camera_translation(cam: Tensor) -> Tensor:
    """Depth from the weak-perspective scale under the fixed 1000 px crop focal length."""
    depth = 2.0 * FOCAL_LENGTH_PX / (CROP_SIZE * cam[:, 0] + 1e-6)
    return torch.stack((cam[:, 1], cam[:, 2], depth), dim=-1)


class ProPoseNet(nn.Module):
    """Backbone `preact` plus the three linear heads, named as in the released checkpoint.

    `layout` defaults to the released HRNet-W48; smaller layouts serve CPU smoke runs.
    """

    def __init__(self, layout: HRNetLayout = W48_LAYOUT) -> None:
        super().__init__()
        self.layout = layout
        self.preact = HRNetW48(layout)
        # The mean shape is only known from the checkpoint; zeros until weights are loaded.
        self.register_buffer("init_shape", torch.zeros(NUM_BETAS))
        self.register_buffer("init_cam", torch.tensor(INIT_CAM))
        self.decshape = nn.Linear(layout.feature_dim, NUM_BETAS)
        self.decF = nn.Linear(layout.feature_dim, NUM_SMPL_JOINTS * 9)
        self.deccam = nn.Linear(layout.feature_dim, 3)
        # False decodes as the reference does (softmax volume, then marginals): for speed comparisons
        self.fused_heatmap = True

    def forward(self, images: Tensor) -> NetworkOutput:
        """images: (B, 3, S, S) ImageNet-normalised RGB crops, S = 256 for the released model.

        Smaller crops are the same 256-px camera seen at a lower resolution: all outputs are in
        normalised crop units, so the camera model does not change.
        """
        logits, feature = self.preact(images)
        with torch.autocast(device_type=images.device.type, enabled=False):
            depth = self.layout.heatmap_depth
            coords = heatmap_soft_argmax(logits, depth) if self.fused_heatmap \
                else soft_argmax(heatmap_probabilities(logits, depth))
            feature = feature.float()
            betas = self.decshape(feature) + self.init_shape
            prior_F = self.decF(feature).reshape(-1, NUM_SMPL_JOINTS, 3, 3)
            cam = self.deccam(feature) + self.init_cam
            return NetworkOutput(
                heatmap_coords=coords,
                heatmap_joints=root_relative_joints(coords),
                betas=betas,
                prior_F=prior_F,
                cam=cam,
                transl=camera_translation(cam),
            )
