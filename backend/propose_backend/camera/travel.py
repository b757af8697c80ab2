"""The camera's travel in metres, from the floor the feet stand on.

The rotation pass (solve.py) takes the camera as turning about its centre. A camera that also
moves (a dolly, an operator walking) shows parallax: near things shift more than far ones, and a
rotation alone absorbs the travel as a bias. Points on one plane, though, move between any two
views by a homography H ≃ R + t nᵀ, and homographies of the same plane chain exactly:
H(0→t) = H(k→t) · H(0→k). So per frame:

1. keyframe tracks whose rays go down (the floor from the body's feet, seen along the rotation
   pass's path) are floor candidates; a RANSAC homography keyframe → frame keeps those on the
   floor (walls, boxes and people fall out);
2. chained through the keyframes it gives the floor's homography from the first frame, whose
   decomposition (two-view plane geometry, OpenCV) is the camera's rotation, the floor normal as
   the image sees it and the travel in units of the first camera's height over the floor; of its
   solutions the one whose normal is nearest the feet's floor is kept;
3. that height, in metres from the body, makes the travel metric.

The image decides the rotation and the direction of travel (the feet's floor is a few degrees off:
forcing it onto the decomposition bends the rotation); the body only picks the solution and sets
the scale. A frame without enough floor tracks chains the rotation pass's turn. A clip is
reported as travelling only when the travel is real: its centre leaves a ball of MIN_TRAVEL_M and
the floor homographies explain the floor tracks clearly better than the best pure rotation does
(parallax); otherwise the rotation pass's path stays as it was.
"""
from __future__ import annotations

import cv2
import numpy as np

from .solve import CameraPath, kabsch

MIN_FLOOR_TRACKS = 12
FLOOR_RANGE_M = 25.0  # floor points further than this pin nothing down
DOWNWARD = 0.05  # a floor candidate's ray goes down at least this steeply (cosine with the floor normal)
INLIER_PX = 2.0  # work pixels
MIN_TRAVEL_M = 0.05  # a path that never leaves a ball this size is a camera that only turned
PARALLAX_GAIN_PX = 0.3  # the floor homographies must explain the floor tracks this much better than a rotation (median, px)


def motion_from_floor(H: np.ndarray, up: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """(rotation camera-t → camera-0, camera-t centre in camera-0 (metres)) from the floor's
    normalised-image homography H (x_t ≃ H x_0), the floor normal `up` (camera 0, roughly: it picks
    the solution) and the first camera's height over the floor (sets the scale)."""
    _, rotations, translations, normals = cv2.decomposeHomographyMat(H / np.cbrt(np.linalg.det(H)), np.eye(3))
    best = max(range(len(rotations)), key=lambda i: float(normals[i][:, 0] @ up))
    # H ≃ R + t nᵀ (t per unit of the plane's distance); for the solution with n ≈ up (the floor
    # reads upᵀx₀ = −height) camera t's centre, where x_t = 0, is height·Rᵀt in camera 0
    R, t = rotations[best], translations[best][:, 0]
    return R.T, height * R.T @ t


def _rotation_only_px(key: np.ndarray, now: np.ndarray, f: float) -> float:
    """Median residual (px) of the best pure rotation between normalised image points."""
    a = np.concatenate([key, np.ones((len(key), 1))], 1)
    b = np.concatenate([now, np.ones((len(now), 1))], 1)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    Q = kabsch(b, a)  # b ≈ Q a
    p = a @ Q.T
    return float(np.median(np.linalg.norm(f * (p[:, :2] / p[:, 2:3] - now), axis=1)))


def _homography_px(H: np.ndarray, key: np.ndarray, now: np.ndarray, f: float) -> float:
    p = np.concatenate([key, np.ones((len(key), 1))], 1) @ H.T
    return float(np.median(np.linalg.norm(f * (p[:, :2] / p[:, 2:3] - now), axis=1)))


def solve_travel(path: CameraPath, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(rotations (T, 3, 3), centres (T, 3) in metres, figures) of the camera in the first frame's
    camera, given the feet's floor plane (nx, ny, nz, d) there (n up, n·x + d = 0, metres)."""
    up, height = np.asarray(floor[:3], float), float(floor[3])
    up, height = up / np.linalg.norm(up), height / np.linalg.norm(up)
    first = path.rotations
    T = len(first)
    R, c = first.copy(), np.zeros((T, 3))
    f, centre = path.work_focal, np.asarray(path.work_centre, float)
    entries = {t: (k, kp, now) for t, k, kp, now in path.tracks}
    chained = {0: np.eye(3)}  # the floor's homography from the first frame
    pinned, gains = 0, []
    for t in range(1, T):
        if t not in entries:  # no fit: the rotation pass kept the previous rotation, and so does this
            chained[t], R[t], c[t] = chained[t - 1], R[t - 1], c[t - 1]
            continue
        k, key_px, now_px = entries[t]
        H = first[t].T @ first[k]  # without floor tracks: the rotation pass's turn, no travel
        rays = np.concatenate([(key_px - centre) / f, np.ones((len(key_px), 1))], 1) @ first[k].T
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        depth = (height + up @ c[k]) / np.maximum(-(rays @ up), 1e-9)  # along the ray to the floor
        use = (rays @ up < -DOWNWARD) & (depth < FLOOR_RANGE_M)
        if height > 0.2 and use.sum() >= MIN_FLOOR_TRACKS:
            src, dst = ((key_px[use] - centre) / f).astype(np.float64), ((now_px[use] - centre) / f).astype(np.float64)
            found, mask = cv2.findHomography(src, dst, cv2.RANSAC, INLIER_PX / f)
            if found is not None and mask is not None and mask.sum() >= MIN_FLOOR_TRACKS:
                inliers = mask.ravel() > 0
                H = found
                gains.append(_rotation_only_px(src[inliers], dst[inliers], f)
                             - _homography_px(H, src[inliers], dst[inliers], f))
                pinned += 1
        chained[t] = H @ chained[k]
        chained[t] /= np.cbrt(np.linalg.det(chained[t]))
        R[t], c[t] = motion_from_floor(chained[t], up, height)
    travelled = float(np.linalg.norm(c - c[0], axis=1).max()) if T else 0.0
    gain = float(np.median(gains)) if gains else 0.0
    info = {"travel_m": round(travelled, 3), "floor_frames": pinned, "parallax_gain_px": round(gain, 2)}
    if travelled < MIN_TRAVEL_M or gain < PARALLAX_GAIN_PX:
        return first, np.zeros((T, 3)), {"translation": "none (no parallax: the camera only turned)", **info}
    return R, c, {"translation": "floor homography", **info}
