"""Is uncertainty_deg honest? Errors against the angle quantiles the stated posterior implies.

The stated distribution of a joint is MF(SAMPLE_SHARPNESS·F) (what the colours and the ghosts
read); for a calibrated posterior, q % of the actual errors lie below its q % angle quantile.
Benchmark support (bench_instant.py), checked by tests/backend/instant/test_bone_posterior.py; no product
code uses it.
"""
from __future__ import annotations

import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch
from torch import Tensor

from propose_backend import fisher
from propose_backend.posterior import SAMPLE_SHARPNESS

QUANTILE_DRAWS = 400


def angle_deg(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Angle (degrees) between rotation matrices, elementwise over leading dims."""
    cos = (np.einsum("...ab,...ab->...", A, B) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def root_relative(G: np.ndarray) -> np.ndarray:
    """(..., 24, 3, 3) world rotations -> the root itself and R_j = G_j G_0ᵀ for j > 0 (what F states)."""
    R = G @ np.swapaxes(G[..., :1, :, :], -1, -2)
    R[..., 0, :, :] = G[..., 0, :, :]
    return R


def root_relative_error_deg(G_pred: np.ndarray, G_true: np.ndarray) -> np.ndarray:
    """(..., 24) error of each joint's root-relative rotation (the root's own for joint 0)."""
    return angle_deg(root_relative(np.asarray(G_pred, np.float64)), root_relative(np.asarray(G_true, np.float64)))


def stated_quantiles(F: Tensor, levels: tuple[float, ...], generator: torch.Generator | None = None) -> np.ndarray:
    """(..., len(levels)) angle quantiles (deg) of MF(SAMPLE_SHARPNESS·F) about its mode, by sampling."""
    Fs = F.double() * SAMPLE_SHARPNESS
    draws = fisher.sample(Fs, QUANTILE_DRAWS, generator=generator)
    ang = angle_deg(draws.numpy(), fisher.mode(Fs).numpy()[..., None, :, :])
    return np.moveaxis(np.quantile(ang, levels, axis=-1), 0, -1)


def calibration_shares(error_deg: np.ndarray, F: Tensor, levels: tuple[float, ...],
                       generator: torch.Generator | None = None) -> list[float]:
    """Share (%) of errors below each stated quantile level; ideal: 100 × level."""
    q = stated_quantiles(F, levels, generator)
    return [float(100 * np.mean(error_deg < q[..., k])) for k in range(len(levels))]
