"""Instant mode: BlazePose landmarks -> skeleton -> the analytical posterior."""
from __future__ import annotations

import numpy as np
import smplx
import torch

from propose_backend.body import demo_body
from propose_backend.body.layer import BodyLayer
from propose_backend.keypoints.instant import instant_posterior, solve_translation
from propose_backend.keypoints.mapping import (
    ABSENT,
    BP,
    DIRECT,
    DerivationFractions,
    INSTANT_PARENTS,
    NUM_INSTANT_POINTS,
    instant_rest_points,
    landmarks_to_skeleton,
    swap_left_right,
)
from propose_backend.posterior import uncertainty_deg


def _rest35() -> np.ndarray:
    layer = BodyLayer(demo_body()).double()
    return layer.rest_points(torch.zeros(1, 10, dtype=torch.float64)).numpy()


def _instant_rest() -> np.ndarray:
    return instant_rest_points(_rest35())


FRACTIONS = DerivationFractions.from_rest(_rest35())


def _posed(rest: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Rigid forward kinematics of the 41-point instant skeleton (points hang off their parents)."""
    X = np.zeros_like(rest)
    for c in range(1, NUM_INSTANT_POINTS):
        p = INSTANT_PARENTS[c]
        X[:, c] = X[:, p] + np.einsum("nij,nj->ni", G[:, p], rest[:, c] - rest[:, p])
    return X


def _landmarks_from(X: np.ndarray) -> np.ndarray:
    """BlazePose-style world landmarks placed on a posed instant skeleton."""
    lm = np.zeros((X.shape[0], 33, 3))
    for point, name in DIRECT.items():
        lm[:, BP[name]] = X[:, point]
    for name, src in (("left_eye_inner", "left_eye"), ("left_eye_outer", "left_eye"),
                      ("right_eye_inner", "right_eye"), ("right_eye_outer", "right_eye"),
                      ("mouth_left", "nose"), ("mouth_right", "nose")):
        lm[:, BP[name]] = lm[:, BP[src]]
    return lm


def _known_pose(seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    G = smplx.lbs.batch_rodrigues((torch.randn(24, 3, generator=g) * 0.5).double()).numpy()[None]
    flip = np.diag([1.0, -1.0, -1.0])  # SMPL (y up, z forward) -> camera (y down, z away)
    return flip @ G


def _angle_deg(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    cos = (np.trace(np.swapaxes(A, -1, -2) @ B, axis1=-2, axis2=-1) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_mapping_direct_derived_and_absent_points() -> None:
    rng = np.random.default_rng(0)
    world = rng.normal(size=(2, 33, 3))
    vis = rng.uniform(0.5, 1.0, size=(2, 33))
    obs = landmarks_to_skeleton(world, vis, FRACTIONS)
    mid_hip = (world[:, BP["left_hip"]] + world[:, BP["right_hip"]]) / 2
    mid_shoulder = (world[:, BP["left_shoulder"]] + world[:, BP["right_shoulder"]]) / 2
    pelvis = mid_hip + FRACTIONS.torso[0] * (mid_shoulder - mid_hip)
    np.testing.assert_allclose(obs.points[:, 0], 0, atol=1e-12)
    for point, name in DIRECT.items():
        np.testing.assert_allclose(obs.points[:, point], world[:, BP[name]] - pelvis, atol=1e-12)
        np.testing.assert_allclose(obs.weight[:, point], vis[:, BP[name]])
    spine = obs.points[:, [3, 6, 9, 12]]
    cross = np.cross(spine, (mid_shoulder - pelvis)[:, None])
    np.testing.assert_allclose(cross, 0, atol=1e-12)  # spine points lie on the pelvis-shoulder line
    assert (obs.weight[:, list(ABSENT)] == 0).all()
    assert (obs.weight[:, 3] <= 0.5).all()  # derived points count less


def test_fractions_put_derived_points_where_the_rest_skeleton_has_them() -> None:
    """Derived from landmarks placed on the rest skeleton itself, the torso points land on it."""
    rest = _instant_rest()
    obs = landmarks_to_skeleton(_landmarks_from(rest), np.ones((1, 33)), FRACTIONS)
    rel = rest - rest[:, :1]
    for point in (0, 3, 6, 9, 12, 15, 13, 14):  # exact along the axis; SMPL's small offsets remain
        assert np.linalg.norm(obs.points[0, point] - rel[0, point]) < 0.05, point


def test_swap_left_right() -> None:
    lm = np.arange(33 * 2, dtype=float).reshape(1, 33, 2)
    swapped = swap_left_right(lm)
    np.testing.assert_array_equal(swapped[0, BP["left_knee"]], lm[0, BP["right_knee"]])
    np.testing.assert_array_equal(swapped[0, BP["nose"]], lm[0, BP["nose"]])
    np.testing.assert_array_equal(swap_left_right(swapped), lm)


def test_posterior_recovers_known_rotations_from_synthetic_landmarks() -> None:
    rest = _instant_rest()
    G = _known_pose(1)
    X = _posed(rest, G)
    obs = landmarks_to_skeleton(_landmarks_from(X), np.ones((1, 33)), FRACTIONS)
    post = instant_posterior(obs, rest, noise_m=0.005)  # exact landmarks: millimetre-level noise
    Gp = post.global_rotmats.numpy()
    # joints pinned by several landmarks: the full rotation comes back (wrists via hand points,
    # ankles via toe + heel)
    for j in (7, 8, 20, 21):
        assert _angle_deg(Gp[:, j], G[:, j]).max() < 3.0, j  # the weak rest prior pulls ~2 deg
    # single-child joints with directly seen children: the bone direction comes back
    rest_dirs = rest - rest[:, list(max(p, 0) for p in INSTANT_PARENTS)]
    for j, c in ((1, 4), (2, 5), (4, 7), (5, 8), (16, 18), (17, 19), (18, 20), (19, 21)):
        d_obs = X[:, c] - X[:, j]
        d_post = np.einsum("nij,nj->ni", Gp[:, j], rest_dirs[:, c])
        cos = np.sum(d_obs * d_post, -1) / np.linalg.norm(d_obs, axis=-1) / np.linalg.norm(d_post, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 2.0, j


def test_low_visibility_raises_uncertainty() -> None:
    rest = _instant_rest()
    X = _posed(rest, _known_pose(2))
    lm = _landmarks_from(X)
    seen = np.ones((1, 33))
    hidden = seen.copy()
    hidden[:, [BP["left_knee"], BP["left_ankle"], BP["left_heel"], BP["left_foot_index"]]] = 0.05
    u_seen = uncertainty_deg(instant_posterior(landmarks_to_skeleton(lm, seen, FRACTIONS), rest))[0]
    u_hidden = uncertainty_deg(instant_posterior(landmarks_to_skeleton(lm, hidden, FRACTIONS), rest))[0]
    for joint in (1, 4, 7):  # left hip (its child, the knee, is hidden), left knee, left ankle
        assert u_hidden[joint] > u_seen[joint] + 10, joint
    for joint in (2, 5, 8, 16):  # untouched joints barely change
        assert abs(u_hidden[joint] - u_seen[joint]) < 1.0, joint
    assert u_hidden[1] > 30  # an unseen limb reads as clearly uncertain


def test_translation_from_projections() -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(scale=0.4, size=(3, 20, 3))
    T = np.array([[0.2, -0.1, 4.0], [-0.5, 0.3, 7.0], [0.0, 0.0, 2.5]])
    cam = points + T[:, None]
    pixels = cam[..., :2] / cam[..., 2:] * 800.0 + np.array([320.0, 240.0])
    weight = rng.uniform(0.2, 1.0, size=(3, 20))
    np.testing.assert_allclose(solve_translation(points, pixels, weight, 800.0, (320.0, 240.0)), T, atol=1e-6)
