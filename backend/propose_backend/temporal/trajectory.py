"""The root's path through the camera frame: a constant-velocity smoother per axis, with its own noise.

The estimators give no variance for the pelvis translation, so each axis' measurement noise is
estimated from the clip itself: white noise of standard deviation σ makes second differences
of variance 6σ², while true motion adds little at video rates, so σ ≈ 1.4826·MAD(Δ²x)/√6.
Depth (z) typically comes out several times noisier than x and y, and is smoothed accordingly.
Student-t reweighting keeps a depth jump of a bad frame from bending the path. The result is
the smoothed path and its posterior standard deviation per frame and axis (`transl_std`).
"""
from __future__ import annotations

import numpy as np

from ..request import DEFAULT_SMOOTH

ACCEL_NOISE = 4.0  # m²/s³: spectral density of the pelvis' white acceleration at strength 1
MIN_NOISE_M = 0.003  # a floor on the estimated measurement noise
ROBUST_DOF = 4.0


def measurement_noise(x: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(3,) robust per-axis noise standard deviation from second differences of observed frames."""
    pts = x[observed]
    if len(pts) < 4:
        return np.full(3, 0.05)
    d2 = pts[2:] - 2 * pts[1:-1] + pts[:-2]
    mad = np.median(np.abs(d2 - np.median(d2, axis=0)), axis=0)
    return np.maximum(1.4826 * mad / np.sqrt(6.0), MIN_NOISE_M)


def _pass(z: np.ndarray, r: np.ndarray, dt: np.ndarray, q: float, reset: np.ndarray):
    """RTS smoother of independent (position, velocity) states: z, r (T, 3) values and variances (inf = none)."""
    T = len(z)
    mf, Pf = np.zeros((T, 3, 2)), np.zeros((T, 3, 2, 2))
    m = np.zeros((3, 2))
    P = np.zeros((3, 2, 2))
    P[:, 0, 0], P[:, 1, 1] = 1e6, 1e2
    F_all = np.zeros((max(T - 1, 0), 2, 2))
    F_all[:, 0, 0] = F_all[:, 1, 1] = 1.0
    F_all[:, 0, 1] = dt
    Q_all = q * np.stack([np.stack([dt**3 / 3, dt**2 / 2], -1), np.stack([dt**2 / 2, dt], -1)], -2)
    Q_all[reset] = np.diag([1e6, 1e2])
    for t in range(T):
        if t > 0:
            F = F_all[t - 1]
            m = m @ F.T
            P = F @ P @ F.T + Q_all[t - 1]
        has = np.isfinite(r[t])
        gain = np.where(has, P[:, 0, 0] / (P[:, 0, 0] + np.where(has, r[t], 1.0)), 0.0)
        K = P[:, :, 0] * (gain / np.maximum(P[:, 0, 0], 1e-300))[:, None]
        m = m + K * np.where(has, z[t] - m[:, 0], 0.0)[:, None]
        P = P - K[:, :, None] * P[:, None, 0, :]
        mf[t], Pf[t] = m, P
    ms, Ps = mf.copy(), Pf.copy()
    for t in range(T - 2, -1, -1):
        F = F_all[t]
        Pp = F @ Pf[t] @ F.T + Q_all[t]
        J = Pf[t] @ F.T @ np.linalg.inv(Pp)
        ms[t] = mf[t] + np.einsum("aij,aj->ai", J, ms[t + 1] - mf[t] @ F.T)
        Ps[t] = Pf[t] + J @ (Ps[t + 1] - Pp) @ np.swapaxes(J, -1, -2)
    return ms[..., 0], np.sqrt(np.clip(Ps[..., 0, 0], 0.0, None))


def smooth_path(transl: np.ndarray, observed: np.ndarray, dt: np.ndarray, reset: np.ndarray,
                strength: float = DEFAULT_SMOOTH, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed translation (T, 3) and its standard deviation (T, 3), metres."""
    x = np.asarray(transl, dtype=np.float64)
    sigma = measurement_noise(x, observed)
    q = ACCEL_NOISE / max(strength, 1e-6) ** 2
    weights = np.ones_like(x)
    for _ in range(iterations):
        var = np.where(observed[:, None], sigma**2 / np.maximum(weights, 1e-6), np.inf)
        mean, std = _pass(x, var, dt, q, reset)
        r2 = ((x - mean) / sigma) ** 2
        weights = np.where(observed[:, None], np.minimum(1.0, (ROBUST_DOF + 1) / (ROBUST_DOF + r2)), 1.0)
    return mean, std
