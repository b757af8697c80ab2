"""The public model API: network + analytical posterior + body model, one call per batch of crops.

    model = propose_backend.load_model(checkpoint=..., body_model=..., device="cpu")
    pred = model(images, num_samples=8)      # posterior mode and 8 samples from one network pass
    pred.rotmats, pred.samples, pred.uncertainty_deg

Outputs follow the reference implementation (docs/inference.md) with two deliberate differences:
`transl` is (B, 3) rather than (B, 1, 3), and samples are returned apart from the mode. The network
runs once per call; everything after it is `ProPose.decode`, which the inference pipeline calls too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from . import posterior as post
from .body import BodyModelData, load_body
from .body.layer import BodyLayer
from .geometry import project_torch
from .model import NetworkOutput, ProPoseNet, load_checkpoint_state, load_network_weights
from .skeleton import CROP_SIZE, FOCAL_LENGTH_PX

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    """Per-crop results (B = batch). Tensors on the model's device, float32."""

    rotmats: Tensor  # (B, 24, 3, 3) SMPL local rotations, posterior mode
    betas: Tensor  # (B, 10)
    prior_F: Tensor  # (B, 24, 3, 3)
    posterior_F: Tensor  # (B, 24, 3, 3); index 0 is the root
    heatmap_joints: Tensor  # (B, 35, 3) metres, root-relative, root first (zeros)
    transl: Tensor  # (B, 3) metres, in the crop camera (f = 1000 px, 256 px crop)
    cam: Tensor  # (B, 3) weak-perspective (scale, tx, ty)
    vertices: Tensor  # (B, V, 3) root-relative (V = 6890 for SMPL, 13718 for Anny)
    joints: Tensor  # (B, 24, 3) posterior SMPL joints, root-relative
    points35: Tensor  # (B, 35, 3) posterior joints + 11 surface points, root-relative
    points2d: Tensor  # (B, 35, 2) projection of points35 + transl, crop pixels
    uncertainty_deg: Tensor  # (B, 24)
    posterior: post.Posterior
    samples: Tensor  # (B, S, 24, 3, 3) local rotations of posterior samples, densest first (S may be 0)
    sample_log_density: Tensor  # (B, S) log density relative to the mode (<= 0)


def project_to_crop(points: Tensor, transl: Tensor) -> Tensor:
    """Pixel coordinates in the 256-px crop under the network's fixed camera (f = 1000 px)."""
    return project_torch(points + transl[:, None], FOCAL_LENGTH_PX, CROP_SIZE / 2)


class ProPose(nn.Module):
    """ProPose network with its analytical posterior and an SMPL-format body model."""

    def __init__(self, net: ProPoseNet, body: BodyModelData, kappa: float = post.DEFAULT_KAPPA,
                 weights: str = "random") -> None:
        super().__init__()
        self.net = net
        self.body = BodyLayer(body)
        self.phenotype = body.phenotype  # the Anny body's (None for SMPL): its hands have finger bones
        self.kappa = kappa
        self.weights = weights  # path of the loaded checkpoint, or "random"
        self.body_label = "custom"  # what the results' metadata names the body (load_model sets it)

    @property
    def device(self) -> torch.device:
        return self.net.init_cam.device

    def forward(self, images: Tensor, num_samples: int = 0,
                generator: torch.Generator | None = None) -> Prediction:
        """images: (B, 3, 256, 256) ImageNet-normalised RGB crops; mode and `num_samples` samples."""
        return self.decode(self.net(images), num_samples, generator)

    def decode(self, out: NetworkOutput, num_samples: int = 0,
               generator: torch.Generator | None = None) -> Prediction:
        """Everything after the network, in fp32 outside autocast (fp64 inside the sampler): the
        analytical posterior, the posed body, uncertainty and density-sorted samples.

        The one composition of network output and posterior: `forward` and the inference
        pipeline (which runs the network through its own fast runner) both end here.
        """
        with torch.autocast(device_type=out.betas.device.type, enabled=False):
            rest = self.body.rest_points(out.betas)
            posterior = post.analytical_posterior(out.prior_F, out.heatmap_joints, rest, self.kappa)
            vertices, joints, points35 = self.body(out.betas, posterior.rotmats)
            samples, density = post.sorted_samples(posterior, num_samples, generator)
            return Prediction(
                rotmats=posterior.rotmats, betas=out.betas, prior_F=out.prior_F, posterior_F=posterior.F,
                heatmap_joints=out.heatmap_joints, transl=out.transl, cam=out.cam, vertices=vertices,
                joints=joints, points35=points35, points2d=project_to_crop(points35, out.transl),
                uncertainty_deg=post.uncertainty_deg(posterior), posterior=posterior,
                samples=samples, sample_log_density=density,
            )


def load_model(checkpoint: str | Path | None = None, body_model: str | Path | None = None,
               device: str | torch.device = "cpu", kappa: float = post.DEFAULT_KAPPA) -> ProPose:
    """Build ProPose in eval mode.

    checkpoint: the released `propose_hr48_xyz.pth` (or a compatible state dict); None means
    randomly initialised weights, for tests and plumbing only. body_model: SMPL neutral `.pkl`
    or `.npz`; None means the licence-free Anny body.
    """
    net = ProPoseNet()
    if checkpoint is None:
        log.warning("ProPose is running on RANDOMLY INITIALISED weights: poses will be meaningless. "
                    "Pass the released checkpoint to get real results.")
        weights = "random"
    else:
        load_network_weights(net, load_checkpoint_state(checkpoint))
        weights = str(checkpoint)
    body, label = load_body(body_model)
    if body_model is None:
        log.info("Using the licence-free Anny body (no SMPL file given).")
    model = ProPose(net, body, kappa=kappa, weights=weights).to(device).eval()
    model.body_label = label
    return model
