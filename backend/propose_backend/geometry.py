"""Camera and rotation geometry shared by the backend: one pinhole projection, one axis-angle
conversion in numpy and in torch, the quaternion one in torch (the sampler's; the numpy quaternions
are the add-on's, propose_blender/rotations.py), and rotations along SMPL's tree (one pair of
functions for numpy arrays and torch tensors: the smoother, the posterior and training use them),
and the reflection of a posed body across the camera's vertical plane with its sides swapped
(mirrored footage).

Conventions: camera frame x right, y down, z forward (metres); quaternions (w, x, y, z); axis-angle
vectors are axis · angle in radians. numpy-only at import (scipy and torch load with the functions
that use them).
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .skeleton import FLIP_PAIRS_35, NUM_SMPL_JOINTS, SMPL_PARENTS

if TYPE_CHECKING:
    from torch import Tensor

MIN_DEPTH = 1e-6  # metres: points at or behind the camera plane are pushed onto it, never divided by 0


def project(points: np.ndarray, focal: float | np.ndarray, principal: tuple[float, float] | np.ndarray) -> np.ndarray:
    """Pixels (..., 2) of camera-frame points (..., 3) under a pinhole of focal length `focal`
    (pixels; an array broadcasts over the leading axes) and principal point `principal`."""
    points = np.asarray(points)
    z = points[..., 2:3]
    z = np.where(np.abs(z) < MIN_DEPTH, MIN_DEPTH, z)
    return points[..., :2] / z * np.asarray(focal)[..., None] + np.asarray(principal)


def ray_rotation(pixels: np.ndarray, focal: float | np.ndarray, principal: tuple[float, float] | np.ndarray) -> np.ndarray:
    """(..., 3, 3) the smallest rotation turning the optical axis onto the ray through `pixels` (..., 2).

    An estimator that sees only a crop judges a body's orientation as if it stood on the optical
    axis: it sees the body along the crop's ray. Turning such an orientation by this rotation
    gives it in the full camera (a walker 20° off-centre is otherwise turned 20° towards the camera).
    """
    uv = (np.asarray(pixels, np.float64) - np.asarray(principal, np.float64)) / np.asarray(focal, np.float64)[..., None]
    d = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    K = np.zeros(d.shape[:-1] + (3, 3))  # [z × d]×, z × d = (-d_y, d_x, 0)
    K[..., 0, 2], K[..., 1, 2] = d[..., 0], d[..., 1]
    K[..., 2, 0], K[..., 2, 1] = -d[..., 0], -d[..., 1]
    return np.eye(3) + K + K @ K / (1.0 + d[..., 2])[..., None, None]


def project_torch(points: "Tensor", focal: float, principal: tuple[float, float] | float) -> "Tensor":
    """`project` for tensors (differentiable), e.g. the network's crop camera."""
    import torch

    z = points[..., 2:3]
    z = torch.where(z.abs() < MIN_DEPTH, torch.full_like(z, MIN_DEPTH), z)
    return points[..., :2] / z * focal + torch.as_tensor(principal, dtype=points.dtype, device=points.device)


def axis_angle_to_matrix(vectors: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of axis-angle vectors (..., 3) (scipy's exponential map, batched)."""
    from scipy.spatial.transform import Rotation

    vectors = np.asarray(vectors, dtype=np.float64)
    return Rotation.from_rotvec(vectors.reshape(-1, 3)).as_matrix().reshape(*vectors.shape[:-1], 3, 3)


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """Axis-angle vectors (..., 3) of rotation matrices (..., 3, 3), angle in [0, π], also at 0 and 180°."""
    from scipy.spatial.transform import Rotation

    R = np.asarray(R, dtype=np.float64)
    return Rotation.from_matrix(R.reshape(-1, 3, 3)).as_rotvec().reshape(*R.shape[:-2], 3)


# The cross-product matrix [a]x of a unit axis a, as entries of (0, a, -a) (row-major, 3x3)
_CROSS_ENTRIES = (0, 6, 2, 3, 0, 4, 5, 1, 0)


def axis_angle_to_matrix_torch(vectors: "Tensor") -> "Tensor":
    """`axis_angle_to_matrix` for tensors of any leading shape (differentiable): Rodrigues'
    I + sin θ [a]x + (1 - cos θ) [a]x², with θ = |v + 1e-8| as smplx's batch_rodrigues takes it,
    whose numbers these are, in fewer tensor operations (the joint solves call it on tiny batches)."""
    import torch

    flat = vectors.reshape(-1, 3)
    angle = torch.linalg.vector_norm(flat + 1e-8, dim=1, keepdim=True)
    axis = flat / angle
    cross = torch.cat([torch.zeros_like(angle), axis, -axis], dim=1)
    K = cross.index_select(1, _table(_CROSS_ENTRIES, None, flat.device)).view(-1, 3, 3)
    eye = torch.eye(3, dtype=flat.dtype, device=flat.device)
    R = eye + torch.sin(angle)[..., None] * K + (1 - torch.cos(angle)[..., None]) * torch.bmm(K, K)
    return R.reshape(*vectors.shape[:-1], 3, 3)


def quaternion_to_matrix_torch(q: "Tensor") -> "Tensor":
    """Rotation matrices (..., 3, 3) of (w, x, y, z) quaternions (..., 4), normalised first (differentiable).

    Each entry is 1 - 2 (a² + b²) on the diagonal and 2 (ab ± cd) off it; all pairwise products
    come from one outer product (the samplers call this on tiny batches, where the number of
    tensor operations is the cost)."""
    import torch

    unit = q / q.norm(dim=-1, keepdim=True)
    products = (unit[..., :, None] * unit[..., None, :]).flatten(-2)  # (..., 16): index 4 i + j = q_i q_j
    pairs = (products.index_select(-1, _table(_QUATERNION_FIRST, None, q.device))
             + products.index_select(-1, _table(_QUATERNION_SECOND, None, q.device))
             * _table(_QUATERNION_SIGNS, q.dtype, q.device))
    twice = 2 * pairs
    return torch.where(_table(_DIAGONAL, None, q.device), 1 - twice, twice).unflatten(-1, (3, 3))


# quaternion_to_matrix_torch's entries (row-major): the two products each adds (q_i q_j at 4 i + j,
# with w, x, y, z = 0..3) and the sign of the second: yy + zz, xy - wz, xz + wy / xy + wz, xx + zz,
# yz - wx / xz - wy, yz + wx, xx + yy
_QUATERNION_FIRST = (10, 6, 7, 6, 5, 11, 7, 11, 5)
_QUATERNION_SECOND = (15, 3, 2, 3, 15, 1, 2, 1, 10)
_QUATERNION_SIGNS = (1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0)
_DIAGONAL = (True, False, False, False, True, False, False, False, True)


@lru_cache(maxsize=32)
def _table(values: tuple, dtype: "torch.dtype | None", device: "torch.device") -> "Tensor":
    """A constant tensor, made once per dtype and device."""
    import torch

    return torch.tensor(values, dtype=dtype, device=device)


# --- forward kinematics over SMPL's tree (numpy) -------------------------------------------------

def world_from_local(local: "np.ndarray | Tensor") -> "np.ndarray | Tensor":
    """World rotations G_j = G_parent L_j from local rotations (..., 24, 3, 3); an array or a tensor
    (differentiable) in, the same kind out."""
    world = [local[..., 0, :, :]]
    for j in range(1, NUM_SMPL_JOINTS):
        world.append(world[SMPL_PARENTS[j]] @ local[..., j, :, :])
    if isinstance(local, np.ndarray):
        return np.stack(world, axis=-3)
    import torch

    return torch.stack(world, dim=-3)


def world_of_joints(local: "Tensor", joints: "list[int]") -> "Tensor":
    """World rotations (..., len(joints), 3, 3) of a few joints of local rotations (..., 24, 3, 3):
    world_from_local's products along those joints' chains only (the same numbers, fewer of them)."""
    import torch

    needed: set[int] = set()
    for j in joints:
        while j >= 0 and j not in needed:
            needed.add(j)
            j = SMPL_PARENTS[j]
    world = {}
    for j in sorted(needed):  # parents come before their children in SMPL's order
        world[j] = local[..., 0, :, :] if j == 0 else world[SMPL_PARENTS[j]] @ local[..., j, :, :]
    return torch.stack([world[j] for j in joints], dim=-3)


def local_from_world(world: "np.ndarray | Tensor") -> "np.ndarray | Tensor":
    """Local rotations L_j = G_parentᵀ G_j (the root keeps its world rotation); array or tensor."""
    parents = [max(p, 0) for p in SMPL_PARENTS]
    local = world[..., parents, :, :].swapaxes(-1, -2) @ world
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


# --- mirrored footage: the scene reflected across the camera's vertical plane, sides swapped ------
# A mirror image shows a figure of the other handedness. Reflecting the whole scene across the
# camera's y-z plane (camera x -> -x) maps the camera to itself, and what it sees is the footage
# flipped left-right about the principal point: the real scene. So the figure reflected that way,
# its side labels swapped, is the person as they were (their handedness, facing the camera as they
# did), and it overlays the flipped footage exactly, under perspective too. X = diag(-1, 1, 1) in
# the camera; M = diag(-1, 1, 1) across the body's sagittal plane (SMPL's rest x is lateral). A posed
# joint's world rotation G_j becomes X G_σ(j) M, so local rotations become M L_σ(j) M (the root too:
# X = M as matrices) and root-relative ones X R̃_σ(j) X.
CAMERA_REFLECTION = np.diag([-1.0, 1.0, 1.0])
SIDE_REFLECTION = np.diag([-1.0, 1.0, 1.0])


def side_swap(count: int) -> np.ndarray:
    """Index order that swaps each left point with its right one among the first `count` (24 or 35)
    of the 35 points: `values[..., side_swap(n), :]` relabels a body as its mirror image."""
    order = np.arange(count)
    for a, b in FLIP_PAIRS_35:
        if b < count:
            order[a], order[b] = b, a
    return order


def _conjugate(A: np.ndarray, X: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A X B over the last two axes, in X's dtype, C-contiguous (smplx's skinning views it)."""
    return np.ascontiguousarray(A @ X.astype(np.float64) @ B, dtype=X.dtype)


def reflect_local_rotations(local: np.ndarray) -> np.ndarray:
    """Local rotations (..., 24, 3, 3) of the body reflected across the camera's vertical plane
    with its sides swapped (a pose's mode or its samples): the root X L_0 M, the others M L_σ(j) M."""
    swapped = local[..., side_swap(NUM_SMPL_JOINTS), :, :]
    out = _conjugate(SIDE_REFLECTION, swapped, SIDE_REFLECTION)
    out[..., 0, :, :] = _conjugate(CAMERA_REFLECTION, swapped[..., 0, :, :], SIDE_REFLECTION)
    return out


def reflect_posterior(F: np.ndarray) -> np.ndarray:
    """Matrix-Fisher parameters (..., 24, 3, 3) of the reflected body, the posterior's layout: the
    root's (over G_0) X F_0 M, the others' (over R̃_j = G_j G_0ᵀ) X F_σ(j) X. Each joint's spread is
    unchanged and moves with its side (a reflection preserves angles between rotations)."""
    swapped = F[..., side_swap(NUM_SMPL_JOINTS), :, :]
    out = _conjugate(CAMERA_REFLECTION, swapped, CAMERA_REFLECTION)
    out[..., 0, :, :] = _conjugate(CAMERA_REFLECTION, swapped[..., 0, :, :], SIDE_REFLECTION)
    return out


def reflect_points(points: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., N, 3), N = 24 or 35 (pelvis-relative or not), of the reflected
    body: x negated, sides swapped."""
    return np.ascontiguousarray(points[..., side_swap(points.shape[-2]), :] * np.diag(CAMERA_REFLECTION),
                                dtype=points.dtype)


def flip_pixels(pixels: np.ndarray, principal_x: float) -> np.ndarray:
    """Image points (..., 2) of the footage flipped left-right about the principal point: where a
    camera-frame point reflected across the camera's vertical plane projects (x -> 2 c_x - x)."""
    out = np.array(pixels, copy=True)
    out[..., 0] = 2.0 * principal_x - out[..., 0]
    return out


def flip_boxes(boxes: np.ndarray, principal_x: float) -> np.ndarray:
    """Boxes (..., 4) x, y, w, h on the footage flipped left-right about the principal point."""
    out = np.array(boxes, copy=True)
    out[..., 0] = 2.0 * principal_x - out[..., 0] - out[..., 2]
    return out
