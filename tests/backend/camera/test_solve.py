"""The camera solve on rendered footage with a known camera: pan/tilt/roll, still, people walking by."""
from __future__ import annotations

import numpy as np
import pytest

from propose_backend.camera import CameraPath, relative_transforms, solve_camera
from propose_backend.render_scene import look_at, render_view, textured_set
from propose_backend.temporal import so3

SIZE, FOCAL, FRAMES = (480, 270), 405.0, 36
EYE = np.array([0.0, 1.4, -4.5])


@pytest.fixture(scope="module")
def scene():
    return textured_set(variant=3)


@pytest.fixture(scope="module")
def walkers():
    """Three rest-pose bodies (the demo body) that walk across the set while the clip runs."""
    from propose_backend.body import demo_body

    body = demo_body()
    shade = np.linspace(0.2, 0.9, len(body.faces))[:, None]  # varied, so the bodies have corners to track too
    colours = np.concatenate([shade, 0.5 * shade, 1 - shade], axis=1)
    feet = body.v_template[:, 1].min()
    starts = [np.array([-2.5, -feet, 2.0]), np.array([2.0, -feet, 3.5]), np.array([-1.0, -feet, 1.0])]
    moves = [np.array([3.0, 0, 0]), np.array([-2.5, 0, 0.5]), np.array([1.5, 0, -0.5])]

    def at(u: float):
        return [(body.v_template + s + u * m, body.faces, colours) for s, m in zip(starts, moves)]

    return at


def _pan_tilt_roll(u: float) -> np.ndarray:
    """The moving camera at clip fraction u: pan 16°, tilt 9°, roll up to 3.5°."""
    yaw, pitch = np.radians(-8 + 16 * u), np.radians(-4 + 9 * u)
    target = EYE + np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    return look_at(EYE, target, 3.5 * np.sin(np.pi * u))


def _solve(scene, cameras: list[np.ndarray], people=None, noise: float = 0.0):
    rng = np.random.default_rng(0)
    frames = []
    for t, R in enumerate(cameras):
        extra = people(t / (len(cameras) - 1)) if people is not None else []
        image = render_view(scene, R, EYE, SIZE, FOCAL, extra)
        if noise:
            image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
        frames.append((image, None))
    return solve_camera(frames, FOCAL, (SIZE[0] / 2, SIZE[1] / 2), SIZE)


def _truth(cameras: list[np.ndarray]) -> np.ndarray:
    R = np.stack(cameras)
    return R[0][None] @ np.swapaxes(R, 1, 2)  # camera-t → camera-0


def test_a_panning_tilting_rolling_camera_is_solved(scene) -> None:
    cameras = [_pan_tilt_roll(t / (FRAMES - 1)) for t in range(FRAMES)]
    path = _solve(scene, cameras)
    error = so3.angle_deg(path.rotations, _truth(cameras))
    assert not path.still and error.mean() < 0.3 and error.max() < 0.8, error
    info = path.describe()
    assert info["max_rotation_deg"] > 15 and not info["zoom_detected"] and 0.8 < info["inlier_ratio"] <= 1
    m = relative_transforms(path, FRAMES + 2)  # rows past the solve hold its last pose
    assert m.dtype == np.float32 and m.shape == (FRAMES + 2, 4, 4)
    np.testing.assert_allclose(m[:FRAMES, :3, :3], path.rotations, atol=1e-6)
    np.testing.assert_array_equal(m[FRAMES:], np.broadcast_to(m[FRAMES - 1], (2, 4, 4)))


def test_rows_past_a_truncated_video_hold_the_last_solved_pose() -> None:
    turn = np.stack([_pan_tilt_roll(u) for u in (0.0, 0.5, 1.0)])
    rotations = turn[0][None] @ np.swapaxes(turn, 1, 2)
    centres = np.array([[0.0, 0, 0], [0.1, 0, 0], [0.2, 0.01, 0]])
    path = CameraPath(rotations=rotations, still=False, inlier_ratio=1.0, drift_deg=0.0, zoom=0.0, parallax_px=0.0,
                      parallax_frames=0, keyframes=1, seconds=0.0, centres=centres)
    m = relative_transforms(path, 6)  # the results have 6 rows, the video ended after 3 frames
    np.testing.assert_allclose(m[:3, :3, :3], rotations, atol=1e-6)
    for row in (3, 4, 5):
        np.testing.assert_allclose(m[row, :3, :3], rotations[2], atol=1e-6)  # not the identity
        np.testing.assert_allclose(m[row, :3, 3], centres[2], atol=1e-6)
    assert so3.angle_deg(m[5, :3, :3].astype(np.float64), np.eye(3)) > 5


def test_a_tripod_shot_is_still(scene) -> None:
    path = _solve(scene, [_pan_tilt_roll(0.0)] * 20, noise=3.0)  # sensor noise, no motion
    assert path.still and path.describe()["still"]
    assert np.array_equal(path.rotations, np.broadcast_to(np.eye(3), (20, 3, 3)))


def test_people_walking_by_do_not_move_a_still_camera(scene, walkers) -> None:
    path = _solve(scene, [_pan_tilt_roll(0.0)] * FRAMES, people=walkers, noise=2.0)
    assert path.still, path.describe()


def test_people_walking_by_do_not_bend_a_moving_camera(scene, walkers) -> None:
    cameras = [_pan_tilt_roll(t / (FRAMES - 1)) for t in range(FRAMES)]
    path = _solve(scene, cameras, people=walkers)
    error = so3.angle_deg(path.rotations, _truth(cameras))
    assert error.mean() < 0.4 and error.max() < 1.0, error


def test_a_zoom_is_reported(scene) -> None:
    """The same view with the focal length growing 12 % is reported as a zoom (detected, not measured
    exactly: the solve does not model a focal change, docs/temporal.md)."""
    R = _pan_tilt_roll(0.3)
    frames = [(render_view(scene, R, EYE, SIZE, FOCAL * (1 + 0.12 * t / 19)), None) for t in range(20)]
    info = solve_camera(frames, FOCAL, (SIZE[0] / 2, SIZE[1] / 2), SIZE).describe()
    assert info["zoom_detected"] and info["zoom"] > 0.04


def test_mirrored_footage_gives_the_real_cameras_path(scene) -> None:
    """A selfie clip (every frame flipped left-right) of a results file marked `mirrored` is solved
    flipped back, as the file's body is: the real camera's path (its pan the other way round from the
    one the mirror images show), not the mirror camera's."""
    from types import SimpleNamespace

    from propose_backend.camera import solve_results_footage

    frames = 12
    cameras = [_pan_tilt_roll(t / (frames - 1)) for t in range(frames)]
    selfie = [np.ascontiguousarray(render_view(scene, R, EYE, SIZE, FOCAL)[:, ::-1]) for R in cameras]
    footage = SimpleNamespace(image_size=SIZE, frames=lambda: (SimpleNamespace(index=t, image=image)
                                                                 for t, image in enumerate(selfie)))
    data = {"frame_index": np.arange(frames), "bbox": np.zeros((frames, 4)), "valid": np.zeros(frames, bool),
            "focal_px": np.full(frames, FOCAL), "principal_pt": np.tile([SIZE[0] / 2, SIZE[1] / 2], (frames, 1))}
    real = solve_results_footage({**data, "meta": {"mirrored": True}}, footage, segmentation=False, travel=False)
    error = so3.angle_deg(real.rotations, _truth(cameras))
    assert error.max() < 0.8, error
    unaware = solve_results_footage(data, footage, segmentation=False, travel=False)  # the mirror camera
    assert so3.angle_deg(unaware.rotations, _truth(cameras)).max() > 5.0
