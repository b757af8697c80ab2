"""Smoothing in the world: a person standing still, filmed by a turning camera, stays still."""
from __future__ import annotations

import numpy as np

from propose_backend import results
from propose_backend.geometry import axis_angle_to_matrix, project
from propose_backend.temporal import smooth_results, so3
from propose_backend.temporal.files import unsmoothed

from .synthetic import clip, true_motion


def _turning_camera(T: int) -> np.ndarray:
    """(T, 3, 3) camera-t → camera-0 rotations: a 12° pan with some tilt and roll."""
    u = np.linspace(0, 1, T)[:, None]
    return axis_angle_to_matrix(np.radians(np.concatenate([4 * np.sin(np.pi * u), 12 * u, 3 * np.sin(2 * np.pi * u)], 1)))


def _filmed(data: dict, A: np.ndarray, c: np.ndarray | None = None) -> dict:
    """The reference-camera clip as each camera-t (turned by A, centre at c) saw it (the per-frame fields in camera t)."""
    c = np.zeros((len(A), 3)) if c is None else c
    At = np.swapaxes(A, -1, -2)
    out = dict(data)
    rot = data["rotmats"].astype(np.float64).copy()
    rot[:, 0] = At @ rot[:, 0]
    F = data["posterior_F"].astype(np.float64).copy()
    F[:, 0] = At @ F[:, 0]
    F[:, 1:] = At[:, None] @ F[:, 1:] @ A[:, None]
    transl = np.einsum("tij,tj->ti", At, data["transl"].astype(np.float64) - c)
    points = np.einsum("tij,tpj->tpi", At, data["joints3d"].astype(np.float64))
    samples = data["samples"].astype(np.float64).copy()
    samples[:, :, 0] = At[:, None] @ samples[:, :, 0]
    out.update(rotmats=rot, posterior_F=F, transl=transl, joints3d=points, samples=samples,
               joints2d=project(points + transl[:, None], data["focal_px"][:, None].astype(np.float64),
                                data["principal_pt"][:, None].astype(np.float64)))
    rel = np.tile(np.eye(4), (len(A), 1, 1))
    rel[:, :3, :3], rel[:, :3, 3] = A, c
    out["world_from_camera"] = rel.astype(np.float32)
    return out


def _world_pelvis(data: dict) -> np.ndarray:
    M = np.asarray(data["world_from_camera"], np.float64)
    return np.einsum("tij,tj->ti", M[:, :3, :3], data["transl"].astype(np.float64)) + M[:, :3, 3]


def test_a_turning_camera_does_not_move_the_body_in_the_world() -> None:
    T = 90
    data, _ = clip(true_motion(T), noise_deg=5.0)
    A = _turning_camera(T)
    filmed = _filmed(data, A)
    solved = smooth_results(filmed)
    results.validate(solved)
    ignored = smooth_results({k: v for k, v in filmed.items() if k != "world_from_camera"})
    still, turned = _world_pelvis(solved), _world_pelvis(ignored)
    assert np.ptp(still, axis=0).max() < 0.05  # the pelvis stands still in the world
    assert np.ptp(turned, axis=0).max() > 0.5  # taken as a still camera, the pan moves it ~0.8 m
    # the world is gravity-aligned with the floor at z = 0, and every frame's camera is the solve's
    M = solved["world_from_camera"].astype(np.float64)
    rel = np.linalg.inv(M[0])[None] @ M
    assert so3.angle_deg(rel[:, :3, :3], A).max() < 1e-3
    assert abs(still[:, 2].mean() - 0.9) < 0.15  # the synthetic pelvis is ~0.9 m over its soles
    # camera-frame fields keep their meaning: the points project where joints2d says, in camera t
    cam = solved["joints3d"].astype(np.float64) + solved["transl"][:, None]
    np.testing.assert_allclose(project(cam, 1000.0, (640.0, 360.0)), solved["joints2d"], atol=0.05)
    # and the raw per-frame values stay as the camera saw them
    np.testing.assert_allclose(solved["raw_transl"], filmed["transl"], atol=1e-5)


def test_a_travelling_camera_does_not_move_the_body_in_the_world() -> None:
    """The camera slides 1.5 m sideways (and a little forward) while it turns: the body stays put and
    the world path carries the travel in metres."""
    T = 90
    data, _ = clip(true_motion(T), noise_deg=5.0)
    A = _turning_camera(T)
    c = np.linspace(0, 1, T)[:, None] * np.array([1.5, 0.0, 0.3])  # in the reference camera (x right, z forward)
    solved = smooth_results(_filmed(data, A, c))
    results.validate(solved)
    assert np.ptp(_world_pelvis(solved), axis=0).max() < 0.05
    M = solved["world_from_camera"].astype(np.float64)
    travel = M[-1, :3, 3] - M[0, :3, 3]
    assert abs(np.linalg.norm(travel) - np.linalg.norm(c[-1])) < 0.01
    rel = np.linalg.inv(M[0])[None] @ M
    np.testing.assert_allclose(rel[:, :3, 3], c, atol=1e-3)


def test_unsmoothed_files_keep_a_gravity_aligned_camera_path() -> None:
    T = 60
    data, _ = clip(true_motion(T), noise_deg=5.0)
    A = _turning_camera(T)
    back = unsmoothed(smooth_results(_filmed(data, A)))
    M = back["world_from_camera"].astype(np.float64)
    assert "floor" not in back and so3.angle_deg((np.linalg.inv(M[0])[None] @ M)[:, :3, :3], A).max() < 1e-3
    assert np.ptp(_world_pelvis(back), axis=0).max() < 0.05


def test_schema_3_round_trip_and_older_files(tmp_path) -> None:
    data, _ = clip(true_motion(10), noise_deg=5.0)
    assert int(data["schema_version"]) == 1
    results.validate(data)  # version 1 still reads
    data["schema_version"] = np.int64(2)
    results.validate(data)  # and version 2
    smoothed = smooth_results(_filmed(data, _turning_camera(10)))
    path = results.write_results(tmp_path / "v3.npz", smoothed)
    back = results.read_results(path)
    assert int(back["schema_version"]) == 3 and back["world_from_camera"].dtype == np.float32
    np.testing.assert_allclose(back["world_from_camera"], smoothed["world_from_camera"])
    broken = dict(smoothed, world_from_camera=np.tile(2 * np.eye(4, dtype=np.float32), (10, 1, 1)))
    try:
        results.validate(broken)
    except results.ResultsError as exc:
        assert "world_from_camera" in str(exc)
    else:
        raise AssertionError("a scaled camera pose was accepted")


def test_no_usable_floor_leaves_the_camera_path_relative() -> None:
    from propose_backend.temporal.world import world_path

    rel = np.tile(np.eye(4), (3, 1, 1))
    assert world_path(None, np.zeros(3), rel, 3) is None
    assert world_path(np.array([np.nan, np.nan, np.nan, 1.0]), np.zeros(3), rel, 3) is None  # feet on one line
    assert world_path(np.array([0.0, -1.0, 0.0, 1.0]), np.array([0.0, 0.0, 4.0]), rel, 3).shape == (3, 4, 4)
