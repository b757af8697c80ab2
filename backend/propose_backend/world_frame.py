"""The clip's world frame, one definition for the backend and the add-on (numpy + stdlib only).

World z is up (the floor's normal), the floor is z = 0, world y is the reference camera's viewing
direction laid flat on the floor (so a level camera looks along +y) and the floor point under
the anchor (the pelvis on the first frame with a person) is the origin. The reference camera is
the clip's first frame; with a moving camera every other frame's camera follows from the solve
(results field `world_from_camera`, docs/results-schema.md).
"""
from __future__ import annotations

import numpy as np


def world_from_floor(floor: np.ndarray, anchor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,)) with world = R @ camera_point + t, from a camera-frame floor plane
    (nx, ny, nz, d), n pointing up, and a camera-frame anchor point."""
    up = np.asarray(floor[:3], dtype=np.float64)
    up = up / np.linalg.norm(up)
    forward = np.array([0.0, 0.0, 1.0]) - up[2] * up
    if np.linalg.norm(forward) < 1e-6:  # camera looking straight down: any horizontal direction
        forward = np.array([0.0, -1.0, 0.0]) - up[1] * up
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    rotation = np.stack([right, forward, up])  # rows: world axes in camera coordinates
    anchor = np.asarray(anchor, dtype=np.float64)
    foot = anchor - (up @ anchor + floor[3]) * up
    return rotation, -rotation @ foot


def matrix(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """4×4 rigid transform from a rotation and a translation."""
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, translation
    return out


def relative_to_first(world_from_camera: np.ndarray) -> np.ndarray:
    """(T, 4, 4) camera-t → camera-0 transforms of a camera path: M[0]⁻¹ · M[t]."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    first = np.linalg.inv(m[0])
    return first[None] @ m


def is_still(world_from_camera: np.ndarray, degrees: float = 1e-3, metres: float = 1e-4) -> bool:
    """Whether a camera path never moves (a tripod shot, or a file without a solve)."""
    rel = relative_to_first(world_from_camera)
    cos = np.clip((np.trace(rel[:, :3, :3], axis1=1, axis2=2) - 1) / 2, -1, 1)
    return bool(np.degrees(np.arccos(cos)).max(initial=0) < degrees
                and np.linalg.norm(rel[:, :3, 3], axis=-1).max(initial=0) < metres)
