"""The scene's world: gravity-aligned, the floor at z = 0, the body's first floor point at the origin.

Schema-3 results carry the camera's pose in that world on every frame (`world_from_camera`,
solved by the backend from the footage); the rig then lives in the first frame's camera and
`in_reference` carries each frame's body into it. What follows is for older files.

The backend works in the camera's frame (x right, y down, z forward). An animator wants a world
where z is up, the floor is z = 0 and the character starts at the origin, with the camera placed
wherever it filmed from. The floor comes from the results' `floor` plane (temporal fusion writes
it) when present; otherwise it is estimated here from the feet over the clip: "up" is the median
direction of the trunk (pelvis to neck) and the floor height is the median over frames of the
lowest foot point along it (in most frames some foot stands on the floor). numpy only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .bridge import skeleton, world_frame

# points of the 35-point skeleton that can touch the floor: ankles, feet, toes and heels
_FOOT_POINTS = ("left_ankle", "right_ankle", "left_foot", "right_foot", "left_big_toe", "left_small_toe",
                "left_heel", "right_big_toe", "right_small_toe", "right_heel")


def _index(name: str) -> int:
    return list(skeleton().POINT_NAMES).index(name)


def camera_points(data: dict[str, Any]) -> np.ndarray:
    """(T, 35, 3) posed skeleton points in the camera frame."""
    return np.asarray(data["joints3d"], dtype=np.float64) + np.asarray(data["transl"], dtype=np.float64)[:, None]


def estimate_floor(data: dict[str, Any]) -> np.ndarray:
    """(4,) floor plane (nx, ny, nz, d) in the camera frame, n up, from the feet over the clip."""
    valid = np.asarray(data["valid"], dtype=bool)
    points = camera_points(data)[valid]
    if not len(points):
        return np.array([0.0, -1.0, 0.0, 1.0])
    trunk = points[:, _index("neck")] - points[:, _index("pelvis")]
    trunk /= np.maximum(np.linalg.norm(trunk, axis=1, keepdims=True), 1e-9)
    up = np.median(trunk, axis=0)
    if np.linalg.norm(up) < 1e-6:  # no trunk to go by: a level camera's up
        up = np.array([0.0, -1.0, 0.0])
    up /= np.linalg.norm(up)
    feet = points[:, [_index(n) for n in _FOOT_POINTS]]
    lowest = (feet @ up).min(axis=1)
    return np.append(up, -np.median(lowest))


def clip_floor(data: dict[str, Any]) -> tuple[np.ndarray, bool]:
    """(floor plane (4,), whether it came from the results) for the clip."""
    floor = data.get("floor")
    if floor is not None:
        floor = np.asarray(floor, dtype=np.float64).reshape(-1)
        if floor.shape == (4,) and np.all(np.isfinite(floor)) and np.linalg.norm(floor[:3]) > 0.5:
            return np.append(floor[:3], floor[3]) / np.linalg.norm(floor[:3]), True
    return estimate_floor(data), False


def world_from_camera(floor: np.ndarray, anchor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,)) with world = R @ camera_point + t (the backend's world_frame defines it)."""
    return world_frame().world_from_floor(floor, anchor)


def camera_path(data: dict[str, Any], still: bool = False) -> np.ndarray | None:
    """(T, 4, 4) world_from_camera of a file whose camera moves (schema 3), else None.

    None also when `still` (the animator's "Still camera" switch): the clip is then placed as a
    tripod shot, from the first frame's camera.
    """
    if still or "world_from_camera" not in data:
        return None
    path = np.asarray(data["world_from_camera"], dtype=np.float64)
    return None if world_frame().is_still(path) else path


def in_reference(data: dict[str, Any], still: bool = False) -> dict[str, Any]:
    """The results with the body carried from each frame's camera into the first frame's camera.

    The rig lives in one world-from-camera transform (the reference camera's); with a moving
    camera every frame's root rotation, pelvis, ghost roots and points are carried by
    A_t = M[0]⁻¹ M[t] first, so the body stands still where the ground does. Files without a
    moving camera come back unchanged.
    """
    path = camera_path(data, still)
    if path is None:
        return data
    rel = world_frame().relative_to_first(path)
    A, c = rel[:, :3, :3], rel[:, :3, 3]
    valid = np.asarray(data["valid"], dtype=bool)
    out = dict(data)
    rot = np.array(data["rotmats"], dtype=np.float64)
    rot[valid, 0] = A[valid] @ rot[valid, 0]
    out["rotmats"] = rot
    samples = np.array(data["samples"], dtype=np.float32)
    if samples.shape[1]:
        samples[valid, :, 0] = A[valid, None] @ samples[valid, :, 0]
    out["samples"] = samples
    transl = np.asarray(data["transl"], dtype=np.float64)
    out["transl"] = np.where(valid[:, None], np.einsum("tij,tj->ti", A, transl) + c, transl)
    out["joints3d"] = np.einsum("tij,tpj->tpi", A, np.asarray(data["joints3d"], dtype=np.float64))
    return out


def clip_world(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, bool]:
    """(R, t, floor from results?) of the clip's reference camera (its first frame).

    Schema 3 files carry the camera's world pose (world_from_camera); older ones are placed by
    their floor (world_from_camera above), anchored at the first person.
    """
    if "world_from_camera" in data:
        first = np.asarray(data["world_from_camera"], dtype=np.float64)[0]
        return first[:3, :3], first[:3, 3], True
    floor, given = clip_floor(data)
    valid = np.flatnonzero(np.asarray(data["valid"], dtype=bool))
    anchor = np.asarray(data["transl"], dtype=np.float64)[valid[0]] if len(valid) else np.zeros(3)
    rotation, translation = world_from_camera(floor, anchor)
    return rotation, translation, given
