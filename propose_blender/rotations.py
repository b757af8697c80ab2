"""Rotation matrices <-> quaternions (w, x, y, z, Blender's order), vectorised in numpy."""
from __future__ import annotations

import numpy as np


def quaternions(matrices: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions with w >= 0.

    Takes the largest of the four candidate components as the pivot (Shepperd's method), so the
    result stays accurate near half turns where the trace formula loses precision.
    """
    m = np.asarray(matrices, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4 * squared components, each from the diagonal alone
    sq = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    pivot = np.argmax(sq, axis=-1)
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s21, s02, s10 = m[..., 2, 1] + m[..., 1, 2], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1]
    candidates = np.stack([
        np.stack([sq[..., 0], d21, d02, d10], -1),
        np.stack([d21, sq[..., 1], s10, s02], -1),
        np.stack([d02, s10, sq[..., 2], s21], -1),
        np.stack([d10, s02, s21, sq[..., 3]], -1),
    ], -2)  # row k is 4 * q_k * q, for pivot k
    q = np.take_along_axis(candidates, pivot[..., None, None], axis=-2)[..., 0, :]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def matrices(quats: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (w, x, y, z), not necessarily unit -> (..., 3, 3) rotation matrices."""
    q = np.asarray(quats, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def continuous(quats: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` so neighbours sit in the same hemisphere.

    q and -q are the same rotation, but F-curves interpolate components, and a sign jump between
    two keys would swing the bone the long way round in between.
    """
    q = np.moveaxis(np.asarray(quats, dtype=np.float64), axis, 0)
    # sign of q_t relative to q_{t-1}; the running product gives each key's flip from the first
    step = np.where(np.sum(q[1:] * q[:-1], axis=-1, keepdims=True) < 0, -1.0, 1.0)
    signs = np.concatenate([np.ones_like(q[:1, ..., :1]), np.cumprod(step, axis=0)])
    return np.moveaxis(q * signs, 0, axis)


def aligned_to(quats: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`quats` with each sign chosen to be nearest to the matching `reference` quaternion."""
    flip = np.sum(quats * reference, axis=-1, keepdims=True) < 0
    return np.where(flip, -quats, quats)


def slerp(start: np.ndarray, end: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Spherical interpolation of (..., 4) unit quaternions, weight (...) from 0 (start) to 1 (end),
    along the shorter arc (end's sign is chosen next to start)."""
    q0 = np.asarray(start, dtype=np.float64)
    q1 = aligned_to(np.asarray(end, dtype=np.float64), q0)
    w = np.asarray(weight, dtype=np.float64)[..., None]
    cos = np.clip(np.sum(q0 * q1, axis=-1, keepdims=True), -1.0, 1.0)
    angle = np.arccos(cos)
    sin = np.sin(angle)
    near = sin < 1e-6  # (almost) the same rotation: a straight line is exact enough
    a = np.where(near, 1.0 - w, np.sin((1.0 - w) * angle) / np.where(near, 1.0, sin))
    b = np.where(near, w, np.sin(w * angle) / np.where(near, 1.0, sin))
    q = a * q0 + b * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle (degrees) between quaternions (..., 4), not necessarily unit; accurate for tiny
    angles too (from the chord between the nearer signs, not from an arccos near 1)."""
    a = np.asarray(a, np.float64) / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = np.asarray(b, np.float64) / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    chord = np.minimum(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))
    return np.degrees(4.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)))


def arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector a onto unit vector b."""
    axis, cos = np.cross(a, b), float(np.clip(a @ b, -1.0, 1.0))
    if np.linalg.norm(axis) < 1e-9:
        if cos > 0:
            return np.eye(3)
        other = np.eye(3)[np.argmin(np.abs(a))]
        axis = np.cross(a, other)
    axis /= np.linalg.norm(axis)
    angle = np.arctan2(np.linalg.norm(np.cross(a, b)), cos)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
