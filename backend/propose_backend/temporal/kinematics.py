"""Forward kinematics in numpy from the results' own body arrays (whatever body produced them).

The 24 joints come from `rest_joints` and world rotations. The 11 surface points (face, toes,
heels) are carried rigidly by their parent joint (head or ankle) at the offset they had in the
per-frame estimate, taken as the median over frames in the parent's frame — so no vertex ids or
mesh details of a particular body are needed.
"""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..geometry import joint_positions, local_from_world, world_from_local  # noqa: F401 (the smoother's)
from ..skeleton import NUM_SMPL_JOINTS, PARENTS


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
