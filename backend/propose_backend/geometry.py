"""Camera and rotation geometry shared by the backend: one pinhole projection, one axis-angle and
one quaternion conversion, in numpy and in torch.

Conventions: camera frame x right, y down, z forward (metres); quaternions (w, x, y, z); axis-angle
vectors are axis · angle in radians. numpy-only at import (torch loads with the torch functions).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

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


def project_torch(points: "Tensor", focal: float, principal: tuple[float, float] | float) -> "Tensor":
    """`project` for tensors (differentiable), e.g. the network's crop camera."""
    import torch

    z = points[..., 2:3]
    z = torch.where(z.abs() < MIN_DEPTH, torch.full_like(z, MIN_DEPTH), z)
    return points[..., :2] / z * focal + torch.as_tensor(principal, dtype=points.dtype, device=points.device)


def axis_angle_to_matrix(vectors: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of axis-angle vectors (..., 3) (Rodrigues' formula)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    angle = np.linalg.norm(vectors, axis=-1)[..., None, None]
    axis = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    x, y, z = np.moveaxis(axis, -1, 0)
    zero = np.zeros_like(x)
    K = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*axis.shape[:-1], 3, 3)
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)


def axis_angle_to_matrix_torch(vectors: "Tensor") -> "Tensor":
    """`axis_angle_to_matrix` for tensors of any leading shape, through smplx's Rodrigues."""
    from smplx.lbs import batch_rodrigues

    return batch_rodrigues(vectors.reshape(-1, 3)).reshape(*vectors.shape[:-1], 3, 3).to(vectors.dtype)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of (w, x, y, z) quaternions (..., 4), normalised first."""
    q = np.asarray(q, dtype=np.float64)
    w, x, y, z = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    return np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                     2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                     2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1
                    ).reshape(*q.shape[:-1], 3, 3)


def quaternion_to_matrix_torch(q: "Tensor") -> "Tensor":
    """`quaternion_to_matrix` for tensors (differentiable)."""
    import torch

    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    row0 = torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1)
    row1 = torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1)
    row2 = torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)
    return torch.stack([row0, row1, row2], -2)
