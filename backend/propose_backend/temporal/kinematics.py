"""Forward kinematics in numpy from the results' own body arrays (whatever body produced them).

The 24 joints come from `rest_joints` and world rotations. The 11 surface points (face, toes,
heels) are carried rigidly by their parent joint (head or ankle) at the offset they had in the
per-frame estimate, taken as the median over frames in the parent's frame — so no vertex ids or
mesh details of a particular body are needed.
"""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..skeleton import NUM_SMPL_JOINTS, PARENTS, SMPL_PARENTS


def world_from_local(local: np.ndarray) -> np.ndarray:
    """World rotations G_j = G_parent L_j from local rotations (..., 24, 3, 3)."""
    world = np.empty_like(local)
    world[..., 0, :, :] = local[..., 0, :, :]
    for j in range(1, NUM_SMPL_JOINTS):
        world[..., j, :, :] = world[..., SMPL_PARENTS[j], :, :] @ local[..., j, :, :]
    return world


def local_from_world(world: np.ndarray) -> np.ndarray:
    """Local rotations L_j = G_parentᵀ G_j (the root keeps its world rotation)."""
    parents = [max(p, 0) for p in SMPL_PARENTS]
    local = np.swapaxes(world[..., parents, :, :], -1, -2) @ world
    local[..., 0, :, :] = world[..., 0, :, :]
    return local


def joint_positions(world: np.ndarray, rest_joints: np.ndarray) -> np.ndarray:
    """(..., 24, 3) joints relative to the pelvis in the camera frame, from world rotations."""
    bones = rest_joints[1:] - rest_joints[[max(p, 0) for p in SMPL_PARENTS[1:]]]
    out = np.zeros(world.shape[:-3] + (NUM_SMPL_JOINTS, 3))
    for j in range(1, NUM_SMPL_JOINTS):
        p = SMPL_PARENTS[j]
        out[..., j, :] = out[..., p, :] + np.einsum("...ik,k->...i", world[..., p, :, :], bones[j - 1])
    return out


def surface_offsets(world: np.ndarray, points35: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(11, 3) offset of each surface point in its parent joint's frame (median over valid frames)."""
    extra_parents = list(PARENTS[NUM_SMPL_JOINTS:])
    if not valid.any():
        return np.zeros((len(extra_parents), 3))
    rel = points35[valid, NUM_SMPL_JOINTS:] - points35[valid][:, extra_parents]
    local = np.einsum("tpji,tpj->tpi", world[valid][:, extra_parents], rel)
    return np.median(local, axis=0)


def points35(world: np.ndarray, rest_joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(..., 35, 3) pelvis-relative points: the 24 joints and the rigidly carried surface points."""
    joints = joint_positions(world, rest_joints)
    extra_parents = list(PARENTS[NUM_SMPL_JOINTS:])
    extra = joints[..., extra_parents, :] + np.einsum("...pij,pj->...pi", world[..., extra_parents, :, :], offsets)
    return np.concatenate([joints, extra], axis=-2)


def project(points: np.ndarray, transl: np.ndarray, focal: np.ndarray, principal: np.ndarray) -> np.ndarray:
    """Pixels of pelvis-relative points placed at `transl` in the full-image pinhole camera."""
    return geometry.project(points + transl[..., None, :], np.asarray(focal)[..., None],
                            np.asarray(principal)[..., None, :])
