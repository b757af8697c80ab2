"""An armature's keyed motion as world matrices over many frames, without stepping the scene.

Reading a source motion by `frame_set` would evaluate the whole scene (skinned meshes included)
once per frame; here the bones' F-curves are sampled and chained through the rest pose in numpy.
That is exact for ordinary parented bones (a ProPose rig, a BVH or FBX skeleton), the sources a
retarget reads; constraints on the source are not evaluated.
"""
from __future__ import annotations

import bpy
import numpy as np

from . import keyframes, rotations


def _euler_matrices(angles: np.ndarray, order: str) -> np.ndarray:
    """(T, 3) Euler angles in Blender's `order` (e.g. 'XYZ': X applied first) -> (T, 3, 3)."""
    def axis(index: int, a: np.ndarray) -> np.ndarray:
        c, s = np.cos(a), np.sin(a)
        m = np.zeros((len(a), 3, 3))
        i, j = [(1, 2), (2, 0), (0, 1)][index]
        m[:, index, index] = 1.0
        m[:, i, i], m[:, i, j], m[:, j, i], m[:, j, j] = c, -s, s, c
        return m
    out = np.broadcast_to(np.eye(3), (len(angles), 3, 3)).copy()
    for letter in order:
        k = "XYZ".index(letter)
        out = axis(k, angles[:, k]) @ out
    return out


def _axis_angle_matrices(values: np.ndarray) -> np.ndarray:
    """(T, 4) Blender axis-angle (angle, x, y, z) -> (T, 3, 3)."""
    half = values[:, :1] / 2
    axis = values[:, 1:] / np.maximum(np.linalg.norm(values[:, 1:], axis=1, keepdims=True), 1e-12)
    return rotations.matrices(np.concatenate([np.cos(half), np.sin(half) * axis], axis=1))


def _channel(bag, path: str, size: int, current, frames: np.ndarray) -> np.ndarray:
    """(T, size) values of a vector property: keyed where it has curves, its current value elsewhere."""
    out = np.tile(np.array(current, dtype=np.float64), (len(frames), 1))
    if bag is None:
        return out
    for index in range(size):
        curve = bag.fcurves.find(path, index=index)
        if curve is not None and len(curve.keyframe_points):
            out[:, index] = [curve.evaluate(float(f)) for f in frames]
    return out


def local_matrices(obj: bpy.types.Object, frames: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Bone names (parents first) and (T, B, 4, 4) pose-bone basis matrices on `frames`."""
    bag = keyframes.find_channelbag(obj)
    names = parents_first(obj)
    out = np.zeros((len(frames), len(names), 4, 4))
    out[..., 3, 3] = 1.0
    for b, name in enumerate(names):
        pose_bone = obj.pose.bones[name]
        base = f'pose.bones["{name}"].'
        mode = pose_bone.rotation_mode
        if mode == "QUATERNION":
            rot = rotations.matrices(_channel(bag, base + "rotation_quaternion", 4,
                                              pose_bone.rotation_quaternion, frames))
        elif mode == "AXIS_ANGLE":
            rot = _axis_angle_matrices(_channel(bag, base + "rotation_axis_angle", 4,
                                                pose_bone.rotation_axis_angle, frames))
        else:
            rot = _euler_matrices(_channel(bag, base + "rotation_euler", 3, pose_bone.rotation_euler, frames), mode)
        scale = _channel(bag, base + "scale", 3, pose_bone.scale, frames)
        out[:, b, :3, :3] = rot * scale[:, None, :]
        out[:, b, :3, 3] = _channel(bag, base + "location", 3, pose_bone.location, frames)
    return names, out


def parents_first(obj: bpy.types.Object) -> list[str]:
    """The armature's bone names ordered so every parent comes before its children."""
    order: list[str] = []
    pending = [b for b in obj.data.bones if b.parent is None]
    while pending:
        bone = pending.pop(0)
        order.append(bone.name)
        pending.extend(bone.children)
    return order


def world_matrices(obj: bpy.types.Object, frames: np.ndarray) -> dict[str, np.ndarray]:
    """Bone name -> (T, 4, 4) world matrix of the posed bone on each of `frames`.

    pose = parent pose @ (parent rest)^-1 @ rest @ basis, as Blender chains bones with the default
    inherit-rotation and inherit-scale settings. The object's own transform is taken as it is now.
    """
    names, basis = local_matrices(obj, np.asarray(frames, dtype=np.float64))
    rest = {n: np.array(obj.data.bones[n].matrix_local) for n in names}
    posed: dict[str, np.ndarray] = {}
    for b, name in enumerate(names):
        parent = obj.data.bones[name].parent
        if parent is None:
            posed[name] = rest[name] @ basis[:, b]
        else:
            posed[name] = posed[parent.name] @ (np.linalg.inv(rest[parent.name]) @ rest[name]) @ basis[:, b]
    world = np.array(obj.matrix_world)
    return {name: world @ matrix for name, matrix in posed.items()}
