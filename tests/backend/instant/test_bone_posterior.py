"""Instant mode: BlazePose landmarks -> skeleton -> the analytical posterior."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import smplx
import torch

from propose_backend.body import demo_body
from propose_backend.body.layer import BodyLayer
from propose_backend.anatomy import Anatomy
from propose_backend.instant.ghosts import sample_ghosts
from propose_backend.instant.bone_posterior import instant_posterior, solve_translation
from propose_backend.instant.mapping import (
    ABSENT,
    BP,
    DIRECT,
    DerivationFractions,
    INSTANT_PARENTS,
    NUM_INSTANT_POINTS,
    instant_rest_points,
    landmarks_to_skeleton,
)
from propose_backend import fisher
from propose_backend.geometry import world_from_local
from propose_backend.posterior import uncertainty_deg


def _rest35() -> np.ndarray:
    layer = BodyLayer(demo_body()).double()
    return layer.rest_points(torch.zeros(1, 10, dtype=torch.float64)).numpy()


def _instant_rest() -> np.ndarray:
    return instant_rest_points(_rest35())


FRACTIONS = DerivationFractions.from_rest(_rest35())
ANATOMY = Anatomy.from_rest(_rest35())


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


def _known_pose(seed: int, count: int = 1) -> np.ndarray:
    """World rotations (count, 43, 3, 3) of a plausible pose: every joint in the middle half of its
    range, the body turned to face the camera (hand and pelvis-shoulder points follow their joint)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(count, 24, 3, generator=g, dtype=torch.float64)
    mid, half = (ANATOMY.low + ANATOMY.high) / 2, (ANATOMY.high - ANATOMY.low) / 4
    comp = torch.nan_to_num(mid + half * (2 * u - 1), nan=0.0)
    local = ANATOMY.compose(comp)
    local[:, 0] = torch.as_tensor(np.diag([1.0, -1.0, -1.0]))  # SMPL (y up) -> camera (y down)
    G = world_from_local(local).numpy()
    extra = [INSTANT_PARENTS[c] if INSTANT_PARENTS[c] < 24 else 0 for c in range(24, NUM_INSTANT_POINTS)]
    return np.concatenate([G, G[:, extra]], axis=1)


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


def test_posterior_recovers_known_rotations_from_synthetic_landmarks() -> None:
    rest = _instant_rest()
    G = _known_pose(1)
    X = _posed(rest, G)
    obs = landmarks_to_skeleton(_landmarks_from(X), np.ones((1, 33)), FRACTIONS)
    post = instant_posterior(obs, rest, ANATOMY, noise_m=0.005)  # exact landmarks: millimetre-level noise
    Gp = post.posterior.global_rotmats.numpy()
    # joints pinned by several landmarks: the full rotation comes back (wrists via hand points,
    # ankles via toe + heel)
    for j in (7, 8, 20, 21):
        assert _angle_deg(Gp[:, j], G[:, j]).max() < 3.0, j
    # the bend of elbows and knees fixes the twist of the bone above, up to their side play
    for j in (16, 17, 1, 2):
        assert _angle_deg(Gp[:, j], G[:, j]).max() < 8.0, j
    # single-child joints with directly seen children: the bone direction comes back
    rest_dirs = rest - rest[:, list(max(p, 0) for p in INSTANT_PARENTS)]
    for j, c in ((1, 4), (2, 5), (4, 7), (5, 8), (16, 18), (17, 19), (18, 20), (19, 21)):
        d_obs = X[:, c] - X[:, j]
        d_post = np.einsum("nij,nj->ni", Gp[:, j], rest_dirs[:, c])
        cos = np.sum(d_obs * d_post, -1) / np.linalg.norm(d_obs, axis=-1) / np.linalg.norm(d_post, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 2.0, j


def _limb_deviation_deg(post, X: np.ndarray, rest: np.ndarray, joint: int, point: int) -> float:  # noqa: ANN001
    d_obs = X[0, point] - X[0, INSTANT_PARENTS[point]]
    d_post = post.global_rotmats.numpy()[0, joint] @ (rest[0, point] - rest[0, INSTANT_PARENTS[point]])
    cos = d_obs @ d_post / np.linalg.norm(d_obs) / np.linalg.norm(d_post)
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


def test_a_visible_but_low_confidence_limb_keeps_its_landmark_direction() -> None:
    """Low visibility broadens the limb's uncertainty; it never sends the limb to the rest pose."""
    rest = _instant_rest()
    X = _posed(rest, _known_pose(2))
    lm = _landmarks_from(X)
    seen = np.ones((1, 33))
    faint = seen.copy()
    faint[:, [BP["left_knee"], BP["left_ankle"], BP["left_heel"], BP["left_foot_index"]]] = 0.3
    p_seen = instant_posterior(landmarks_to_skeleton(lm, seen, FRACTIONS), rest, ANATOMY).posterior
    p_faint = instant_posterior(landmarks_to_skeleton(lm, faint, FRACTIONS), rest, ANATOMY).posterior
    for joint, point in ((1, 4), (4, 7)):  # thigh and shin keep the landmarks' direction
        assert _limb_deviation_deg(p_faint, X, rest, joint, point) < 5.0, joint
    u_seen, u_faint = uncertainty_deg(p_seen)[0], uncertainty_deg(p_faint)[0]
    for joint in (1, 4, 7):
        assert u_faint[joint] > u_seen[joint] + 3, joint
    for joint in (2, 5, 8, 16):  # untouched joints barely change
        assert abs(u_faint[joint] - u_seen[joint]) < 1.0, joint


def test_landmarks_never_seen_are_left_to_the_anatomical_prior() -> None:
    rest = _instant_rest()
    lm = _landmarks_from(_posed(rest, _known_pose(4)))
    vis = np.ones((1, 33))
    vis[:, [BP["left_knee"], BP["left_ankle"], BP["left_heel"], BP["left_foot_index"]]] = 0.0
    post = instant_posterior(landmarks_to_skeleton(lm, vis, FRACTIONS), rest, ANATOMY).posterior
    relaxed = ANATOMY.relaxed_rotations().numpy()
    assert _angle_deg(post.rotmats.numpy()[0, 4], relaxed[4]) < 1.0  # the knee rests at its relaxed bend
    assert uncertainty_deg(post)[0, 4] > 40  # and reads clearly uncertain


def _impossible_landmarks() -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of a pose no body makes: knees bent 60 degrees forwards, elbows 70 degrees backwards."""
    rest = _instant_rest()
    comp = torch.zeros(1, 24, 3, dtype=torch.float64)
    comp[0, [4, 5], 0] = -np.deg2rad(60)  # knee flexion is positive
    comp[0, 18, 0], comp[0, 19, 0] = np.deg2rad(70), -np.deg2rad(70)  # left flexes -y, right +y
    comp[0, 16, 0], comp[0, 17, 0] = -np.deg2rad(60), np.deg2rad(60)  # arms half lowered
    local = ANATOMY.compose(comp)
    local[:, 0] = torch.as_tensor(np.diag([1.0, -1.0, -1.0]))
    G = world_from_local(local).numpy()
    extra = [INSTANT_PARENTS[c] if INSTANT_PARENTS[c] < 24 else 0 for c in range(24, NUM_INSTANT_POINTS)]
    return _landmarks_from(_posed(rest, np.concatenate([G, G[:, extra]], axis=1))), rest


def test_mode_and_samples_stay_within_the_joint_limits() -> None:
    lm, rest = _impossible_landmarks()
    instant = instant_posterior(landmarks_to_skeleton(lm, np.ones((1, 33)), FRACTIONS), rest, ANATOMY)
    assert ANATOMY.within(instant.posterior.rotmats).all()
    samples, density = sample_ghosts(instant, 64, torch.Generator().manual_seed(0))
    assert samples.shape == (1, 64, 24, 3, 3)
    assert ANATOMY.within(samples).all()
    assert (density <= 1e-4).all() and (density[:, 1:] <= density[:, :-1] + 1e-5).all()
    # the stated posterior is a valid matrix-Fisher whose mode is the returned (clamped) pose
    rel = instant.posterior.global_rotmats[0, 1:] @ instant.posterior.root[0].mT
    assert torch.allclose(fisher.mode(instant.posterior.F[0, 1:]), rel, atol=1e-3)


def test_the_twist_of_a_single_bone_stays_within_its_range() -> None:
    """Hand points that claim the hand is twisted 150 degrees about the forearm: the wrist keeps its range."""
    rest = _instant_rest()
    G = _known_pose(5)
    twist = ANATOMY.compose(torch.tensor([[0.0, 0.0, np.deg2rad(150)]]).expand(24, 3)[None])[0, 20].numpy()
    G[:, [20, 35, 36, 37]] = G[:, [20]] @ twist  # the left hand and its points
    lm = _landmarks_from(_posed(rest, G))
    instant = instant_posterior(landmarks_to_skeleton(lm, np.ones((1, 33)), FRACTIONS), rest, ANATOMY)
    low, high = np.degrees(ANATOMY.low[20, 2].item()), np.degrees(ANATOMY.high[20, 2].item())
    mode_twist = np.degrees(ANATOMY.components(instant.posterior.rotmats)[0, 20, 2].item())
    assert low - 1e-3 <= mode_twist <= high + 1e-3
    samples, _ = sample_ghosts(instant, 32, torch.Generator().manual_seed(1))
    twists = np.degrees(ANATOMY.components(samples)[0, :, 20, 2].numpy())
    assert (twists >= low - 1e-3).all() and (twists <= high + 1e-3).all()
    assert twists.std() > 1.0  # the samples do spread inside the range


def test_ghosts_differ_in_depth_where_the_picture_is_ambiguous() -> None:
    """An upper arm 40 degrees out of the picture plane, half visible: in front or behind?"""
    rest = _instant_rest()
    comp = torch.zeros(1, 24, 3, dtype=torch.float64)
    comp[0, 16, 0], comp[0, 16, 1] = -np.deg2rad(75), -np.deg2rad(40)  # left arm down, 40 deg forwards
    local = ANATOMY.compose(comp)
    local[:, 0] = torch.as_tensor(np.diag([1.0, -1.0, -1.0]))
    G = world_from_local(local).numpy()
    extra = [INSTANT_PARENTS[c] if INSTANT_PARENTS[c] < 24 else 0 for c in range(24, NUM_INSTANT_POINTS)]
    X = _posed(rest, np.concatenate([G, G[:, extra]], axis=1))
    vis = np.ones((1, 33))
    vis[:, [BP["left_elbow"]]] = 0.5
    instant = instant_posterior(landmarks_to_skeleton(_landmarks_from(X), vis, FRACTIONS), rest, ANATOMY)
    samples, _ = sample_ghosts(instant, 512, torch.Generator().manual_seed(2))
    world = world_from_local(samples)[0].numpy()  # (S, 24, 3, 3)
    upper_arm = world[:, 16] @ (rest[0, 18] - rest[0, 16])
    behind = upper_arm[:, 2] > 0  # camera z points away from the camera; the arm is in front
    assert 0 < behind.sum() < 256  # some ghosts take the mirrored depth, most follow the landmarks
    assert ANATOMY.within(samples).all()
    plain, _ = sample_ghosts(instant, 512, torch.Generator().manual_seed(2), depth_flips=False)
    plain_behind = (world_from_local(plain)[0].numpy()[:, 16] @ (rest[0, 18] - rest[0, 16]))[:, 2] > 0
    assert behind.sum() > plain_behind.sum() + 15, (behind.sum(), plain_behind.sum())


def test_calibration_on_a_small_synthetic_set() -> None:
    """Truth drawn from the stated posterior is calibrated; landmarks far noisier than stated are not."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))  # benchmark support code
    from calibration import calibration_shares, root_relative_error_deg
    from propose_backend.posterior import SAMPLE_SHARPNESS

    rest = np.repeat(_instant_rest(), 30, axis=0)
    G = _known_pose(6, count=30)
    rng = np.random.default_rng(6)
    lm = _landmarks_from(_posed(rest, G)) + rng.normal(scale=0.02, size=(30, 33, 3))
    post = instant_posterior(landmarks_to_skeleton(lm, np.ones((30, 33)), FRACTIONS), rest, ANATOMY).posterior
    gen = torch.Generator().manual_seed(3)
    # a truth the posterior itself would draw: the shares are the levels
    rel = post.global_rotmats[:, 1:] @ post.root[:, None].mT
    truth_rel = fisher.sample(post.F[:, 1:] * SAMPLE_SHARPNESS, 1, generator=gen)[:, :, 0]
    err = _angle_deg(truth_rel.numpy(), rel.numpy())
    shares = calibration_shares(err, post.F[:, 1:], (0.5, 0.9), gen)
    assert abs(shares[0] - 50) < 8 and abs(shares[1] - 90) < 6, shares
    # landmarks with 25 cm of noise: the errors exceed what the posterior states
    noisy = _landmarks_from(_posed(rest, G)) + rng.normal(scale=0.25, size=(30, 33, 3))
    post = instant_posterior(landmarks_to_skeleton(noisy, np.ones((30, 33)), FRACTIONS), rest, ANATOMY).posterior
    err = root_relative_error_deg(post.global_rotmats.numpy(), G[:, :24])[:, 1:]
    shares = calibration_shares(err, post.F[:, 1:], (0.5, 0.9), gen)
    assert shares[0] < 40 and shares[1] < 80, shares


def test_translation_fits_the_pixels_not_depth_weighted_misses(monkeypatch) -> None:
    """With noisy pixels the translation comes back at the true depth on average; the linear fit
    alone (each miss weighed by its point's depth) brings the bodies near."""
    import propose_backend.instant.bone_posterior as bone_posterior

    rng = np.random.default_rng(4)
    focal, principal = 800.0, (480.0, 270.0)
    count = 300
    skeleton = _landmarks_from(_posed(np.repeat(_instant_rest(), count, axis=0), _known_pose(7, count=count)))
    skeleton -= skeleton[:, [23, 24]].mean(1, keepdims=True)
    truth = np.c_[rng.uniform(-1.5, 1.5, count), rng.uniform(-0.3, 0.3, count), rng.uniform(3.0, 7.0, count)]
    placed = skeleton + truth[:, None]
    pixels = focal * placed[..., :2] / placed[..., 2:] + principal + rng.normal(scale=6.0, size=(count, 33, 2))
    weight = np.ones((count, 33))
    weight[:, 0] = 0.0  # an unseen point counts for nothing
    pixels[:, 0] = 1e4

    def depth_errors() -> np.ndarray:
        found = solve_translation(skeleton, pixels, weight, focal, principal)
        return (found[:, 2] - truth[:, 2]) / truth[:, 2]

    refined = depth_errors()
    monkeypatch.setattr(bone_posterior, "TRANSLATION_STEPS", 0)
    linear = depth_errors()
    assert abs(refined.mean()) < 0.004, refined.mean()
    assert linear.mean() < -0.008, linear.mean()
    assert np.abs(refined).mean() < np.abs(linear).mean()
