"""Bulk keyframe writing into an object's F-curves (their container comes from compat.channelbag).

One F-curve gets all its keys in a single `foreach_set`, instead of one `keyframe_insert` call per
key and channel; for a long clip that is the difference between a fraction of a second and minutes.
"""
from __future__ import annotations

from typing import Iterable

import bpy
import numpy as np

from . import compat

_INTERPOLATION = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items

# Where the F-curves live differs between Blender releases; compat hides it. Re-exported here because
# keyframe code reads naturally as keyframes.channelbag(rig).
channelbag, find_channelbag, new_curve = compat.channelbag, compat.find_channelbag, compat.new_fcurve


def write_curve(bag: bpy.types.ActionChannelbag, data_path: str, index: int, frames: np.ndarray,
                values: np.ndarray, group: str = "", interpolation: str = "LINEAR") -> bpy.types.FCurve:
    """Replace the F-curve (data_path, index) with one key per frame."""
    old = bag.fcurves.find(data_path, index=index)
    if old is not None:
        bag.fcurves.remove(old)
    fcurve = new_curve(bag, data_path, index, group)
    n = len(frames)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    points = fcurve.keyframe_points
    points.add(n)
    points.foreach_set("co", co)
    points.foreach_set("interpolation", np.full(n, _INTERPOLATION[interpolation].value, dtype=np.int32))
    fcurve.update()
    return fcurve


def write_vector(bag: bpy.types.ActionChannelbag, data_path: str, frames: np.ndarray, values: np.ndarray,
                 group: str = "", interpolation: str = "LINEAR") -> None:
    """One curve per component of a (N, k) array, e.g. a quaternion or a location."""
    for index in range(values.shape[1]):
        write_curve(bag, data_path, index, frames, values[:, index], group, interpolation)


def keys_at(fcurves: Iterable[bpy.types.FCurve], frame: float) -> list[tuple[bpy.types.FCurve, int | None]]:
    """For each curve, the index of its key on `frame` (None where it has none)."""
    found = []
    for fcurve in fcurves:
        points = fcurve.keyframe_points
        co = np.empty(2 * len(points), dtype=np.float32)
        points.foreach_get("co", co)
        hits = np.flatnonzero(np.abs(co[0::2] - frame) < 1e-3)
        found.append((fcurve, int(hits[0]) if len(hits) else None))
    return found


def set_key(fcurve: bpy.types.FCurve, key: int | None, frame: float, value: float,
            interpolation: str = "LINEAR") -> None:
    """Set the key on `frame` to `value`, adding one if the curve has none there."""
    if key is None:
        fcurve.keyframe_points.insert(frame, value, options={"FAST"}).interpolation = interpolation
    else:
        fcurve.keyframe_points[key].co.y = value
    fcurve.update()


def key_values(fcurve: bpy.types.FCurve) -> tuple[np.ndarray, np.ndarray]:
    """(frames, values) of every key of `fcurve`, in one foreach_get."""
    co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    return co[0::2].astype(np.float64), co[1::2].astype(np.float64)


def set_keys(fcurve: bpy.types.FCurve, frames: np.ndarray, values: np.ndarray, interpolation: str = "LINEAR") -> None:
    """Set the keys on `frames` to `values` in bulk, adding keys where the curve has none; keys on other
    frames are left exactly as they were."""
    frames, values = np.asarray(frames, np.float64), np.asarray(values, np.float64)
    if not len(frames):
        return
    points = fcurve.keyframe_points
    co = np.empty(2 * len(points), dtype=np.float32)
    points.foreach_get("co", co)
    existing = co[0::2]
    at = np.searchsorted(existing, frames - 1e-3)
    hit = (at < len(existing)) & (np.abs(existing[np.minimum(at, len(existing) - 1)] - frames) < 1e-3) \
        if len(existing) else np.zeros(len(frames), bool)
    if hit.any():
        co[1::2][at[hit]] = values[hit]
        points.foreach_set("co", co)
    for frame, value in zip(frames[~hit], values[~hit]):
        points.insert(float(frame), float(value), options={"FAST"}).interpolation = interpolation
    fcurve.update()
