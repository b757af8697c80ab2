"""Smoothing in the world, not in a moving camera: per-frame values into the first camera's frame and back.

With a camera that turns, a body standing still turns in the camera frame. The smoother, the
floor, the contacts and the foot locking all assume a frame the ground does not move in, so the
per-frame estimate is first carried into the *reference* frame — the first frame's camera,
held still — by each frame's camera-t → camera-0 transform A_t (from `world_from_camera`):
the root's rotation G₀ → A G₀, its matrix-Fisher parameter F₀ → A F₀ (so tr(F₀ᵀ G₀) keeps its
value), the root-relative posteriors F_j → A F_j Aᵀ, the pelvis p → A p + c, the points likewise.
After smoothing, the same map undone puts every camera-frame field back in its own camera, and
the gravity-aligned world (world_frame.py, from the floor found in the reference frame) gives
world_from_camera[t] = W · A_t.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import world_frame
from ..geometry import project
from . import ground


def relative_cameras(data: Mapping[str, Any]) -> np.ndarray | None:
    """(T, 4, 4) camera-t → reference transforms, or None when the file has no moving camera."""
    if "world_from_camera" not in data:
        return None
    m = np.asarray(data["world_from_camera"], dtype=np.float64)
    if world_frame.is_still(m):
        return None
    return world_frame.relative_to_first(m)


def to_reference(raw: Mapping[str, np.ndarray], rel: np.ndarray) -> dict[str, np.ndarray]:
    """The per-frame fields (RAW_FIELDS) seen from the reference camera (rows where valid)."""
    A, c = rel[:, :3, :3], rel[:, :3, 3]
    At = np.swapaxes(A, -1, -2)
    out = {k: np.array(v, copy=True) for k, v in raw.items()}
    rot = out["rotmats"].astype(np.float64)
    rot[:, 0] = A @ rot[:, 0]
    F = out["posterior_F"].astype(np.float64)
    F[:, 0] = A @ F[:, 0]
    F[:, 1:] = A[:, None] @ F[:, 1:] @ At[:, None]
    valid = np.asarray(out["valid"], bool)
    transl = np.einsum("tij,tj->ti", A, out["transl"].astype(np.float64)) + c
    out["transl"] = np.where(valid[:, None], transl, 0.0)
    out["joints3d"] = np.einsum("tij,tpj->tpi", A, out["joints3d"].astype(np.float64))
    out["rotmats"], out["posterior_F"] = np.where(valid[:, None, None, None], rot, 0.0), \
        np.where(valid[:, None, None, None], F, 0.0)
    return out


def to_cameras(out: dict[str, Any], rel: np.ndarray, rows: np.ndarray) -> None:
    """Smoothed reference-frame fields back into each frame's own camera (in place, rows only)."""
    A, c = rel[rows, :3, :3], rel[rows, :3, 3]
    At = np.swapaxes(A, -1, -2)
    rot = out["rotmats"][rows].astype(np.float64)
    rot[:, 0] = At @ rot[:, 0]
    out["rotmats"][rows] = rot
    F = out["posterior_F"][rows].astype(np.float64)
    F[:, 0] = At @ F[:, 0]
    F[:, 1:] = At[:, None] @ F[:, 1:] @ A[:, None]
    out["posterior_F"][rows] = F
    if out["samples"].shape[1]:
        samples = out["samples"][rows].astype(np.float64)
        samples[:, :, 0] = At[:, None] @ samples[:, :, 0]
        out["samples"][rows] = samples
    transl = np.einsum("tij,tj->ti", At, out["transl"][rows].astype(np.float64) - c)
    out["transl"][rows] = transl
    out["transl_std"][rows] = np.sqrt(np.einsum("tij,tj->ti", At**2, out["transl_std"][rows].astype(np.float64) ** 2))
    points = np.einsum("tij,tpj->tpi", At, out["joints3d"][rows].astype(np.float64))
    out["joints3d"][rows] = points
    focal = np.asarray(out["focal_px"], np.float64)[rows]
    principal = np.asarray(out["principal_pt"], np.float64)[rows]
    out["joints2d"][rows] = project(points + transl[:, None], focal[:, None], principal[:, None])


def world_path(floor: np.ndarray | None, anchor: np.ndarray, rel: np.ndarray | None, frames: int) -> np.ndarray | None:
    """(T, 4, 4) float32 world_from_camera: the gravity-aligned world (floor, anchor in the
    reference camera) times each frame's camera → reference transform; None without a usable floor
    (too few frames, or feet that give no plane: the camera path then stays relative)."""
    if floor is None or not np.all(np.isfinite(floor)) or not np.linalg.norm(floor[:3]) > 0.5 \
            or not np.all(np.isfinite(anchor)):
        return None
    W = world_frame.matrix(*world_frame.world_from_floor(floor, anchor))
    rel = np.tile(np.eye(4), (frames, 1, 1)) if rel is None else rel
    return (W[None] @ rel).astype(np.float32)


def floor_of_points(points: np.ndarray, path: np.ndarray, up_prior_m2: float | None = None) -> np.ndarray | None:
    """Floor plane (reference frame) of per-frame pelvis-relative points and pelvis path (no
    smoothing); `up_prior_m2` as in ground.fit_floor."""
    if len(path) < 3:
        return None
    up = ground.body_up(points)
    floor = ground.fit_floor(ground.soles(points + path[:, None], up), up, up_prior_m2=up_prior_m2)
    return -floor if floor[:3] @ path.mean(0) + floor[3] < 0 else floor


def align_unsmoothed(data: dict[str, Any]) -> dict[str, Any]:
    """A per-frame (unsmoothed) file's camera path put in the gravity-aligned world of its raw feet."""
    rel = relative_cameras(data)
    valid = np.asarray(data["valid"], bool)
    if not valid.any():
        return data
    raw = {k: np.asarray(data[k]) for k in ("valid", "rotmats", "posterior_F", "transl", "joints3d")}
    ref = to_reference(raw, rel) if rel is not None else raw
    floor = floor_of_points(ref["joints3d"][valid].astype(np.float64), ref["transl"][valid].astype(np.float64))
    path = world_path(floor, ref["transl"][valid][0], rel, len(valid))
    if path is not None:
        data["world_from_camera"] = path
    return data
