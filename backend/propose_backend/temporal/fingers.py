"""Fingers through the same SO(3) smoother as the body (kalman.py).

Each finger joint is tracked by its rotation in the wrist's frame (the product of the local
rotations from the wrist down to it), so a finger held still inside a turning hand is a still
track. The per-frame finger posteriors are the measurements (an unseen hand's frames carry only
the anatomical prior's weak information, so the smoother bridges them from the frames around);
the smoothed tracks give the local rotations, the posteriors re-expressed around the smoothed
wrist, the uncertainty and ghost trajectories that move smoothly through the clip.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import fisher
from ..posterior import SAMPLE_SHARPNESS
from ..skeleton import HAND_SIDES, NUM_FINGER_JOINTS, WRIST_OF_SIDE
from . import kalman, so3

HAND_RAW_FIELDS = ("hand_rotmats", "hand_posterior_F", "hand_uncertainty_deg", "hand_valid", "hand_samples")


def hand_frame(local: np.ndarray) -> np.ndarray:
    """(..., 30, 3, 3) local finger rotations -> rotations in the wrist's frame (chain products)."""
    out = np.array(local, dtype=np.float64)
    for j in range(2 * NUM_FINGER_JOINTS):
        if j % 3:
            out[..., j, :, :] = out[..., j - 1, :, :] @ out[..., j, :, :]
    return out


def local_from_hand_frame(hand: np.ndarray) -> np.ndarray:
    """Inverse of hand_frame."""
    out = np.array(hand, dtype=np.float64)
    for j in range(2 * NUM_FINGER_JOINTS):
        if j % 3:
            out[..., j, :, :] = np.swapaxes(hand[..., j - 1, :, :], -1, -2) @ hand[..., j, :, :]
    return out


def _wrists(world: np.ndarray) -> np.ndarray:
    """(n, 30, 3, 3) the world rotation of each finger joint's wrist."""
    return np.repeat(world[:, [WRIST_OF_SIDE[s] for s in HAND_SIDES]], NUM_FINGER_JOINTS, axis=1)


def smooth_fingers(raw: dict[str, np.ndarray], rows: np.ndarray, observed: np.ndarray, dt: np.ndarray,
                   reset: np.ndarray, q: float, world_raw: np.ndarray, world_smoothed: np.ndarray,
                   num_samples: int, seed: int) -> dict[str, np.ndarray]:
    """Smoothed hand fields for `rows` (n of them): hand_rotmats, hand_posterior_F,
    hand_uncertainty_deg (n, 30, ...) and hand_samples (n, S, 30, 3, 3).

    raw: the estimator's hand fields (all frames); world_raw / world_smoothed: (n, 24, 3, 3) the
    body's per-frame and smoothed world rotations on those rows.
    """
    local = np.where(observed[:, None, None, None], raw["hand_rotmats"][rows].astype(np.float64), np.eye(3))
    measured = hand_frame(so3.project(local))
    wrist_raw = _wrists(world_raw)
    F = SAMPLE_SHARPNESS * raw["hand_posterior_F"][rows].astype(np.float64)
    F_hand = np.swapaxes(wrist_raw, -1, -2) @ F @ wrist_raw  # over G_wristᵀ G_j, see the module docstring
    _, info = so3.fisher_to_gaussian(F_hand)
    # an unseen hand's per-frame posterior is the prior alone: repeating it as a measurement on
    # every frame would count the same belief many times, so those frames measure nothing and
    # keep the prior's spread (and the estimator's own ghosts) where the smoother knows less
    seen = np.repeat(np.asarray(raw["hand_valid"], bool)[rows], NUM_FINGER_JOINTS, axis=1) & observed[:, None]
    prior_info = info.copy()
    info[~seen] = 0.0
    tracks = kalman.smooth_tracks(measured, info, dt, q, reset, num_samples=num_samples,
                                  rng=np.random.default_rng([seed, 20]))
    prior_cov = np.linalg.inv(prior_info + 1e-9 * np.eye(3))
    wider = ~seen & (np.trace(tracks.cov, axis1=-2, axis2=-1) > np.trace(prior_cov, axis1=-2, axis2=-1))
    tracks.cov[wider] = prior_cov[wider]
    wrist = _wrists(world_smoothed)
    F_s = so3.gaussian_to_fisher(tracks.mode, tracks.cov)
    with torch.no_grad():
        unc = fisher.expected_angle_deg(torch.from_numpy(F_s)).numpy()
    out = {"hand_rotmats": local_from_hand_frame(tracks.mode),
           "hand_posterior_F": wrist @ F_s @ np.swapaxes(wrist, -1, -2) / SAMPLE_SHARPNESS,
           "hand_uncertainty_deg": unc}
    if num_samples:
        drawn = tracks.samples.astype(np.float64)
        # densest trajectories first, as the body's ghosts are ranked (smooth._ghosts), so ghost k
        # shows the k-th most likely fingers with the k-th most likely body; frames that show the
        # estimator's own draws (below) do not count
        density = ((F_s[:, None] * drawn).sum((-1, -2)) * ~wider[:, None]).sum(axis=(0, 2))
        drawn = local_from_hand_frame(drawn[:, np.argsort(-density, kind="stable")])
        own = np.asarray(raw["hand_samples"], np.float64)[rows]
        out["hand_samples"] = np.where(wider[:, None, :, None, None], own, drawn)
    return out
