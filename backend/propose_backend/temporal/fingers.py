"""Fingers through the same SO(3) smoother as the body (kalman.py).

Each finger joint is tracked by its rotation in the wrist's frame (the product of the local
rotations from the wrist down to it), so a finger held still inside a turning hand is a still
track. The per-frame finger posteriors are the measurements (an unseen hand's frames carry only
the anatomical prior's weak information, so the smoother bridges them from the frames around);
the smoothed tracks give the local rotations, the posteriors re-expressed around the smoothed
wrist, the uncertainty and ghost trajectories that move smoothly through the clip.

A bridge alone would carry the nearest seen frame's fingers through any stretch, however long: a
hand hidden for seconds would hold a curl it showed once (35 deg off the relaxed pose on the street
clip, where the performer's left hand is hidden for its first 176 frames). So an unseen stretch
eases back to the relaxed pose, the estimator's own answer for an unseen hand, with the time to the
hand's nearest seen frame (`relax_weights`): short gaps keep the bridge, long ones relax.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import fisher, geometry
from ..posterior import SAMPLE_SHARPNESS
from ..skeleton import HAND_SIDES, NUM_FINGER_JOINTS, WRIST_OF_SIDE
from . import kalman, so3

# An unseen frame keeps exp(-(t / RELAX_S)^2) of the bridge at t seconds from the hand's nearest seen
# frame: 0.96 at 0.1 s (a gap of a few frames is bridged), 0.37 at 0.5 s, 0.02 at 1 s (relaxed).
RELAX_S = 0.5

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


def relax_weights(seen: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(n, H) the share of the bridged fingers each row keeps, per hand: 1 where seen (n, H),
    exp(-(t / RELAX_S)^2) at t seconds from that hand's nearest seen row, 0 where it is never seen."""
    times = np.concatenate([[0.0], np.cumsum(dt)])
    out = np.zeros(seen.shape)
    for h in range(seen.shape[1]):
        at = times[seen[:, h]]
        if at.size:
            after = np.clip(np.searchsorted(at, times), 0, at.size - 1)
            before = np.clip(after - 1, 0, at.size - 1)
            gap = np.minimum(np.abs(times - at[after]), np.abs(times - at[before]))
            out[:, h] = np.exp(-(gap / RELAX_S) ** 2)
    return out


def _relax(tracks: kalman.SmoothedTracks, relaxed: np.ndarray, keep: np.ndarray) -> None:
    """Turn the smoothed modes (n, 30) a share 1 - keep of the way to `relaxed` (in the wrist's frame),
    and every ghost trajectory with them (the same turn), in place."""
    moved = keep < 1.0  # (rows kept whole stay bit for bit as the smoother gave them)
    if not moved.any():
        return
    offset = geometry.matrix_to_axis_angle(np.swapaxes(relaxed, -1, -2) @ tracks.mode)
    mode = np.where(moved[..., None, None], relaxed @ geometry.axis_angle_to_matrix(keep[..., None] * offset), tracks.mode)
    turn = mode @ np.swapaxes(tracks.mode, -1, -2)
    tracks.mode = mode
    if tracks.samples is not None and tracks.samples.size:
        tracks.samples = np.where(moved[:, None, :, None, None], turn[:, None] @ tracks.samples,
                                  tracks.samples).astype(tracks.samples.dtype)


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
    hand_seen = seen[:, ::NUM_FINGER_JOINTS]  # (n, 2)
    hidden = observed[:, None] & ~hand_seen  # rows whose per-frame fingers are the relaxed prior's mode
    keep = relax_weights(hand_seen, dt)
    keep[:, ~hidden.any(axis=0)] = 1.0  # a hand seen on every row it could be: nothing to relax to
    relaxed = np.concatenate([measured[np.argmax(hidden[:, h]), NUM_FINGER_JOINTS * h:NUM_FINGER_JOINTS * (h + 1)]
                              for h in range(2)])
    _relax(tracks, relaxed[None], np.repeat(keep, NUM_FINGER_JOINTS, axis=1))
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
