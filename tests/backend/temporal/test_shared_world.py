"""Everyone in one world: two people filmed by one turning camera share its path and floor."""
from __future__ import annotations

import numpy as np

from propose_backend import results
from propose_backend.temporal import smooth_results
from propose_backend.temporal.shared_world import ClipCameras, camera_rows, into_one_world, still

from .synthetic import UPRIGHT, clip, true_motion
from .test_world import _filmed, _turning_camera, _world_pelvis

T, LATE = 60, 12  # the second person comes into the shot on frame LATE


def _two_people(turning: bool = True) -> tuple[list[dict], ClipCameras]:
    """Person 1 from frame 0 at x, z = (-0.8, 4), person 2 from frame LATE at (0.9, 6) in the first
    camera, both with their soles on one floor 0.9 m under it, as a camera turning 12° (or a tripod)
    saw them."""
    A = _turning_camera(T) if turning else np.tile(np.eye(3), (T, 1, 1))
    relative = np.tile(np.eye(4), (T, 1, 1))
    relative[:, :3, :3] = A
    cameras = ClipCameras(np.arange(T), relative)
    people = []
    for seed, where, first in ((1, (-0.8, 0.0, 4.0), 0), (3, (0.9, 0.0, 6.0), LATE)):
        motion = true_motion(T, seed=seed)
        motion[:, 0] = UPRIGHT  # standing upright, limbs moving: the body's up is the floor's
        data, _ = clip(motion, noise_deg=5.0, seed=seed + 1, transl=np.tile(where, (T, 1)))
        data["transl"][:, 1] = 0.9 - np.median(data["joints3d"][:, :, 1].max(axis=1))  # soles 0.9 m under the camera
        seen = _filmed(data, A)
        rows = slice(first, T)
        person = {k: (v[rows] if isinstance(v, np.ndarray) and v.shape[:1] == (T,) else v) for k, v in seen.items()}
        person.pop("world_from_camera")  # the run gives each person the clip's path (camera_rows)
        people.append(person)
    return people, cameras


def _lowest(data: dict) -> float:
    """Median over frames of the lowest body point's height in the world (the soles: 0 on the floor)."""
    M = np.asarray(data["world_from_camera"], np.float64)
    points = data["joints3d"].astype(np.float64) + data["transl"][:, None].astype(np.float64)
    heights = np.einsum("tj,tpj->tp", M[:, 2, :3], points) + M[:, 2, 3][:, None]
    return float(np.median(heights.min(axis=1)))


def test_two_people_share_one_camera_path_and_floor() -> None:
    people, cameras = _two_people()
    alone = [smooth_results(camera_rows(p, cameras)) for p in people]
    together = into_one_world(alone, cameras)
    for data in together:
        results.validate(data)
    first, second = together
    # the same camera pose on the same frame in both files
    np.testing.assert_array_equal(first["world_from_camera"][LATE:], second["world_from_camera"])
    # each person stands still in that world, 2.6 m apart as filmed, on one floor
    a, b = _world_pelvis(first), _world_pelvis(second)
    assert np.ptp(a, axis=0).max() < 0.05 and np.ptp(b, axis=0).max() < 0.05
    assert abs(np.linalg.norm(a[LATE:].mean(0) - b.mean(0)) - np.hypot(1.7, 2.0)) < 0.1
    assert abs(_lowest(first)) < 0.03 and abs(_lowest(second)) < 0.03 and abs(a[:, 2].mean() - 0.9) < 0.15
    # each file's floor (in its own first camera) is the world's z = 0
    for data in together:
        floor = data["floor"].astype(np.float64)
        on_floor = -floor[3] * floor[:3]
        M = data["world_from_camera"][0].astype(np.float64)
        assert abs((M[:3, :3] @ on_floor + M[:3, 3])[2]) < 1e-4
    # smoothed apart, the second person's world would have its own origin: not one scene
    assert not np.allclose(alone[1]["world_from_camera"][0], alone[0]["world_from_camera"][LATE], atol=0.05)


def test_a_still_camera_gets_one_world_too() -> None:
    people, _ = _two_people(turning=False)
    cameras = still(np.arange(T))
    assert camera_rows(people[0], cameras) is people[0]  # nothing to carry when the camera never moves
    together = into_one_world(people, cameras)
    np.testing.assert_array_equal(together[0]["world_from_camera"][LATE:], together[1]["world_from_camera"])
    assert np.allclose(together[0]["world_from_camera"], together[0]["world_from_camera"][0])
    a, b = _world_pelvis(together[0]), _world_pelvis(together[1])
    assert abs(_lowest(together[0])) < 0.03 and abs(_lowest(together[1])) < 0.03
    assert np.abs(a[0, :2]).max() < 1e-4 and np.abs(b[0, :2]).max() > 1.0  # the origin under person 1
