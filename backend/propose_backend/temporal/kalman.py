"""Forward–backward smoothing of rotation tracks on SO(3) with a constant-angular-velocity model.

Each track (one joint's world rotation over T frames) is an error-state Gaussian around a
reference trajectory R̄_t: R_t = R̄_t exp([δ_t]×), with state x_t = (δ_t, ω_t) (ω the body-frame
angular velocity, rad/s). The motion model is R_{t+1} = R_t exp(Δt·ω_t), ω_{t+1} = ω_t + noise
(white angular acceleration of spectral density q, rad²/s³); linearised around R̄ it reads
    δ_{t+1} = D_tᵀ δ_t + Δt ω_t − φ_t,   D_t = R̄_tᵀ R̄_{t+1},  φ_t = log D_t.
Each frame's matrix-Fisher posterior, expanded at its mode M_t, is the measurement
z_t = log(R̄_tᵀ M_t) = δ_t + noise with information W_t (zero where nothing was observed).
A Kalman filter runs forward, Rauch–Tung–Striebel backward; the reference is moved to the
smoothed track and the pass repeated (an iterated extended smoother), with Student-t weights
that shrink the information of frames far from the smoothed track (outliers are down-weighted,
not averaged in). Forward-filter backward-sample draws whole trajectories from the same model.

All tracks of a clip run at once (batched numpy); memory is O(T·N) small matrices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import axis_angle_to_matrix, matrix_to_axis_angle
from . import so3

INITIAL_ANGLE_STD = np.pi  # rad: the first frame's rotation before any measurement
INITIAL_RATE_STD = 6.0  # rad/s: the first frame's angular velocity
RESET_STD = 1e3  # a transition with this much noise decouples two segments


@dataclass
class SmoothedTracks:
    mode: np.ndarray  # (T, N, 3, 3) smoothed rotations
    cov: np.ndarray  # (T, N, 3, 3) smoothed tangent covariance at the mode, rad²
    weights: np.ndarray  # (T, N) robust weight each measurement got (1 = full, 0 = ignored)
    samples: np.ndarray | None  # (T, S, N, 3, 3) float32 trajectories drawn from the smoother's posterior


def _transition(D: np.ndarray, dt: float) -> np.ndarray:
    """(N, 6, 6) linearised transition for one step."""
    N = D.shape[0]
    A = np.zeros((N, 6, 6))
    A[:, :3, :3] = np.swapaxes(D, -1, -2)
    A[:, :3, 3:] = dt * np.eye(3)
    A[:, 3:, 3:] = np.eye(3)
    return A


def _process_noise(q: np.ndarray, dt: float, reset: bool) -> np.ndarray:
    """(N, 6, 6) noise of the integrated white-acceleration model over dt (q per track)."""
    if reset:
        return np.broadcast_to(np.eye(6) * RESET_STD**2, (len(q), 6, 6)).copy()
    block = np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    return q[:, None, None] * np.kron(block, np.eye(3))[None]


def _filter_and_smooth(ref: np.ndarray, z: np.ndarray, W: np.ndarray, dt: np.ndarray, reset: np.ndarray,
                       q: np.ndarray, num_samples: int, rng: np.random.Generator | None):
    """One linear pass around the reference: smoothed means/covariances (and samples) of x."""
    T, N = z.shape[:2]
    D = np.swapaxes(ref[:-1], -1, -2) @ ref[1:]
    phi = matrix_to_axis_angle(D) if T > 1 else np.zeros((0, N, 3))
    mf = np.zeros((T, N, 6))
    Pf = np.zeros((T, N, 6, 6))
    m = np.zeros((N, 6))
    P = np.broadcast_to(np.diag([INITIAL_ANGLE_STD**2] * 3 + [INITIAL_RATE_STD**2] * 3), (N, 6, 6)).copy()
    eye3 = np.eye(3)
    for t in range(T):
        if t > 0:
            A = _transition(D[t - 1], dt[t - 1])
            m = np.einsum("nij,nj->ni", A, m)
            m[:, :3] -= phi[t - 1]
            P = A @ P @ np.swapaxes(A, -1, -2) + _process_noise(q, dt[t - 1], bool(reset[t - 1]))
        Wt = W[t]
        C = P[:, :3, :3]
        K = P[:, :, :3] @ _inv3(Wt @ C + eye3) @ Wt  # P Hᵀ (C + W⁻¹)⁻¹, W may be singular
        m = m + np.einsum("nij,nj->ni", K, z[t] - m[:, :3])
        P = P - K @ P[:, :3, :]
        P = 0.5 * (P + np.swapaxes(P, -1, -2))
        mf[t], Pf[t] = m, P
    ms, Ps = mf.copy(), Pf.copy()
    draws = None
    if num_samples:
        draws = np.zeros((T, num_samples, N, 3))
        x = mf[-1][None] + np.einsum("nij,snj->sni", _chol(Pf[-1]), rng.standard_normal((num_samples, N, 6)))
        draws[-1] = x[..., :3]
    for t in range(T - 2, -1, -1):
        A = _transition(D[t], dt[t])
        Pp = A @ Pf[t] @ np.swapaxes(A, -1, -2) + _process_noise(q, dt[t], bool(reset[t]))
        mp = np.einsum("nij,nj->ni", A, mf[t])
        mp[:, :3] -= phi[t]
        J = Pf[t] @ np.swapaxes(A, -1, -2) @ _inv6(Pp)
        ms[t] = mf[t] + np.einsum("nij,nj->ni", J, ms[t + 1] - mp)
        Ps[t] = Pf[t] + J @ (Ps[t + 1] - Pp) @ np.swapaxes(J, -1, -2)
        if num_samples:
            cond = Pf[t] - J @ Pp @ np.swapaxes(J, -1, -2)
            x = (mf[t][None] + np.einsum("nij,snj->sni", J, x - mp[None])
                 + np.einsum("nij,snj->sni", _chol(cond), rng.standard_normal((num_samples, N, 6))))
            draws[t] = x[..., :3]
    return ms, Ps, draws


# The loops below call no LAPACK routine: on stacks of tiny matrices OpenBLAS's threading costs
# 20× the arithmetic on a busy machine, so inverses and factors are written out.

def _inv3(M: np.ndarray) -> np.ndarray:
    """Inverse of (N, 3, 3) matrices by the adjugate."""
    a, b, c = M[:, 0, 0], M[:, 0, 1], M[:, 0, 2]
    d, e, f = M[:, 1, 0], M[:, 1, 1], M[:, 1, 2]
    g, h, i = M[:, 2, 0], M[:, 2, 1], M[:, 2, 2]
    adj = np.stack([np.stack([e * i - f * h, c * h - b * i, b * f - c * e], -1),
                    np.stack([f * g - d * i, a * i - c * g, c * d - a * f], -1),
                    np.stack([d * h - e * g, b * g - a * h, a * e - b * d], -1)], -2)
    det = a * adj[:, 0, 0] + b * adj[:, 1, 0] + c * adj[:, 2, 0]
    return adj / det[:, None, None]


def _inv6(P: np.ndarray) -> np.ndarray:
    """Inverse of symmetric positive-definite (N, 6, 6) matrices through 3×3 blocks (Schur complement)."""
    A, B, D = P[:, :3, :3], P[:, :3, 3:], P[:, 3:, 3:]
    Ai = _inv3(A)
    AiB = Ai @ B
    Si = _inv3(D - np.swapaxes(B, -1, -2) @ AiB)
    out = np.empty_like(P)
    out[:, :3, 3:] = -AiB @ Si
    out[:, 3:, :3] = np.swapaxes(out[:, :3, 3:], -1, -2)
    out[:, :3, :3] = Ai + AiB @ Si @ np.swapaxes(AiB, -1, -2)
    out[:, 3:, 3:] = Si
    return out


def _chol(P: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of (N, n, n) covariances; semi-definite directions get a zero column."""
    n = P.shape[-1]
    P = 0.5 * (P + np.swapaxes(P, -1, -2))
    L = np.zeros_like(P)
    for j in range(n):
        pivot = P[:, j, j] - np.einsum("nk,nk->n", L[:, j, :j], L[:, j, :j])
        root = np.sqrt(np.clip(pivot, 0.0, None))
        L[:, j, j] = root
        safe = np.where(root > 1e-12, root, np.inf)
        for i in range(j + 1, n):
            L[:, i, j] = (P[:, i, j] - np.einsum("nk,nk->n", L[:, i, :j], L[:, j, :j])) / safe
    return L


def smooth_tracks(measured: np.ndarray, info: np.ndarray, dt: np.ndarray, q: np.ndarray | float,
                  reset: np.ndarray | None = None, iterations: int = 4, robust_dof: float = 4.0,
                  num_samples: int = 0, rng: np.random.Generator | None = None,
                  initial: np.ndarray | None = None) -> SmoothedTracks:
    """Smooth N rotation tracks of T frames.

    measured: (T, N, 3, 3) measurement modes (anything where info is zero); info: (T, N, 3, 3)
    tangent information of each measurement; dt: (T−1,) seconds per step; q: angular-acceleration
    noise (rad²/s³), scalar or per track; reset: (T−1,) True where a segment ends (no coupling);
    robust_dof: Student-t degrees of freedom of the measurement weights (inf = plain Gaussian);
    initial: (T, N, 3, 3) first reference (default: the measurements).
    """
    T, N = measured.shape[:2]
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), (N,)).copy()
    reset = np.zeros(max(T - 1, 0), bool) if reset is None else np.asarray(reset, bool)
    dt = np.asarray(dt, dtype=np.float64)
    info = np.asarray(info, dtype=np.float64)
    ref = so3.project(measured if initial is None else initial)
    weights = np.ones((T, N))
    observed = np.einsum("tnii->tn", info) > 0
    for it in range(iterations):
        z = matrix_to_axis_angle(np.swapaxes(ref, -1, -2) @ measured)
        W = info * weights[..., None, None]
        last = it == iterations - 1
        ms, Ps, draws = _filter_and_smooth(ref, z, W, dt, reset, q, num_samples if last else 0, rng)
        new_ref = ref @ axis_angle_to_matrix(ms[..., :3])
        if not last and np.isfinite(robust_dof):
            residual = matrix_to_axis_angle(np.swapaxes(new_ref, -1, -2) @ measured)
            r2 = np.einsum("tni,tnij,tnj->tn", residual, info, residual)
            weights = np.where(observed, (robust_dof + 3.0) / (robust_dof + r2), 1.0)
            weights = np.minimum(weights, 1.0)
        if last:
            samples = None
            if draws is not None:  # sample s at frame t: R̄_t exp(x_t), x drawn around the same reference
                samples = np.empty(draws.shape + (3,), np.float32)  # float32: what the results file stores
                for a in range(0, T, 512):
                    samples[a:a + 512] = ref[a:a + 512, None] @ axis_angle_to_matrix(draws[a:a + 512])
            # the covariance was computed in the tangent at R̄ exp(m); to first order it is the same there
            return SmoothedTracks(mode=so3.project(new_ref), cov=Ps[..., :3, :3], weights=weights,
                                  samples=samples)
        ref = so3.project(new_ref)
    raise ValueError("iterations must be at least 1")
