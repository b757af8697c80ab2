"""The three coordinate frames the add-on converts between, in one place.

- SMPL rest frame: y up, the body faces +z, +x is the body's left.
- Camera frame of `transl` / `joints3d` (OpenCV): x right, y down, z forward. A posed SMPL body
  lives in this frame: its global orientation maps the rest frame into the camera.
- Blender: z up; a character faces -y (towards the front view) with its left on +x.

The rig's rest pose is built upright in Blender (ARMATURE_FROM_SMPL), while the posed body and
the camera live in the world through a world-from-camera rotation: WORLD_FROM_CAMERA for a level
camera looking along +y, in general the floor-aligned one of world.py. The pelvis bone's rotation
carries the difference.
"""
from __future__ import annotations

import numpy as np

# SMPL rest (x, y, z) -> Blender (x, -z, y): y-up becomes z-up, facing +z becomes facing -y.
ARMATURE_FROM_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# Camera (x right, y down, z forward) -> world (x right, z up, y forward).
WORLD_FROM_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# Blender cameras look along their local -z with +y up; OpenCV cameras along +z with y down.
CAMERA_OBJECT_ROTATION = WORLD_FROM_CAMERA @ np.diag([1.0, -1.0, -1.0])


def rest_points_to_armature(points: np.ndarray) -> np.ndarray:
    """(..., 3) points of the SMPL rest frame in armature space."""
    return np.asarray(points, dtype=np.float64) @ ARMATURE_FROM_SMPL.T


def bone_rotations(local: np.ndarray, bone_rest: np.ndarray,
                   world_from_camera: np.ndarray = WORLD_FROM_CAMERA) -> np.ndarray:
    """Pose-bone rotation matrices for SMPL local rotations.

    local: (..., 24, 3, 3) SMPL local rotations L_j; bone_rest: (24, 3, 3) rest orientation B_j of
    each bone in armature space. A child bone turns by B_j^T A L_j A^T B_j (A = ARMATURE_FROM_SMPL);
    the root turns by B_0^T W L_0 A^T B_0 (W = WORLD_FROM_CAMERA), which takes the upright rest
    pose into the world; W is the clip's world-from-camera rotation (world.py; level camera: the
    constant WORLD_FROM_CAMERA). Valid while the root bone above the pelvis is not rotated.
    """
    A, W = ARMATURE_FROM_SMPL, np.asarray(world_from_camera, dtype=np.float64)
    left = np.concatenate([W[None], np.repeat(A[None], len(bone_rest) - 1, axis=0)])  # (J, 3, 3)
    left_b = np.transpose(bone_rest, (0, 2, 1)) @ left  # B_j^T X_j
    right_b = A.T @ bone_rest  # A^T B_j
    return left_b @ np.asarray(local, dtype=np.float64) @ right_b  # broadcasts over the leading axes


def smpl_rotations(bone: np.ndarray, bone_rest: np.ndarray,
                   world_from_camera: np.ndarray = WORLD_FROM_CAMERA) -> np.ndarray:
    """SMPL local rotations (..., 24, 3, 3) of pose-bone rotation matrices: `bone_rotations` undone."""
    A, W = ARMATURE_FROM_SMPL, np.asarray(world_from_camera, dtype=np.float64)
    left = np.concatenate([W[None], np.repeat(A[None], len(bone_rest) - 1, axis=0)])
    return np.transpose(left, (0, 2, 1)) @ bone_rest @ np.asarray(bone, dtype=np.float64) \
        @ np.transpose(bone_rest, (0, 2, 1)) @ A
