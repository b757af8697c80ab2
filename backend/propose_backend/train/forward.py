"""The training forward of docs/training.md, Model and losses with `use_sample=True`: posterior mode plus S samples.

After the network, everything runs in float32: the analytical posterior, S posterior samples
per crop (drawn from SAMPLE_SHARPNESS·F for the non-root joints, root fixed at its mode), the 35
supervised points of the mode and of every sample, and their projections under the network's
fixed camera.

Gradients and samples: the reference reparameterises its Bingham sampler w.r.t. the singular
values. Ours draws exact samples without gradient (`fisher.sample`) and re-attaches each as a
fixed offset from the mode, R_s = R_mode · (R_modeᵀ R_s)|detached. The sample terms of the loss
therefore pull the posterior *mode* (the prior F and the heatmap joints that shape it) towards
the ground truth, weighted by how far typical samples land, but they do not train the spread
of F; the optional matrix-Fisher NLL terms (loss.nll_prior / loss.nll_posterior) do that.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .. import fisher
from .. import posterior as post
from ..api import project_to_crop
from ..geometry import local_from_world
from ..model import NetworkOutput
from ..skeleton import CROP_SIZE
from .skinning import SupervisedPoints


@dataclass
class TrainingOutputs:
    """Per batch of B crops, S samples; index 0 along the second axis is the mode."""

    net: NetworkOutput
    posterior: post.Posterior
    rotmats: Tensor  # (B, 1+S, 24, 3, 3) SMPL local rotations
    points: Tensor  # (B, 1+S, 35, 3) posed points, root-relative, metres
    uv_heatmap: Tensor  # (B, 35, 2) heatmap joints projected, normalised crop units [-0.5, 0.5]
    uv_posterior: Tensor  # (B, 1+S, 35, 2) posterior points projected, normalised crop units


def normalised_projection(points: Tensor, transl: Tensor) -> Tensor:
    """(N, P, 3) root-relative points + (N, 3) translation → crop coordinates u/256 − 0.5."""
    return project_to_crop(points, transl) / CROP_SIZE - 0.5


class SampledPosterior(nn.Module):
    """Network output → posterior, samples, posed points and projections (no parameters)."""

    def __init__(self, points: SupervisedPoints, kappa: float = post.DEFAULT_KAPPA,
                 num_samples: int = 8, sharpness: float = post.SAMPLE_SHARPNESS) -> None:
        super().__init__()
        self.points = points
        self.kappa = kappa
        self.num_samples = num_samples
        self.sharpness = sharpness

    def forward(self, out: NetworkOutput, generator: torch.Generator | None = None) -> TrainingOutputs:
        batch, S = out.betas.shape[0], self.num_samples
        posterior = post.analytical_posterior(out.prior_F, out.heatmap_joints,
                                              self.points.rest_points(out.betas), self.kappa)
        root = posterior.root  # (B, 3, 3)
        relative_mode = posterior.global_rotmats[:, 1:] @ root[:, None].mT  # (B, 23, 3, 3)
        drawn = fisher.sample(posterior.F[:, 1:] * self.sharpness, S, generator=generator)
        offsets = relative_mode.detach()[:, :, None].mT @ drawn  # (B, 23, S, 3, 3), no gradient
        relative = (relative_mode[:, :, None] @ offsets).transpose(1, 2)  # (B, S, 23, 3, 3)
        global_samples = torch.cat([root[:, None, None].expand(-1, S, 1, 3, 3),
                                    relative @ root[:, None, None]], dim=2)
        rotmats = torch.cat([posterior.rotmats[:, None], local_from_world(global_samples)], dim=1)

        betas = out.betas[:, None].expand(-1, S + 1, -1).reshape(batch * (S + 1), -1)
        points = self.points(betas, rotmats.reshape(batch * (S + 1), *rotmats.shape[2:]))
        transl = out.transl[:, None].expand(-1, S + 1, -1).reshape(batch * (S + 1), 3)
        uv_posterior = normalised_projection(points, transl).view(batch, S + 1, -1, 2)
        return TrainingOutputs(
            net=out, posterior=posterior, rotmats=rotmats, points=points.view(batch, S + 1, -1, 3),
            uv_heatmap=normalised_projection(out.heatmap_joints, out.transl), uv_posterior=uv_posterior,
        )
