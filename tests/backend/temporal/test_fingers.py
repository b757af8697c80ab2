"""Fingers through the smoother: ghost trajectories ranked like the body's."""
from __future__ import annotations

import numpy as np

from propose_backend import geometry
from propose_backend.posterior import SAMPLE_SHARPNESS
from propose_backend.skeleton import HAND_SIDES, NUM_FINGER_JOINTS, WRIST_OF_SIDE
from propose_backend.temporal import kinematics, smooth_results, so3
from propose_backend.temporal.fingers import hand_frame

from .synthetic import clip, true_motion

T, S = 40, 8


def _wrists(rotmats: np.ndarray) -> np.ndarray:
    world = kinematics.world_from_local(np.asarray(rotmats, np.float64))
    return np.repeat(world[:, [WRIST_OF_SIDE[s] for s in HAND_SIDES]], NUM_FINGER_JOINTS, axis=1)


def _with_fingers(data: dict, seed: int = 3, noise_deg: float = 12.0) -> dict:
    """Per-frame finger posteriors centred on noisy versions of a slowly curling hand."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None] / 30.0
    curl = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6, (1, 30)))
    true = geometry.axis_angle_to_matrix(np.stack([curl, 0 * curl, 0 * curl], -1))
    noise = geometry.axis_angle_to_matrix(rng.normal(0, np.radians(noise_deg) / np.sqrt(3), (T, 30, 3)))
    local = true @ noise
    wrist = _wrists(data["rotmats"])
    kappa = 0.5 / np.radians(noise_deg) ** 2
    # the file's finger posterior is over G_j G_wristᵀ (hands/fingers.py)
    F = kappa * wrist @ hand_frame(local) @ np.swapaxes(wrist, -1, -2)
    out = dict(data)
    out.update(hand_rotmats=local.astype(np.float32), hand_posterior_F=(F / SAMPLE_SHARPNESS).astype(np.float32),
               hand_uncertainty_deg=np.full((T, 30), noise_deg, np.float32), hand_valid=np.ones((T, 2), bool),
               hand_score=np.ones((T, 2), np.float32), hand_samples=np.repeat(local[:, None], S, 1).astype(np.float32),
               hand_landmarks2d=np.zeros((T, 2, 21, 2), np.float32))
    return out


def test_finger_ghosts_are_ranked_densest_first_like_the_body() -> None:
    data, _ = clip(true_motion(T), samples=S)
    smoothed = smooth_results(_with_fingers(data))
    wrist = _wrists(smoothed["rotmats"])
    F = np.swapaxes(wrist, -1, -2) @ (smoothed["hand_posterior_F"].astype(np.float64) * SAMPLE_SHARPNESS) @ wrist
    density = np.array([(F * hand_frame(smoothed["hand_samples"][:, k].astype(np.float64))).sum()
                        for k in range(S)])
    assert np.all(np.diff(density) <= 1e-6 * np.abs(density).max()), density
    assert np.all(np.diff(smoothed["sample_log_density"].sum(0)) <= 1e-6)  # (the body's, for comparison)
    # they are still distinct draws around the smoothed fingers
    spread = np.ptp(smoothed["hand_samples"][T // 2, :, 0].reshape(S, -1), axis=0).max()
    assert spread > 0.01


def test_a_hand_hidden_for_long_eases_back_to_the_relaxed_pose_and_a_short_gap_is_bridged() -> None:
    """The left hand curls on the first 8 frames and is then hidden for a second (the estimator's
    per-frame answer there: the relaxed pose with the prior's weak information); on the right hand two
    frames go unseen mid-clip. The long stretch must end relaxed, the short gap must keep the bridge."""
    data, _ = clip(true_motion(T), samples=S)
    data = _with_fingers(data)
    relaxed = geometry.axis_angle_to_matrix(np.tile([0.15, 0.0, 0.0], (T, 30, 1)))  # a slight curl
    hidden = np.zeros((T, 2), bool)
    hidden[8:, 0] = True
    hidden[20:22, 1] = True
    rows = np.repeat(hidden, NUM_FINGER_JOINTS, axis=1)
    data["hand_valid"] = ~hidden
    data["hand_rotmats"] = np.where(rows[..., None, None], relaxed, data["hand_rotmats"]).astype(np.float32)
    wrist = _wrists(data["rotmats"])
    weak = 0.3 * wrist @ hand_frame(relaxed) @ np.swapaxes(wrist, -1, -2) / SAMPLE_SHARPNESS
    data["hand_posterior_F"] = np.where(rows[..., None, None], weak, data["hand_posterior_F"]).astype(np.float32)
    smoothed = smooth_results(data)
    fingers = hand_frame(smoothed["hand_rotmats"].astype(np.float64))
    rest = hand_frame(relaxed)
    left, right = slice(0, NUM_FINGER_JOINTS), slice(NUM_FINGER_JOINTS, 2 * NUM_FINGER_JOINTS)
    end = so3.angle_deg(fingers[-1, left], rest[-1, left])
    assert end.max() < 2.0, end  # 32 frames (1.07 s) after the last seen one
    first_hidden = so3.angle_deg(fingers[8, left], rest[8, left])
    assert first_hidden.mean() > 10.0, first_hidden  # one frame after it: still the seen curl, bridged
    # the ghosts go with the fingers they are drawn around
    ghosts = hand_frame(smoothed["hand_samples"][-1].astype(np.float64))
    assert so3.angle_deg(ghosts[:, left], fingers[-1, None, left]).mean() < 60.0
    to_neighbours = so3.angle_deg(fingers[20:22, right], fingers[[19, 22], right]).mean()
    to_relaxed = so3.angle_deg(fingers[20:22, right], rest[20:22, right]).mean()
    assert to_neighbours < 0.5 * to_relaxed, (to_neighbours, to_relaxed)
