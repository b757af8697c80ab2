"""Training losses: the released recipe (docs/training.md, Model and losses) plus optional matrix-Fisher NLL terms.

With per-element weights w and avg_w(e) = Σ w·e / Σ w:
    heatmap  avg_w |64·ĉ − 64·c|                over the 34 heatmap joints × 3
    betas    avg_w (β̂ − β)²                     w = SMPL flag
    theta    avg_w ‖R̂_mode − R‖² + ½ Σ_s avg_w ‖R̂_s − R‖²          over 24 × 9 entries
    uv       64·avg_w (p̂_hm − p)² + 64·avg_w (p̂_mode − p)² + 32·Σ_s avg_w (p̂_s − p)²
    nll_*    mean over joints of −log MF(R̃ | F), R̃ the root-relative global GT rotations that
             the prior / posterior F describe (docs/model.md, The posterior), w = SMPL flag
Sources without SMPL (COCO, 3DHP) carry zero SMPL weight, so only heatmap and uv act on them.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .. import fisher
from ..geometry import world_from_local
from ..skeleton import NUM_SMPL_JOINTS
from .config import LossConfig
from .forward import TrainingOutputs

VOXELS = 64.0  # the reference measures heatmap and 2D errors in units of its 64-voxel grid


def weighted_mean(error: Tensor, weight: Tensor) -> Tensor:
    """Σ w·e / Σ w, and 0 (with gradient) when nothing is weighted."""
    return (error * weight).sum() / weight.sum().clamp(min=1e-6)


def root_relative_targets(local: Tensor) -> Tensor:
    """What the F matrices parameterise: G_0 for the root, G_j G_0ᵀ for the other joints."""
    world = world_from_local(local)
    root = world[..., :1, :, :]
    return torch.cat([root, world[..., 1:, :, :] @ root.mT], dim=-3)


def heatmap_loss(out: TrainingOutputs, targets: dict[str, Tensor]) -> Tensor:
    batch = out.net.heatmap_coords.shape[0]
    target = torch.cat([targets["target_xyz_24"].view(batch, 24, 3)[:, 1:],
                        targets["target_xyz_11"].view(batch, 11, 3)], dim=1)
    weight = torch.cat([targets["target_weight_24"].view(batch, 24, 3)[:, 1:],
                        targets["target_weight_11_xyz"].view(batch, 11, 3)], dim=1)
    return weighted_mean((VOXELS * (out.net.heatmap_coords - target)).abs(), weight)


def betas_loss(out: TrainingOutputs, targets: dict[str, Tensor]) -> Tensor:
    weight = targets["target_smpl_weight"].expand_as(targets["target_beta"])
    return weighted_mean((out.net.betas - targets["target_beta"]) ** 2, weight)


def theta_loss(out: TrainingOutputs, targets: dict[str, Tensor]) -> Tensor:
    batch = out.rotmats.shape[0]
    predicted = out.rotmats.reshape(batch, out.rotmats.shape[1], -1)
    target, weight = targets["target_theta"][:, None], targets["target_theta_weight"][:, None]
    per_slot = [weighted_mean((predicted[:, [s]] - target) ** 2, weight) for s in range(predicted.shape[1])]
    return per_slot[0] + 0.5 * sum(per_slot[1:], torch.zeros_like(per_slot[0]))


def uv_loss(out: TrainingOutputs, targets: dict[str, Tensor]) -> Tensor:
    batch = out.uv_heatmap.shape[0]
    target = torch.cat([targets["target_uvd_29"].view(batch, 29, 3)[:, :NUM_SMPL_JOINTS, :2],
                        targets["target_uvd_11"].view(batch, 11, 3)[:, :, :2]], dim=1)
    weight = torch.cat([targets["target_weight_29"].view(batch, 29, 3)[:, :NUM_SMPL_JOINTS, :2],
                        targets["target_weight_11"].view(batch, 11, 3)[:, :, :2]], dim=1)
    loss = VOXELS * weighted_mean((out.uv_heatmap - target) ** 2, weight)
    loss = loss + VOXELS * weighted_mean((out.uv_posterior[:, 0] - target) ** 2, weight)
    for s in range(1, out.uv_posterior.shape[1]):
        loss = loss + VOXELS / 2 * weighted_mean((out.uv_posterior[:, s] - target) ** 2, weight)
    return loss


def fisher_nll(F: Tensor, targets: dict[str, Tensor]) -> Tensor:
    """Mean NLL per joint of the ground-truth rotations, over samples with SMPL labels."""
    local = targets["target_theta"].view(-1, NUM_SMPL_JOINTS, 3, 3)
    nll = fisher.nll(F, root_relative_targets(local)).mean(dim=-1)
    return weighted_mean(nll, targets["target_smpl_weight"].view(-1))


def training_losses(out: TrainingOutputs, targets: dict[str, Tensor], weights: LossConfig
                    ) -> dict[str, Tensor]:
    """Every active term (weight ≠ 0), unweighted, plus `total`, the weighted sum."""
    terms = {
        "heatmap": (weights.heatmap, lambda: heatmap_loss(out, targets)),
        "betas": (weights.betas, lambda: betas_loss(out, targets)),
        "theta": (weights.theta, lambda: theta_loss(out, targets)),
        "uv": (weights.uv, lambda: uv_loss(out, targets)),
        "nll_prior": (weights.nll_prior, lambda: fisher_nll(out.net.prior_F, targets)),
        "nll_posterior": (weights.nll_posterior, lambda: fisher_nll(out.posterior.F, targets)),
    }
    losses = {name: compute() for name, (weight, compute) in terms.items() if weight != 0}
    losses["total"] = sum((terms[name][0] * value for name, value in losses.items()),
                          torch.zeros((), device=out.net.betas.device))
    return losses
