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
        self.preact = HRNetW48(layout)
        # The mean shape is only known from the checkpoint; zeros until weights are loaded.
        self.register_buffer("init_shape", torch.zeros(NUM_BETAS))
        self.register_buffer("init_cam", torch.tensor(INIT_CAM))
        self.decshape = nn.Linear(layout.feature_dim, NUM_BETAS)
        self.decF = nn.Linear(layout.feature_dim, NUM_SMPL_JOINTS * 9)
        self.deccam = nn.Linear(layout.feature_dim, 3)

    def forward(self, images: Tensor) -> NetworkOutput:
        """images: (B, 3, S, S) ImageNet-normalised RGB crops, S = 256 for the released model.

        Smaller crops are the same 256-px camera seen at a lower resolution: all outputs are in
        normalised crop units, so the camera model does not change.
        """
        logits, feature = self.preact(images)
        with torch.autocast(device_type=images.device.type, enabled=False):
            coords = soft_argmax(heatmap_probabilities(logits, depth=self.preact.layout.heatmap_depth))
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
