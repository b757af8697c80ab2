"""The body's motion: posterior-mode rotations and root translation as keys on the rig.

Frames where the backend found no person (valid == False) get no key: Blender interpolates
across the gap from the neighbouring detections, which keeps the motion continuous, and the
`propose_valid` curve (see uncertainty.py) marks those frames so the colours show grey there.
"""
from __future__ import annotations

import bpy
import numpy as np

from . import axes, keyframes, rig as rig_module, rotations
from .names import WORLD  # noqa: F401 (callers read module.NAME too)


def set_world(rig: bpy.types.Object, rotation: np.ndarray, translation: np.ndarray) -> None:
    """Remember how the clip's camera frame sits in the world (see world.py)."""
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    rig[WORLD] = matrix.ravel().tolist()


def world_of(rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) with world = R @ camera point + t; a rig from before the floor-aligned world: camera at 0.

    A ghost answers for its rig.
    """
    owner = rig if WORLD in rig else (rig_module.rig_of(rig) or rig)
    stored = owner.get(WORLD)
    if stored is None:
        return axes.WORLD_FROM_CAMERA, np.zeros(3)
    matrix = np.asarray(list(stored), dtype=np.float64).reshape(4, 4)
    return matrix[:3, :3], matrix[:3, 3]


def bone_quaternions(rig: bpy.types.Object, local_rotmats: np.ndarray) -> np.ndarray:
    """(..., J, 3, 3) local rotations -> (..., J, 4) pose-bone quaternions of `rig` (J = 24: SMPL's
    joints; 54: with the fingers)."""
    rotation, _ = world_of(rig)
    rest = rig_module.rest_orientations(rig, np.shape(local_rotmats)[-3])
    return rotations.quaternions(axes.bone_rotations(local_rotmats, rest, rotation))


def _pelvis_world(rig: bpy.types.Object, transl: np.ndarray) -> np.ndarray:
    rotation, translation = world_of(rig)
    return np.asarray(transl, dtype=np.float64) @ rotation.T + translation


def floor_locations(rig: bpy.types.Object, transl: np.ndarray) -> np.ndarray:
    """(T, 3) camera-frame pelvis positions -> (T, 3) `root` bone locations: on the floor under the pelvis."""
    return _pelvis_world(rig, transl) * (1.0, 1.0, 0.0)


def root_locations(rig: bpy.types.Object, transl: np.ndarray) -> np.ndarray:
    """(T, 3) camera-frame pelvis positions -> (T, 3) pelvis pose-bone locations (its height over the root).

    Together with floor_locations (the `root` bone's keys) this puts the pelvis at `transl`.
    """
    pelvis_world = _pelvis_world(rig, transl)
    pelvis_rest = rig_module.rest_orientations(rig)[0]
    return (pelvis_world * (0.0, 0.0, 1.0) - rig_module.rest_root_head(rig)) @ pelvis_rest


def posed_joints(rig: bpy.types.Object, rotmats: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """(T, 24, 3) world positions of the joints the keys put there (forward kinematics, numpy)."""
    rotation, translation = world_of(rig)
    rest = rig_module.rest_heads(rig) @ axes.ARMATURE_FROM_SMPL  # armature -> SMPL rest frame
    parents = rig_module.joint_parents()
    local = np.asarray(rotmats, dtype=np.float64)[:, :len(parents)]  # the body's joints (fingers: not needed here)
    glob = np.empty_like(local)
    points = np.empty(local.shape[:2] + (3,))
    glob[:, 0], points[:, 0] = local[:, 0], transl
    for j in range(1, len(parents)):
        p = parents[j]
        glob[:, j] = glob[:, p] @ local[:, j]
        points[:, j] = points[:, p] + glob[:, p] @ (rest[j] - rest[p])
    return points @ rotation.T + translation


def write_motion(rig: bpy.types.Object, frames: np.ndarray, rotmats: np.ndarray, transl: np.ndarray) -> None:
    """Key every bone's rotation (rotmats (T, 24 or 54, 3, 3): with the fingers), the root's and
    pelvis' locations and the IK targets on `frames`."""
    bag = keyframes.channelbag(rig)
    quats = rotations.continuous(bone_quaternions(rig, rotmats), axis=0)  # (T, J, 4)
    names = rig_module.all_joint_names(rig)[:quats.shape[1]]
    for j, name in enumerate(names):
        keyframes.write_vector(bag, f'pose.bones["{name}"].rotation_quaternion', frames, quats[:, j], group=name)
    root, pelvis = floor_locations(rig, transl), root_locations(rig, transl)
    keyframes.write_vector(bag, f'pose.bones["{rig_module.ROOT_BONE}"].location', frames, root,
                           group=rig_module.ROOT_BONE)
    keyframes.write_vector(bag, f'pose.bones["{names[0]}"].location', frames, pelvis, group=names[0])
    for bone, locations in ik_target_locations(rig, rotmats, transl).items():
        keyframes.write_vector(bag, f'pose.bones["{bone}"].location', frames, locations, group=bone)


def ik_target_locations(rig: bpy.types.Object, rotmats: np.ndarray, transl: np.ndarray) -> dict[str, np.ndarray]:
    """IK bone -> (T, 3) locations that put each IK target on its FK joint (FK stays the keyed truth)."""
    joints = posed_joints(rig, rotmats, transl)
    root = floor_locations(rig, transl)
    names = rig_module.joint_names()
    out = {}
    for targets in rig_module.IK_SWITCHES.values():
        for joint in targets:
            bone = rig_module.ik_bone(joint)
            if bone not in rig.data.bones:  # a ghost or an older rig without IK targets
                continue
            head = np.array(rig.data.bones[bone].head_local)  # IK bones: parented to root, rest axes = world's
            out[bone] = joints[:, names.index(joint)] - root - head
    return out


def rotation_curves(rig: bpy.types.Object, bone: str) -> list[bpy.types.FCurve]:
    """The four rotation_quaternion curves of `bone` (w, x, y, z), created empty if missing."""
    bag = keyframes.channelbag(rig)
    path = f'pose.bones["{bone}"].rotation_quaternion'
    return [bag.fcurves.find(path, index=i) or keyframes.new_curve(bag, path, i, bone) for i in range(4)]


def set_pose_keys(rig: bpy.types.Object, frame: int, quats: np.ndarray) -> None:
    """Replace the rotation keys of the bones on `frame` with `quats` (24 or 54, 4); nothing else changes.

    Each quaternion takes the sign nearest to the key it replaces, so the curves stay continuous.
    """
    for j, name in enumerate(rig_module.all_joint_names(rig)[:len(quats)]):
        found = keyframes.keys_at(rotation_curves(rig, name), frame)
        current = np.array([fc.evaluate(frame) for fc, _ in found])
        q = rotations.aligned_to(quats[j], current) if np.linalg.norm(current) > 0 else quats[j]
        for (fcurve, key), value in zip(found, q):
            keyframes.set_key(fcurve, key, frame, float(value))
