"""The body's motion: posterior-mode rotations and root translation as keys on the rig.

Frames where the backend found no person (valid == False) get no key: Blender interpolates
across the gap from the neighbouring detections, which keeps the motion continuous, and the
`propose_valid` curve (see uncertainty.py) marks those frames so the colours show grey there.
"""
from __future__ import annotations

import bpy
import numpy as np

from . import axes, keyframes, rig as rig_module, rotations


def bone_quaternions(rig: bpy.types.Object, local_rotmats: np.ndarray) -> np.ndarray:
    """(..., 24, 3, 3) SMPL local rotations -> (..., 24, 4) pose-bone quaternions of `rig`."""
    return rotations.quaternions(axes.bone_rotations(local_rotmats, rig_module.rest_orientations(rig)))


def root_locations(rig: bpy.types.Object, transl: np.ndarray) -> np.ndarray:
    """(T, 3) camera-frame pelvis positions -> (T, 3) root pose-bone locations."""
    orientations = rig_module.rest_orientations(rig)
    return axes.root_location(transl, rig_module.rest_root_head(rig), orientations[0])


def write_motion(rig: bpy.types.Object, frames: np.ndarray, rotmats: np.ndarray, transl: np.ndarray) -> None:
    """Key every bone's rotation and the root's location on `frames` (only frames with a person)."""
    bag = keyframes.channelbag(rig)
    quats = rotations.continuous(bone_quaternions(rig, rotmats), axis=0)  # (T, 24, 4)
    names = rig_module.joint_names()
    for j, name in enumerate(names):
        keyframes.write_vector(bag, f'pose.bones["{name}"].rotation_quaternion', frames, quats[:, j], group=name)
    keyframes.write_vector(bag, f'pose.bones["{names[0]}"].location', frames, root_locations(rig, transl),
                           group=names[0])


def rotation_curves(rig: bpy.types.Object, bone: str) -> list[bpy.types.FCurve]:
    """The four rotation_quaternion curves of `bone` (w, x, y, z), created empty if missing."""
    bag = keyframes.channelbag(rig)
    path = f'pose.bones["{bone}"].rotation_quaternion'
    return [bag.fcurves.find(path, index=i) or keyframes.new_curve(bag, path, i, bone) for i in range(4)]


def set_pose_keys(rig: bpy.types.Object, frame: int, quats: np.ndarray) -> None:
    """Replace the rotation keys of all 24 bones on `frame` with `quats` (24, 4); nothing else changes.

    Each quaternion takes the sign nearest to the key it replaces, so the curves stay continuous.
    """
    for j, name in enumerate(rig_module.joint_names()):
        found = keyframes.keys_at(rotation_curves(rig, name), frame)
        current = np.array([fc.evaluate(frame) for fc, _ in found])
        q = rotations.aligned_to(quats[j], current) if np.linalg.norm(current) > 0 else quats[j]
        for (fcurve, key), value in zip(found, q):
            keyframes.set_key(fcurve, key, frame, float(value))
