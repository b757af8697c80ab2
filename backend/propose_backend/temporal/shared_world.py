"""Everyone in one world: the floor from all the people's feet, one camera path for all their files.

A multi-person run solves the camera once for the clip (every followed person masked out) and
smooths each person in their own file. Each file's world would then come from that person's feet
alone and be anchored at that person, so two people would stand in two worlds. Here the floor is
a plane fitted through everyone's standing feet (the lower foot of every frame, each person
weighing the same), in the clip's reference camera (its first frame, held still), the origin is put under the pelvis of the first person seen, and every file gets the same
world_from_camera on the same frame: W · A_t, with A_t the clip's camera-t → camera-0 transform.
Each file's `floor` is that one plane, written in the file's own first camera (as the schema says).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import world_frame
from . import ground, world


class ClipCameras:
    """The clip's camera-t → camera-0 transforms, looked up by source frame number."""

    def __init__(self, frames: np.ndarray, relative: np.ndarray | None = None) -> None:
        self.frames = np.asarray(frames, np.int64)
        self.relative = np.tile(np.eye(4), (len(self.frames), 1, 1)) if relative is None \
            else np.asarray(relative, np.float64)

    def at(self, frame_index: np.ndarray) -> np.ndarray:
        """(T, 4, 4) transforms of these frames (the nearest solved frame for any other)."""
        rows = np.clip(np.searchsorted(self.frames, np.asarray(frame_index, np.int64)), 0, len(self.frames) - 1)
        return self.relative[rows]


def _in_reference(data: dict[str, Any], cameras: ClipCameras) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 35, 3), pelvis (n, 3)) of a person's valid frames in the clip's reference camera."""
    valid = np.asarray(data["valid"], bool)
    A = cameras.at(np.asarray(data["frame_index"])[valid])
    transl = np.asarray(data["transl"], np.float64)[valid]
    points = np.asarray(data["joints3d"], np.float64)[valid] + transl[:, None]
    rot, shift = A[:, :3, :3], A[:, :3, 3]
    return (np.einsum("tij,tpj->tpi", rot, points) + shift[:, None],
            np.einsum("tij,tj->ti", rot, transl) + shift)


def shared_floor(people: list[dict[str, Any]], cameras: ClipCameras) -> tuple[np.ndarray, np.ndarray] | None:
    """(floor plane (4,), anchor (3,)) in the clip's reference camera from everyone's feet; None
    when fewer than three frames show anyone. The anchor is the pelvis of the earliest person."""
    placed = [(_in_reference(d, cameras), d) for d in people if np.asarray(d["valid"], bool).any()]
    if sum(len(p[0][1]) for p in placed) < 3:
        return None
    points = np.concatenate([p[0][0] for p in placed])
    pelvis = np.concatenate([p[0][1] for p in placed])
    up = ground.body_up(points - pelvis[:, None])
    soles = ground.soles(points, up)
    standing = soles[np.arange(len(soles)), np.argmin(soles @ up, axis=1)]  # the lower foot of each frame
    weight = np.concatenate([np.full(len(p[0][1]), 1.0 / len(p[0][1])) for p in placed])  # each person counts once
    keep = np.ones(len(standing), bool)
    for _ in range(3):  # a plane through everyone's feet (not its lowest share: that may be one person's line)
        w = weight * keep
        centre = (w[:, None] * standing).sum(0) / w.sum()
        spread = standing - centre
        cov = (w[:, None, None] * spread[:, :, None] * spread[:, None, :]).sum(0) / w.sum() \
            + ground.UP_PRIOR_M2 * (np.eye(3) - np.outer(up, up))
        normal = np.linalg.eigh(cov)[1][:, 0]
        normal *= np.sign(normal @ up)
        height = spread @ normal
        keep = np.abs(height) <= max(3.0 * 1.4826 * np.median(np.abs(height[keep])), 0.05)  # a foot in the air
    floor = np.append(normal, -(centre @ normal))
    first = min(placed, key=lambda p: int(np.asarray(p[1]["frame_index"])[np.asarray(p[1]["valid"], bool)][0]))
    return floor, first[0][1][0]


def into_one_world(people: list[dict[str, Any]], cameras: ClipCameras) -> list[dict[str, Any]]:
    """The people's results with one world: the same world_from_camera on the same frame in every
    file, and each file's `floor` the shared one (in the file's first camera). Unchanged when the
    feet give no floor (too few frames)."""
    found = shared_floor(people, cameras)
    if found is None:
        return people
    floor, anchor = found
    path = world.world_path(floor, anchor, None, 1)
    if path is None:
        return people
    W = path[0].astype(np.float64)
    out = []
    for data in people:
        A = cameras.at(np.asarray(data["frame_index"]))
        rot0, shift0 = A[0, :3, :3], A[0, :3, 3]
        own_floor = np.append(rot0.T @ floor[:3], floor[3] + floor[:3] @ shift0)  # in this file's first camera
        out.append(dict(data, world_from_camera=(W[None] @ A).astype(np.float32), floor=own_floor.astype(np.float32)))
    return out


def still(frames: np.ndarray) -> ClipCameras:
    """A tripod clip (or a single image): every frame's camera is the reference camera."""
    return ClipCameras(np.asarray(frames, np.int64))


def camera_rows(data: dict[str, Any], cameras: ClipCameras) -> dict[str, Any]:
    """A person's results with the clip's camera-t → camera-0 path on their rows (the smoother then
    works in the still world of the clip), unless the clip's camera never moves."""
    A = cameras.at(np.asarray(data["frame_index"]))
    if world_frame.is_still(A):
        return data
    return dict(data, world_from_camera=A.astype(np.float32))
