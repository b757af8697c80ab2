"""The filters peers use, applied to the same per-frame output as the smoother (benchmark baselines).

All work on unit quaternions made sign-continuous over time (q and −q are one rotation), filter
each component, and renormalise; translations are filtered the same way per axis. Frames
without a pose hold the last pose (the filters know nothing of confidence).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter
from scipy.spatial.transform import Rotation


def _held(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    idx = np.maximum.accumulate(np.where(valid, np.arange(len(valid)), 0))
    first = np.flatnonzero(valid)[0] if valid.any() else 0
    return values[np.where(idx < first, first, idx)]


def to_quaternions(rotmats: np.ndarray) -> np.ndarray:
    """(T, J, 4) quaternions, each joint's sign chosen to follow the previous frame."""
    T, J = rotmats.shape[:2]
    q = Rotation.from_matrix(rotmats.reshape(-1, 3, 3).astype(np.float64)).as_quat().reshape(T, J, 4)
    for t in range(1, T):
        q[t] *= np.where((q[t] * q[t - 1]).sum(-1, keepdims=True) < 0, -1.0, 1.0)
    return q


def from_quaternions(q: np.ndarray) -> np.ndarray:
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return Rotation.from_quat(q.reshape(-1, 4)).as_matrix().reshape(q.shape[:-1] + (3, 3))


def gaussian(rotmats: np.ndarray, transl: np.ndarray, valid: np.ndarray, sigma: float):
    q = to_quaternions(_held(rotmats, valid))
    return (from_quaternions(gaussian_filter1d(q, sigma, axis=0, mode="nearest")),
            gaussian_filter1d(_held(transl, valid), sigma, axis=0, mode="nearest"))


def savitzky_golay(rotmats: np.ndarray, transl: np.ndarray, valid: np.ndarray, window: int, order: int = 2):
    window = min(window, len(valid) - (1 - len(valid) % 2))
    q = to_quaternions(_held(rotmats, valid))
    return (from_quaternions(savgol_filter(q, window, order, axis=0, mode="interp")),
            savgol_filter(_held(transl, valid), window, order, axis=0, mode="interp"))


def one_euro(x: np.ndarray, fps: float, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> np.ndarray:
    """The One-Euro filter (Casiez et al. 2012) along axis 0: cutoff = min_cutoff + beta·|dx/dt| (per component)."""
    def alpha(cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    out = np.empty_like(x)
    out[0] = x[0]
    dx = np.zeros_like(x[0])
    for t in range(1, len(x)):
        dx = dx + alpha(d_cutoff) * ((x[t] - out[t - 1]) * fps - dx)
        a = alpha(min_cutoff + beta * np.abs(dx))
        out[t] = out[t - 1] + a * (x[t] - out[t - 1])
    return out


def one_euro_rotations(rotmats: np.ndarray, transl: np.ndarray, valid: np.ndarray, fps: float,
                       min_cutoff: float, beta: float):
    q = to_quaternions(_held(rotmats, valid))
    return (from_quaternions(one_euro(q, fps, min_cutoff, beta)),
            one_euro(_held(transl, valid), fps, min_cutoff, beta))


# Small grids the benchmark searches; each baseline is reported at its best setting.
GRIDS = {
    "One-Euro": [dict(min_cutoff=c, beta=b) for c in (0.25, 0.5, 1.0, 2.0, 4.0) for b in (0.0, 0.1, 0.5, 2.0)],
    "Gaussian": [dict(sigma=s) for s in (0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)],
    "Savitzky-Golay": [dict(window=w) for w in (5, 7, 9, 13, 17, 21, 29)],
}


def run(name: str, rotmats: np.ndarray, transl: np.ndarray, valid: np.ndarray, fps: float, **params):
    if name == "One-Euro":
        return one_euro_rotations(rotmats, transl, valid, fps, **params)
    if name == "Gaussian":
        return gaussian(rotmats, transl, valid, **params)
    if name == "Savitzky-Golay":
        return savitzky_golay(rotmats, transl, valid, **params)
    raise KeyError(name)
