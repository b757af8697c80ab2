"""Augmentation and targets (docs/training.md, Data): mirror swaps, axis-angle sign flips, rotation consistency.

The strongest checks pose the (left/right symmetric) demo body: after any flip and rotation the
target rotations, posed again, must reproduce the target 3D joints and extra points.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from propose_backend.body import demo_body
from propose_backend.train.config import AugmentConfig
from propose_backend.train.datasets.augment import CropTransform, draw_transform, half_body_box
from propose_backend.train.datasets.record import (
    FLIP_PAIRS_11,
    FLIP_PAIRS_17,
    FLIP_PAIRS_29,
    LOWER_BODY_29,
    UPPER_BODY_29,
    PersonRecord,
    project,
)
from propose_backend.train.datasets.sample import (
    CUBE_MM,
    FLIP_PAIRS_SMPL,
    axis_angle_to_matrix,
    build_sample,
    mirror_theta,
)
from propose_backend.train.skinning import SupervisedPoints

WIDTH, HEIGHT, SIZE = 101, 81, 64
MIRROR = np.diag([-1.0, 1.0, 1.0]).astype(np.float32)


def partner(index: int, pairs: tuple[tuple[int, int], ...]) -> int:
    for a, b in pairs:
        if index in (a, b):
            return b if index == a else a
    return index


@pytest.fixture(scope="module")
def skinner() -> SupervisedPoints:
    return SupervisedPoints(demo_body())


def posed_record(skinner: SupervisedPoints, seed: int = 0) -> PersonRecord:
    """A record whose every label comes from posing the demo body in front of a camera."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.4, size=(24, 3)).astype(np.float32)
    theta[0] = [np.pi, 0.0, 0.0]  # upright in camera axes
    beta = rng.normal(0.0, 0.5, size=10).astype(np.float32)
    with torch.no_grad():
        points = skinner(torch.from_numpy(beta)[None], torch.from_numpy(axis_angle_to_matrix(theta))[None])
    root = np.array([30.0, -20.0, 6000.0], np.float32)
    points = points[0].numpy() * 1000.0 + root
    record = PersonRecord(image=Path("unused.png"), image_size=(WIDTH, HEIGHT),
                          bbox=np.array([20, 5, 80, 75], np.float32), source="test",
                          theta=theta, beta=beta, has_smpl=True, root_cam=root,
                          focal=np.array([500.0, 500.0], np.float32),
                          principal=np.array([50.0, 40.0], np.float32))
    K = record.intrinsics()
    record.xyz29[:24], record.xyz29_vis[:24] = points[:24], 1.0
    record.xyz11, record.xyz11_vis = points[24:].copy(), np.ones((11, 3), np.float32)
    record.uvd29 = project(record.xyz29, K, root[2]) * (record.xyz29_vis > 0)
    record.uvd29_vis = record.xyz29_vis.copy()
    record.uvd11, record.uvd11_vis = project(record.xyz11, K, root[2]), np.ones((11, 3), np.float32)
    record.xyz17 = rng.normal(0, 300, size=(17, 3)).astype(np.float32)
    record.xyz17_vis = np.ones((17, 3), np.float32)
    record.xyz17_vis[1] = 0.0  # left hip unknown: the weight must follow the joint
    record.uvd29_vis[4] = 0.0  # left knee unlabelled in 2D
    return record


def image() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)


def targets_of(record: PersonRecord, transform: CropTransform) -> dict[str, np.ndarray]:
    _, targets = build_sample(record, image(), transform, SIZE)
    return {k: v.numpy() for k, v in targets.items()}


def test_flip_swaps_left_right_everywhere(skinner: SupervisedPoints) -> None:
    record = posed_record(skinner)
    center = np.array([(WIDTH - 1) / 2, 40.0])  # symmetric: the mirrored crop is the mirror of the crop
    plain = targets_of(record, CropTransform(center=center, size=70.0))
    flipped = targets_of(record, CropTransform(center=center, size=70.0, flip=True))

    def check(key: str, weight_key: str, count: int, pairs: tuple[tuple[int, int], ...]) -> None:
        a, b = plain[key].reshape(count, 3), flipped[key].reshape(count, 3)
        wa, wb = plain[weight_key].reshape(count, 3), flipped[weight_key].reshape(count, 3)
        for j in range(count):
            k = partner(j, pairs)
            np.testing.assert_allclose(b[j], a[k] * [-1, 1, 1], atol=1e-5, err_msg=f"{key}[{j}]")
            np.testing.assert_array_equal(wb[j], wa[k])

    check("target_uvd_29", "target_weight_29", 29, FLIP_PAIRS_29)
    check("target_uvd_11", "target_weight_11", 11, FLIP_PAIRS_11)
    check("target_xyz_24", "target_weight_24", 24, FLIP_PAIRS_SMPL)
    check("target_xyz_11", "target_weight_11_xyz", 11, FLIP_PAIRS_11)
    check("target_xyz_17", "target_weight_17", 17, FLIP_PAIRS_17)
    # the 11 extra points: right eye ↔ left eye, right ear ↔ left ear, left ↔ right foot points
    assert [partner(i, FLIP_PAIRS_11) for i in range(11)] == [0, 2, 1, 4, 3, 8, 9, 10, 5, 6, 7]

    rot_plain = plain["target_theta"].reshape(24, 3, 3)
    rot_flipped = flipped["target_theta"].reshape(24, 3, 3)
    for j in range(24):
        k = partner(j, FLIP_PAIRS_SMPL)
        np.testing.assert_allclose(rot_flipped[j], MIRROR @ rot_plain[k] @ MIRROR, atol=1e-5)


def test_mirror_theta_negates_y_and_z_and_swaps_pairs() -> None:
    theta = np.arange(72, dtype=np.float32).reshape(24, 3)
    mirrored = mirror_theta(theta)
    np.testing.assert_array_equal(mirrored[1], [theta[2, 0], -theta[2, 1], -theta[2, 2]])
    np.testing.assert_array_equal(mirrored[2], [theta[1, 0], -theta[1, 1], -theta[1, 2]])
    np.testing.assert_array_equal(mirrored[0], [0, -1, -2])  # the root has no partner
    np.testing.assert_array_equal(mirror_theta(mirrored), theta)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("rotation", [0.0, 35.0, -50.0])
def test_augmented_pose_reproduces_augmented_joints(skinner: SupervisedPoints, flip: bool, rotation: float) -> None:
    """Target rotations posed on the body give the target 3D joints and extra points."""
    record = posed_record(skinner, seed=2)
    transform = CropTransform(center=np.array([52.0, 38.0]), size=66.0, rotation_deg=rotation, flip=flip)
    targets = targets_of(record, transform)
    with torch.no_grad():
        posed = skinner(torch.from_numpy(targets["target_beta"])[None],
                        torch.from_numpy(targets["target_theta"].reshape(1, 24, 3, 3)))[0].numpy()
    np.testing.assert_allclose(posed[:24] * 1000 / CUBE_MM, targets["target_xyz_24"].reshape(24, 3), atol=2e-4)
    np.testing.assert_allclose(posed[24:] * 1000 / CUBE_MM, targets["target_xyz_11"].reshape(11, 3), atol=2e-4)


@pytest.mark.parametrize("rotation", [25.0, -40.0])
def test_2d_and_3d_rotate_together(skinner: SupervisedPoints, rotation: float) -> None:
    """The in-plane turn of the crop is the turn of the 3D labels about the optical axis."""
    record = posed_record(skinner, seed=4)
    center = np.array([50.0, 40.0])
    plain = targets_of(record, CropTransform(center=center, size=70.0))
    turned = targets_of(record, CropTransform(center=center, size=70.0, rotation_deg=rotation))

    def angles(uv: np.ndarray) -> np.ndarray:
        bones = uv[[16, 18, 20, 4, 7]] - uv[0]
        return np.degrees(np.arctan2(bones[:, 1], bones[:, 0]))

    def turn(key: str, count: int) -> np.ndarray:
        return angles(turned[key].reshape(count, 3)[:, :2]) - angles(plain[key].reshape(count, 3)[:, :2])

    uv_turn, xy_turn = turn("target_uvd_29", 29), turn("target_xyz_24", 24)
    np.testing.assert_allclose((uv_turn + 180) % 360 - 180, rotation, atol=1e-3)
    np.testing.assert_allclose((xy_turn + 180) % 360 - 180, rotation, atol=1e-3)


def test_targets_are_normalised_crop_and_cube_units(skinner: SupervisedPoints) -> None:
    record = posed_record(skinner)
    transform = CropTransform(center=np.array([50.0, 40.0]), size=64.0)  # 1 px of image = 1 px of crop
    targets = targets_of(record, transform)
    uvd = targets["target_uvd_29"].reshape(29, 3)
    np.testing.assert_allclose(uvd[:24, :2], (record.uvd29[:24, :2] - [50, 40]) / SIZE, atol=1e-5)
    np.testing.assert_allclose(uvd[:24, 2], record.uvd29[:24, 2] / CUBE_MM, atol=1e-6)
    xyz = targets["target_xyz_24"].reshape(24, 3)
    np.testing.assert_allclose(xyz, (record.xyz29[:24] - record.xyz29[0]) / CUBE_MM, atol=1e-6)
    assert targets["target_smpl_weight"].tolist() == [1.0]
    assert targets["trans_inv"].shape == (2, 3) and targets["intrinsic_param"].shape == (3, 3)
    expected_lengths = {"target_uvd_29": 87, "target_uvd_11": 33, "target_xyz_24": 72, "target_xyz_17": 51,
                        "target_xyz_11": 33, "target_theta": 216, "target_theta_weight": 216,
                        "target_beta": 10, "target_smpl_weight": 1, "joint_root": 3, "img_center": 2}
    assert {k: targets[k].shape[0] for k in expected_lengths} == expected_lengths


def test_crop_matrix_and_its_inverse() -> None:
    transform = CropTransform(center=np.array([30.0, 20.0]), size=40.0, rotation_deg=30.0)
    m, inv = transform.matrix(SIZE), transform.inverse_matrix(SIZE)
    np.testing.assert_allclose(m @ [30.0, 20.0, 1.0], [SIZE / 2, SIZE / 2], atol=1e-4)
    point = np.array([12.0, 7.0, 1.0])
    np.testing.assert_allclose(inv @ np.append(m @ point, 1.0), point[:2], atol=1e-4)


def test_evaluation_crop_is_the_enlarged_square_box() -> None:
    bbox = np.array([10.0, 20.0, 50.0, 100.0])
    transform = draw_transform(bbox, 1.25, np.zeros((29, 2)), np.zeros(29, bool), 200, None, None)
    np.testing.assert_allclose(transform.center, [30.0, 60.0])
    assert transform.size == pytest.approx(100.0)
    assert not transform.flip and transform.rotation_deg == 0 and transform.color_gain is None


def test_augmentation_draws_stay_in_their_ranges() -> None:
    config = AugmentConfig()
    bbox = np.array([0.0, 0.0, 100.0, 100.0])
    flips, rotated = 0, 0
    for seed in range(300):
        t = draw_transform(bbox, 1.0, np.zeros((29, 2)), np.zeros(29, bool), 100, config, np.random.default_rng(seed))
        assert 70.0 - 1e-6 <= t.size <= 130.0 + 1e-6
        assert abs(t.rotation_deg) <= 60.0
        assert np.all((t.color_gain >= 0.8) & (t.color_gain <= 1.2))
        flips += t.flip
        rotated += t.rotation_deg != 0
    assert 110 < flips < 190 and 140 < rotated < 220  # p = 0.5 and 0.6


def test_half_body_box_uses_one_visible_half() -> None:
    uv = np.zeros((29, 2))
    uv[list(UPPER_BODY_29)] = [100.0, 10.0]
    uv[list(UPPER_BODY_29)[:3]] = [[90.0, 0.0], [110.0, 20.0], [100.0, 10.0]]
    uv[list(LOWER_BODY_29)] = [10.0, 200.0]
    visible = np.zeros(29, bool)
    visible[list(UPPER_BODY_29)] = True  # only the upper body is labelled
    for seed in range(20):
        center, size = half_body_box(uv, visible, np.random.default_rng(seed))
        np.testing.assert_allclose(center, [100.0, 10.0])
        assert size == pytest.approx(30.0)
    assert half_body_box(uv, np.zeros(29, bool), np.random.default_rng(0)) is None
