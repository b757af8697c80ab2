"""The camera's travel in metres, from the floor the feet stand on.

The rotation pass (solve.py) takes the camera as turning about its centre. A camera that also
moves (a dolly, an operator walking) shows parallax: near things shift more than far ones, and a
rotation alone absorbs the travel as a bias. The floor is known in metres from the body (its
feet over the clip, seen from the first frame's camera: normal n, camera height d), and points
on a plane move between two views by a homography H ∝ R − t nᵀ/d. So per frame:

1. keyframe tracks whose rays go down are floor candidates; a RANSAC homography keyframe → frame
   keeps those on the floor (walls, boxes and people fall out);
2. with n and d known, H gives the motion in closed form: directions in the floor plane are only
   turned (R v = s H v for v ⊥ n fixes the scale s and R), and t = d (R n − s H n);
3. the keyframe rays meet the floor at 3D points, and the frame's rotation and centre are refined
   together on them (reprojection error, Huber loss).

Frames are chained through the keyframes like the rotation pass (the keyframe's own solved pose
places its floor points). Frames without enough floor tracks keep the previous centre and the
rotation pass's turn. A clip is reported as travelling only when the travel is real: its centre
leaves a ball of MIN_TRAVEL_M and the joint fit explains the floor tracks clearly better than the
best pure rotation does (parallax); otherwise the rotation pass's path stays as it was.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.optimize import least_squares

from .solve import CameraPath, kabsch

MIN_FLOOR_TRACKS = 12
FLOOR_RANGE_M = 25.0  # floor points further than this pin nothing down
DOWNWARD = 0.05  # a floor candidate's ray goes down at least this steeply (cosine with the floor normal)
INLIER_PX = 2.0  # work pixels
MIN_TRAVEL_M = 0.05  # a path that never leaves a ball this size is a camera that only turned
PARALLAX_GAIN_PX = 0.3  # the joint fit must explain the floor tracks this much better than a rotation (median, px)


def _exp(w: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(w))
    if theta < 1e-12:
        return np.eye(3)
    k = w / theta
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K


def motion_from_homography(H: np.ndarray, n: np.ndarray, d: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(R, t) with x_t = R x_k + t for points on the plane n·x + d = 0 (camera-k coordinates), from
    the normalised-image homography H (x_t ∝ H x_k, any scale), or None when H is degenerate."""
    e1 = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    h1, h2 = H @ e1, H @ e2
    norms = np.linalg.norm(h1) + np.linalg.norm(h2)
    if not norms > 1e-9:
        return None
    s = 2.0 / norms * (1.0 if np.linalg.det(H) > 0 else -1.0)
    a = np.stack([s * h1, s * h2, np.cross(s * h1, s * h2)])
    b = np.stack([e1, e2, np.cross(e1, e2)])
    R = kabsch(a, b, np.array([1.0, 1.0, 1.0]))
    t = d * (R @ n - s * H @ n)  # s H = R − t nᵀ/d, so s H n = R n − t/d
    return R, t


def _project(points: np.ndarray, R: np.ndarray, c: np.ndarray, f: float, centre: np.ndarray) -> np.ndarray:
    p = (points - c) @ R  # camera-t coordinates: Rᵀ (X − c)
    return f * p[:, :2] / np.maximum(p[:, 2:3], 1e-3) + centre


def _rotation_only_px(points: np.ndarray, c: np.ndarray, seen: np.ndarray, f: float, centre: np.ndarray) -> float:
    """Median residual (px) of the best pure rotation about `c` for these points and observations."""
    a = points - c
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.concatenate([(seen - centre) / f, np.ones((len(seen), 1))], 1)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    R = kabsch(a, b)  # a ≈ R b: camera-t → camera-0 axes
    return float(np.median(np.linalg.norm(_project(points, R, c, f, centre) - seen, axis=1)))


def solve_travel(path: CameraPath, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(rotations (T, 3, 3), centres (T, 3) in metres, figures) of the camera in the first frame's
    camera, given the floor plane (nx, ny, nz, d) there (n up, n·x + d = 0, metres)."""
    n0, d0 = np.asarray(floor[:3], float), float(floor[3])
    scale = np.linalg.norm(n0)
    n0, d0 = n0 / scale, d0 / scale
    first = path.rotations
    T = len(first)
    R, c = first.copy(), np.zeros((T, 3))
    f, centre = path.work_focal, np.asarray(path.work_centre, float)
    entries = {t: (k, kp, now) for t, k, kp, now in path.tracks}
    pinned, gains, residuals = 0, [], []
    for t in range(1, T):
        R[t], c[t] = R[t - 1] @ first[t - 1].T @ first[t], c[t - 1]  # no evidence: the rotation pass's turn
        if t not in entries:
            continue
        k, key_px, now_px = entries[t]
        R[t] = R[k] @ first[k].T @ first[t]
        height = n0 @ c[k] + d0
        rays = np.concatenate([(key_px - centre) / f, np.ones((len(key_px), 1))], 1) @ R[k].T  # camera-0 axes
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        depth = -height / np.minimum(rays @ n0, -1e-9)
        use = (rays @ n0 < -DOWNWARD) & (depth < FLOOR_RANGE_M)
        if height < 0.2 or use.sum() < MIN_FLOOR_TRACKS:
            continue
        src, dst = (key_px[use] - centre) / f, (now_px[use] - centre) / f
        H, mask = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), cv2.RANSAC, INLIER_PX / f)
        if H is None or mask is None or mask.sum() < MIN_FLOOR_TRACKS:
            continue
        n_k, d_k = R[k].T @ n0, height  # the floor in camera-k coordinates
        motion = motion_from_homography(H, n_k, d_k)
        if motion is None:
            continue
        inliers = mask.ravel() > 0
        X = c[k] + depth[use][inliers, None] * rays[use][inliers]
        seen = now_px[use][inliers]
        Rt, tt = motion  # x_t = Rt x_k + tt
        R_init, c_init = R[k] @ Rt.T, c[k] - R[k] @ Rt.T @ tt
        if not np.all(np.isfinite(c_init)) or np.linalg.norm(c_init - c[t - 1]) > 0.5 * height:
            R_init, c_init = R[t], c[t - 1]  # an implausible jump: start from the rotation pass instead

        def residual(x: np.ndarray, R0: np.ndarray = R_init) -> np.ndarray:
            return (_project(X, R0 @ _exp(x[:3]), x[3:], f, centre) - seen).ravel()

        fit = least_squares(residual, np.concatenate([np.zeros(3), c_init]), loss="huber", f_scale=INLIER_PX)
        R[t], c[t] = R_init @ _exp(fit.x[:3]), fit.x[3:]
        joint = float(np.median(np.linalg.norm(fit.fun.reshape(-1, 2), axis=1)))
        residuals.append(joint)
        gains.append(_rotation_only_px(X, c[k], seen, f, centre) - joint)
        pinned += 1
    travelled = float(np.linalg.norm(c - c[0], axis=1).max()) if T else 0.0
    gain = float(np.median(gains)) if gains else 0.0
    info = {"travel_m": round(travelled, 3), "floor_frames": pinned, "parallax_gain_px": round(gain, 2),
            "floor_residual_px": round(float(np.median(residuals)), 2) if residuals else None}
    if travelled < MIN_TRAVEL_M or gain < PARALLAX_GAIN_PX:
        return first, np.zeros((T, 3)), {"translation": "none (no parallax: the camera only turned)", **info}
    return R, c, {"translation": "floor homography", **info}
