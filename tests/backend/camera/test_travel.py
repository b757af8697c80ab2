"""The camera's travel (travel.py) on rendered footage of a camera that slides sideways while it turns."""
from __future__ import annotations

import numpy as np
import pytest

from propose_backend.camera import CameraPath, relative_transforms, solve_camera, solve_travel
from propose_backend.camera.travel import motion_from_floor
from propose_backend.render_scene import look_at, render_view, textured_set
from propose_backend.temporal import so3

SIZE, FOCAL, FRAMES = (480, 270), 405.0, 36
EYE = np.array([0.0, 1.4, -4.5])  # the set's floor is y = 0, so the camera stands 1.4 m above it
DOLLY = np.array([1.2, 0.0, 0.0])  # metres, sideways over the clip


@pytest.fixture(scope="module")
def scene():
    return textured_set(variant=3)


def _camera(u: float, dolly: bool) -> tuple[np.ndarray, np.ndarray]:
    """(R, eye) at clip fraction u: panning 12° and tilting 5° while sliding 1.2 m sideways (if dolly)."""
    eye = EYE + (u * DOLLY if dolly else 0.0)
    yaw, pitch = np.radians(-6 + 12 * u), np.radians(-8 + 5 * u)
    target = eye + np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    return look_at(eye, target, 2.0 * np.sin(np.pi * u)), eye


def _clip(scene, dolly: bool, people=None) -> tuple[CameraPath, np.ndarray, np.ndarray, np.ndarray]:
    """The rotation pass over the rendered clip, the true floor in the first camera, and the true
    camera-t → camera-0 rotations and centres."""
    cams = [_camera(t / (FRAMES - 1), dolly) for t in range(FRAMES)]
    frames = [(render_view(scene, R, eye, SIZE, FOCAL, people(t / (FRAMES - 1)) if people else []), None)
              for t, (R, eye) in enumerate(cams)]
    path = solve_camera(frames, FOCAL, (SIZE[0] / 2, SIZE[1] / 2), SIZE)
    R0, eye0 = cams[0]
    floor = np.r_[R0 @ np.array([0.0, 1.0, 0.0]), eye0[1]]  # n up in camera 0 (its y points down), height
    rotations = np.stack([R0 @ R.T for R, _ in cams])
    centres = np.stack([R0 @ (eye - eye0) for _, eye in cams])
    return path, floor, rotations, centres


def _check_dolly(path: CameraPath, floor: np.ndarray, rotations: np.ndarray, centres: np.ndarray) -> dict:
    R, c, info = solve_travel(path, floor)
    assert info["translation"] == "floor homography", info
    error = so3.angle_deg(R, rotations)
    assert error.mean() < 0.5 and error.max() < 1.0, error
    travel, true_travel = c[-1] - c[0], centres[-1] - centres[0]
    cos = travel @ true_travel / np.linalg.norm(travel) / np.linalg.norm(true_travel)
    assert np.degrees(np.arccos(min(cos, 1.0))) < 5.0, (travel, true_travel)
    assert abs(np.linalg.norm(travel) / np.linalg.norm(true_travel) - 1) < 0.1, (travel, true_travel)
    assert np.linalg.norm(c - centres, axis=1).max() < 0.12, np.linalg.norm(c - centres, axis=1)
    return dict(error=error, rotation_only=so3.angle_deg(path.rotations, rotations))


def test_motion_from_a_floor_homography() -> None:
    """The floor's homography of a known camera motion gives the rotation and the centre in metres back."""
    rng = np.random.default_rng(1)
    up = np.array([0.05, -0.97, -0.2])
    up /= np.linalg.norm(up)
    height = 1.4
    for _ in range(3):
        R = look_at(np.zeros(3), np.r_[rng.normal(0, 0.15, 2), 1.0], rng.normal(0, 3))  # camera-t → camera-0
        c = rng.normal(0, 0.5, 3)
        H = R.T @ (np.eye(3) + np.outer(c, up) / height)  # x_t = Rᵀ(x₀ − c) for x₀ on the floor (upᵀx₀ = −height)
        for scale in (1.0, 2.5):
            found_R, found_c = motion_from_floor(scale * H, up + rng.normal(0, 0.05, 3), height)
            np.testing.assert_allclose(found_R, R, atol=1e-6)
            np.testing.assert_allclose(found_c, c, atol=1e-6)


def test_a_sliding_camera_gives_its_travel_back(scene) -> None:
    path, floor, rotations, centres = _clip(scene, dolly=True)
    figures = _check_dolly(path, floor, rotations, centres)
    # the clip does show parallax: the rotation pass alone is bent by the travel
    assert figures["rotation_only"].max() > 2 * figures["error"].max()
    path.rotations, path.centres, path.travel = solve_travel(path, floor)
    m = relative_transforms(path, FRAMES)
    np.testing.assert_allclose(m[:, :3, 3], path.centres, atol=1e-6)
    assert path.describe()["translation"] == "floor homography" and path.describe()["travel_m"] > 1.0


def test_people_walking_by_do_not_bend_a_sliding_camera(scene) -> None:
    from propose_backend.body import demo_body

    body = demo_body()
    shade = np.linspace(0.2, 0.9, len(body.faces))[:, None]
    colours = np.concatenate([shade, 0.5 * shade, 1 - shade], axis=1)
    feet = body.v_template[:, 1].min()
    starts = [np.array([-2.5, -feet, 2.0]), np.array([2.0, -feet, 3.5]), np.array([-1.0, -feet, 0.5])]
    moves = [np.array([3.0, 0, 0]), np.array([-2.5, 0, 0.5]), np.array([1.5, 0, -0.5])]

    def people(u: float):  # no person mask here: the walkers' own corners are tracked too
        return [(body.v_template + s + u * m, body.faces, colours) for s, m in zip(starts, moves)]

    _check_dolly(*_clip(scene, dolly=True, people=people))


def test_a_camera_that_only_turns_reports_no_travel(scene) -> None:
    path, floor, rotations, _ = _clip(scene, dolly=False)
    R, c, info = solve_travel(path, floor)
    assert info["translation"].startswith("none"), info
    assert np.array_equal(R, path.rotations) and not c.any()
    assert so3.angle_deg(R, rotations).mean() < 0.3
