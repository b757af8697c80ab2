"""The one projection and the rotation conversions agree with the libraries and with each other."""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from propose_backend import geometry


def test_rotations_match_scipy_in_numpy_and_torch() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2, 5, 3))
    expected = Rotation.from_rotvec(vectors.reshape(-1, 3)).as_matrix().reshape(2, 5, 3, 3)
    np.testing.assert_allclose(geometry.axis_angle_to_matrix(vectors), expected, atol=1e-12)
    np.testing.assert_allclose(geometry.axis_angle_to_matrix_torch(torch.from_numpy(vectors)).numpy(), expected,
                               atol=1e-6)
    np.testing.assert_allclose(geometry.axis_angle_to_matrix(np.zeros(3)), np.eye(3))
    quats = rng.normal(size=(7, 4)) * 3  # unnormalised on purpose
    wxyz = Rotation.from_quat(quats[:, [1, 2, 3, 0]]).as_matrix()  # scipy takes (x, y, z, w)
    np.testing.assert_allclose(geometry.quaternion_to_matrix_torch(torch.from_numpy(quats)).numpy(), wxyz, atol=1e-12)


def test_matrix_to_axis_angle_inverts_the_conversion() -> None:
    rng = np.random.default_rng(1)
    cases = [rng.normal(size=3) for _ in range(20)] + [np.zeros(3), np.array([np.pi, 0, 0]),
                                                       np.array([0, 0, -np.pi]), np.pi * np.array([0.6, -0.8, 0])]
    for vector in cases:
        R = geometry.axis_angle_to_matrix(vector)
        np.testing.assert_allclose(geometry.axis_angle_to_matrix(geometry.matrix_to_axis_angle(R)), R, atol=1e-7)


def test_forward_kinematics_round_trip() -> None:
    rng = np.random.default_rng(2)
    local = geometry.axis_angle_to_matrix(rng.normal(scale=0.5, size=(3, 24, 3)))
    world = geometry.world_from_local(local)
    np.testing.assert_allclose(geometry.local_from_world(world), local, atol=1e-12)
    np.testing.assert_allclose(world,
                               geometry.world_from_local(torch.from_numpy(local)).numpy(), atol=1e-12)  # tensors too
    rest = rng.normal(size=(24, 3))
    joints = geometry.joint_positions(world, rest)
    bone = rest[18] - rest[16]  # left elbow hangs off the left shoulder
    np.testing.assert_allclose(joints[:, 18] - joints[:, 16], np.einsum("tij,j->ti", world[:, 16], bone), atol=1e-12)


def test_projection_is_the_pinhole_with_one_depth_clamp() -> None:
    points = np.array([[0.5, -0.25, 2.0], [0.0, 0.0, 0.0], [1.0, 1.0, -4.0]])
    pixels = geometry.project(points, 1000.0, (640.0, 360.0))
    np.testing.assert_allclose(pixels[0], [890.0, 235.0])
    assert np.all(np.isfinite(pixels)) and np.allclose(pixels[2], [390.0, 110.0])  # behind: mirrored, finite
    per_frame = geometry.project(points[None].repeat(2, 0), np.array([[1000.0], [500.0]]), np.array([[[0.0, 0.0]]]))
    np.testing.assert_allclose(per_frame[1, 0], [125.0, -62.5])
    torch_pixels = geometry.project_torch(torch.from_numpy(points), 1000.0, (640.0, 360.0)).numpy()
    np.testing.assert_allclose(torch_pixels, pixels)


def test_ray_rotation_turns_the_optical_axis_onto_each_pixel_ray() -> None:
    pixels = np.array([[480.0, 270.0], [900.0, 40.0], [12.0, 500.0]])
    R = geometry.ray_rotation(pixels, 800.0, (480.0, 270.0))
    rays = np.c_[(pixels - (480.0, 270.0)) / 800.0, np.ones(3)]
    np.testing.assert_allclose(R[..., 2], rays / np.linalg.norm(rays, axis=1, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    np.testing.assert_allclose(R[0], np.eye(3), atol=1e-12)  # on the axis: nothing to turn
    # the smallest turn: no roll about the ray (the axis is perpendicular to both)
    angle = np.degrees(np.arccos(rays[1, 2] / np.linalg.norm(rays[1])))
    np.testing.assert_allclose(np.degrees(np.linalg.norm(geometry.matrix_to_axis_angle(R[1]))), angle, atol=1e-9)


def _random_local(n: int, seed: int) -> np.ndarray:
    return Rotation.random(n * 24, random_state=seed).as_matrix().reshape(n, 24, 3, 3)


def test_the_mirror_reflection_applied_twice_is_the_identity() -> None:
    local = _random_local(3, seed=4)
    F = np.random.default_rng(5).normal(size=(3, 24, 3, 3))
    points = np.random.default_rng(6).normal(size=(3, 35, 3))
    np.testing.assert_allclose(geometry.reflect_local_rotations(geometry.reflect_local_rotations(local)), local, atol=1e-12)
    np.testing.assert_allclose(geometry.reflect_posterior(geometry.reflect_posterior(F)), F, atol=1e-12)
    np.testing.assert_allclose(geometry.reflect_points(geometry.reflect_points(points)), points, atol=1e-12)
    reflected = geometry.reflect_local_rotations(local)
    np.testing.assert_allclose(np.linalg.det(reflected), 1.0, atol=1e-9)  # rotations, not reflections
    assert np.abs(reflected - local).max() > 0.5


def test_a_reflected_pose_skins_to_the_body_reflected_across_the_camera_with_its_sides_swapped() -> None:
    """Through the body layer (smplx skinning) the reflected local rotations give the 35 points
    reflected across the camera's vertical plane (x negated) with left and right swapped: the
    person's right hand is the rig's right hand, and the body faces the way the person did."""
    from propose_backend.body import demo_body
    from propose_backend.body.layer import BodyLayer

    layer = BodyLayer(demo_body())
    betas = torch.randn(4, 10, generator=torch.Generator().manual_seed(1))
    aa = torch.randn(4, 24, 3, generator=torch.Generator().manual_seed(2)) * 0.5
    local = geometry.axis_angle_to_matrix_torch(aa).float()
    _, _, points = layer(betas, local)
    _, _, mirrored = layer(betas, torch.as_tensor(geometry.reflect_local_rotations(local.numpy())))
    expected = geometry.reflect_points(points.numpy())
    np.testing.assert_allclose(mirrored.numpy(), expected, atol=1e-3)  # the demo body is symmetric to 0.1 mm
    assert np.abs(expected[:, 0] - points.numpy()[:, 0]).max() == 0  # the pelvis stays put
    left_wrist, right_wrist = 20, 21
    np.testing.assert_allclose(mirrored[:, right_wrist, 1:].numpy(), points[:, left_wrist, 1:].numpy(), atol=1e-3)
    np.testing.assert_allclose(mirrored[:, right_wrist, 0].numpy(), -points[:, left_wrist, 0].numpy(), atol=1e-3)
    # a body facing the camera still faces it: the pelvis frame's forward axis (rest +z) keeps its depth
    forward = lambda local: local[:, 0, :, 2]  # noqa: E731
    np.testing.assert_allclose(forward(geometry.reflect_local_rotations(local.numpy()))[:, 2], forward(local.numpy())[:, 2],
                               atol=1e-6)


def test_flipped_pixels_are_where_the_reflected_points_project() -> None:
    """Exact under perspective: a point reflected across the camera's vertical plane projects to its
    pixel flipped about the principal point, so a mirrored run overlays the flipped footage."""
    points = np.random.default_rng(7).normal(size=(5, 35, 3)) + [0.3, 0.1, 4.0]
    focal, principal = 900.0, (640.0, 360.0)
    np.testing.assert_allclose(geometry.project(geometry.reflect_points(points), focal, principal),
                               geometry.flip_pixels(geometry.project(points, focal, principal), principal[0])
                               [:, geometry.side_swap(35)], atol=1e-9)
