"""Blender's own evaluation of a rig's motion, for tests and benchmarks that compare two rigs.

Positions come from `scene.frame_set` and the evaluated pose bones, never from the add-on's own
maths, so a check built on them is independent of the code it checks.
"""
from __future__ import annotations

from typing import Iterable

import bpy
import numpy as np


def world_heads(obj: bpy.types.Object, bones: Iterable[str], frames: Iterable[int],
                space: str = "WORLD") -> np.ndarray:
    """(T, B, 3) head positions of `bones` of armature `obj` on each of `frames`.

    space "WORLD" includes the object's transform, "ARMATURE" leaves it out.
    """
    scene = bpy.context.scene
    bones = list(bones)
    out = []
    for frame in frames:
        scene.frame_set(int(frame))
        matrix = np.array(obj.matrix_world) if space == "WORLD" else np.eye(4)
        heads = np.array([obj.pose.bones[b].head for b in bones])
        out.append(heads @ matrix[:3, :3].T + matrix[:3, 3])
    return np.array(out)


def keyed_frames(obj: bpy.types.Object) -> tuple[int, int]:
    """First and last frame of the object's action."""
    start, end = obj.animation_data.action.frame_range
    return int(round(start)), int(round(end))
