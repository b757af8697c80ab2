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


# (limb root, chain to the end effector) for the fidelity measure, in SMPL joint names
LIMBS = {
    "left hand": ("left_shoulder", "left_elbow", "left_wrist"),
    "right hand": ("right_shoulder", "right_elbow", "right_wrist"),
    "left foot": ("left_hip", "left_knee", "left_ankle"),
    "right foot": ("right_hip", "right_knee", "right_ankle"),
    "head": ("neck", "head"),
}


def _chain_length(heads: dict[str, np.ndarray], chain: tuple[str, ...]) -> float:
    return float(sum(np.linalg.norm(heads[b] - heads[a]) for a, b in zip(chain[:-1], chain[1:])))


def end_effector_errors(source: bpy.types.Object, source_map: dict[str, str], target: bpy.types.Object,
                        target_map: dict[str, str], frames: Iterable[int], facing: np.ndarray) -> dict[str, np.ndarray]:
    """Per limb, (T,) distance between the target's end effector and where the source's puts it.

    Expected: target limb root + (target limb length / source limb length) * facing @ (source end
    effector - source limb root), every position evaluated by Blender in world space.
    """
    frames = list(frames)
    joints = sorted({j for chain in LIMBS.values() for j in chain})
    src = world_heads(source, [source_map[j] for j in joints], frames)
    tgt = world_heads(target, [target_map[j] for j in joints], frames)
    src_rest = {j: np.array(source.matrix_world @ source.data.bones[source_map[j]].head_local) for j in joints}
    tgt_rest = {j: np.array(target.matrix_world @ target.data.bones[target_map[j]].head_local) for j in joints}
    index = {j: i for i, j in enumerate(joints)}
    errors = {}
    for limb, chain in LIMBS.items():
        ratio = _chain_length(tgt_rest, chain) / _chain_length(src_rest, chain)
        r, e = index[chain[0]], index[chain[-1]]
        expected = tgt[:, r] + ratio * (src[:, e] - src[:, r]) @ facing.T
        errors[limb] = np.linalg.norm(tgt[:, e] - expected, axis=-1)
    return errors
