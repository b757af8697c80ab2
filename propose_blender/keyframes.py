"""Bulk keyframe writing through Blender's layered actions (Blender 4.4+, the only kind in 5.0).

One F-curve gets all its keys in a single `foreach_set`, instead of one `keyframe_insert` call per
key and channel; for a long clip that is the difference between a fraction of a second and minutes.
Blender 4.2 and 4.3 predate layered actions: there the action itself holds the F-curves and plays
the channelbag's part.
"""
from __future__ import annotations

from typing import Iterable

import bpy
import numpy as np

LAYER_NAME = "ProPose"
LAYERED = "slots" in bpy.types.Action.bl_rna.properties  # Blender >= 4.4
_INTERPOLATION = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items


def channelbag(obj: bpy.types.Object) -> bpy.types.ActionChannelbag:
    """The F-curve container of `obj`'s action, creating action, slot, layer and strip if needed."""
    anim = obj.animation_data or obj.animation_data_create()
    action = anim.action
    if action is None:
        action = bpy.data.actions.new(f"{obj.name} motion")
        anim.action = action
    if not LAYERED:
        return action
    slot = anim.action_slot
    if slot is None:
        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        anim.action_slot = slot
    layer = action.layers[0] if action.layers else action.layers.new(LAYER_NAME)
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def find_channelbag(obj: bpy.types.Object) -> bpy.types.ActionChannelbag | None:
    """The existing F-curve container of `obj`'s action, or None (never creates anything)."""
    anim = obj.animation_data
    if anim is None or anim.action is None:
        return None
    if not LAYERED:
        return anim.action
    if anim.action_slot is None:
        return None
    for layer in anim.action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(anim.action_slot)
            if bag is not None:
                return bag
    return None


def new_curve(bag: bpy.types.ActionChannelbag, data_path: str, index: int, group: str) -> bpy.types.FCurve:
    if LAYERED:
        return bag.fcurves.new(data_path, index=index, group_name=group)
    return bag.fcurves.new(data_path, index=index, action_group=group)


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
