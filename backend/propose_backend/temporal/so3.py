"""SO(3) pieces the smoother needs, in numpy: exp/log maps, and matrix-Fisher <-> tangent Gaussian.

Rotations perturb on the right, R = R̄ exp([δ]×), so δ lives in the body frame of R̄. Near its
mode M = U'V'ᵀ a matrix-Fisher density exp(tr(FᵀR)) is, to second order, a Gaussian in δ with
information Ω = tr(A)·I − A, where A = Mᵀ F = V' diag(S') V'ᵀ (eigenvalues s2+s3, s1+s3, s1+s2).
The inverse map turns a smoothed Gaussian (mean M, covariance P) back into a matrix-Fisher:
with P⁻¹ = V diag(ω) Vᵀ, s_i = (ω_j + ω_k − ω_i)/2 and F = M V diag(s) Vᵀ. The exp/log maps are
geometry.axis_angle_to_matrix / matrix_to_axis_angle.
"""
from __future__ import annotations

import numpy as np


def project(matrices: np.ndarray) -> np.ndarray:
    """Nearest rotation of each (..., 3, 3) matrix (repairs float32 round-off)."""
    U, _, Vt = np.linalg.svd(np.asarray(matrices, dtype=np.float64))
    det = np.sign(np.linalg.det(U @ Vt))
    U = U.copy()
    U[..., :, 2] *= det[..., None]
    return U @ Vt


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geodesic angle between rotations a and b, degrees (from ‖a − b‖ = 2√2 sin(θ/2): exact near 0)."""
    chord = np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=(-2, -1))
    return np.degrees(2.0 * np.arcsin(np.clip(chord / (2.0 * np.sqrt(2.0)), 0.0, 1.0)))


def proper_svd(F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F = U diag(s) Vᵀ with det U = det V = +1 and s1 ≥ s2 ≥ |s3| (the sign of det F in s3)."""
    U, s, Vt = np.linalg.svd(np.asarray(F, dtype=np.float64))
    V = np.swapaxes(Vt, -1, -2).copy()
    U = U.copy()
    du, dv = np.sign(np.linalg.det(U)), np.sign(np.linalg.det(V))
    U[..., :, 2] *= du[..., None]
    V[..., :, 2] *= dv[..., None]
    s = s.copy()
    s[..., 2] *= du * dv
    return U, s, V


def fisher_to_gaussian(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mode (..., 3, 3) and tangent information Ω (..., 3, 3) of matrix-Fisher F at its mode."""
    U, s, V = proper_svd(F)
    mode = U @ np.swapaxes(V, -1, -2)
    omega = np.stack([s[..., 1] + s[..., 2], s[..., 0] + s[..., 2], s[..., 0] + s[..., 1]], -1)
    info = (V * np.maximum(omega, 0.0)[..., None, :]) @ np.swapaxes(V, -1, -2)
    return mode, info


def gaussian_to_fisher(mode: np.ndarray, cov: np.ndarray, max_info: float = 1e7) -> np.ndarray:
    """Matrix-Fisher parameter whose second-order expansion at `mode` has covariance `cov`."""
    w, V = np.linalg.eigh(np.linalg.inv(cov + 1e-12 * np.eye(3)))
    w = np.clip(w, 0.0, max_info)
    s = 0.5 * (w.sum(-1, keepdims=True) - 2.0 * w)  # s_i = (ω_j + ω_k − ω_i) / 2
    return mode @ ((V * s[..., None, :]) @ np.swapaxes(V, -1, -2))


def rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
