"""The camera's rotation through a clip, from the background, so camera motion stops reading as body motion.

Features are found on a keyframe with every person masked out (people.py), followed frame by
frame with pyramidal Lucas–Kanade (kept only when tracking back lands where they started), and
each frame's rotation *relative to its keyframe* is fitted to the keyframe↔frame bearings by
RANSAC over two-point rotations (Kabsch), then refined on the inliers. Measuring against the
keyframe rather than the previous frame keeps errors from adding up frame after frame; they only
add up at keyframe changes (when too few tracks survive), and the sum of those fits' own
uncertainties is reported as the drift estimate. People walking through the background break
few tracks and fall out as RANSAC outliers.

A clip whose rotation never exceeds STILL_DEG is a tripod shot: its rotations are set to the
identity exactly. A change of focal length (zoom) is measured as the radial scale left between
the rotation's prediction and the tracks, and reported (not compensated).

Every live track is followed, but a track that once disagrees with a frame's rotation takes no
further part in the rotation fits (people and things that move fall out for good); those tracks
are still recorded with the rest (`tracks`), because under a camera that travels, the near floor
points that disagree with a pure rotation are exactly what the travel pass (travel.py) needs.

Conventions: camera frame as in the results (x right, y down, z forward). `rotations[t]` maps
camera-t coordinates into camera-0 axes (p₀ = R_t p_t); this pass takes the camera as turning
about its centre; `centres` (camera-t centre in camera-0, metres) come from travel.py.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import cv2
import numpy as np

from ..request import DEFAULT_SEED

WORK_SIDE = 512  # the long side the frames are tracked at (px): enough for sub-0.1° rotations
MAX_CORNERS, MIN_DISTANCE = 500, 9
MIN_TRACKS = 60  # fewer live tracks than this (or half the keyframe's) starts a new keyframe
FORWARD_BACKWARD_PX = 0.7
INLIER_PX = 1.5  # a track agrees with a rotation when it lands within this of the prediction (work pixels)
RANSAC_HYPOTHESES = 256
STILL_DEG = 0.25  # a clip that never turns further than this is a still (tripod) camera
ZOOM_REPORT = 0.05  # a radial scale change above this is reported as a zoom (walking forward also scales a little)
PARALLAX_SHARE = 0.9  # below this share of tracks agreeing with a pure rotation, try a moving camera


@dataclass
class CameraPath:
    """What the solve found: one rotation per frame and how far to trust it."""

    rotations: np.ndarray  # (T, 3, 3) float64, camera-t → camera-0 axes
    still: bool
    inlier_ratio: float  # mean share of live tracks that agree with the fitted rotation
    drift_deg: float  # accumulated uncertainty of the keyframe chain (1 σ, degrees)
    zoom: float  # largest relative focal change against the first frame (0 = none)
    parallax_px: float  # median inlier residual left by the fitted rotation (work pixels)
    parallax_frames: int  # frames whose rotation came from the essential matrix (the camera also moved)
    keyframes: int
    seconds: float
    frames_without_fit: list[int] = field(default_factory=list)  # frames that kept the previous rotation
    # what the travel pass re-reads: per fitted frame (frame, its keyframe, keyframe px, frame px), every live track
    tracks: list[tuple[int, int, np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    work_focal: float = 0.0  # focal length and principal point of the tracked (shrunk) frames, px
    work_centre: tuple[float, float] = (0.0, 0.0)
    centres: np.ndarray | None = None  # (T, 3) camera centres in the first camera, metres; None: not solved
    travel: dict = field(default_factory=lambda: {"translation": "not solved (rotation only)"})

    def describe(self) -> dict:
        """The solve for results meta (docs/results-schema.md, `meta["camera"]`)."""
        angles = np.degrees(np.arccos(np.clip((np.trace(self.rotations, axis1=1, axis2=2) - 1) / 2, -1, 1)))
        return {"method": "klt-keyframes-rotation-ransac", "still": bool(self.still),
                "inlier_ratio": round(float(self.inlier_ratio), 3), "drift_deg": round(float(self.drift_deg), 3),
                "max_rotation_deg": round(float(angles.max()) if len(angles) else 0.0, 2),
                "zoom": round(float(self.zoom), 4),
                # a camera that travels scales the view by itself: the radial scale is its travel then, not a zoom
                "zoom_detected": bool(self.zoom > ZOOM_REPORT and self.centres is None),
                "parallax_px": round(float(self.parallax_px), 2), "parallax_frames": int(self.parallax_frames),
                **self.travel,
                "keyframes": int(self.keyframes), "frames_without_fit": self.frames_without_fit[:50],
                "seconds": round(float(self.seconds), 2)}


def kabsch(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """(..., 3, 3) rotations Q minimising Σ w |a − Q b|² for (..., n, 3) unit vectors."""
    w = np.ones(a.shape[:-1]) if w is None else w
    H = np.einsum("...n,...ni,...nj->...ij", w, a, b)
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.zeros(H.shape)
    D[..., 0, 0] = D[..., 1, 1] = 1.0
    D[..., 2, 2] = d
    return U @ D @ Vt


def fit_rotation(key: np.ndarray, now: np.ndarray, tolerance: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """Rotation Q with key ≈ Q now (unit bearings, (n, 3)) by RANSAC; (Q, inlier mask) or None."""
    n = len(key)
    if n < 8:
        return None
    pairs = rng.integers(0, n, size=(RANSAC_HYPOTHESES, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    Q = kabsch(key[pairs], now[pairs])  # (H, 3, 3)
    # |a − Q b|² = 2 − 2 aᵀQb for unit vectors: one matrix product scores every hypothesis
    cos = (key[:, :, None] * now[:, None, :]).reshape(n, 9) @ Q.reshape(-1, 9).T  # (n, H)
    agree = cos > 1.0 - 0.5 * tolerance**2
    inliers = agree[:, np.argmax(agree.sum(0))]
    for _ in range(2):  # refine on the inliers, then re-select them
        if inliers.sum() < 6:
            return None
        best = kabsch(key[inliers], now[inliers])
        inliers = np.linalg.norm(now @ best.T - key, axis=-1) < tolerance
    return best, inliers


def fit_with_parallax(key: np.ndarray, now: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Rotation Q (key ≈ Q now up to a translation) from the essential matrix, for tracks with parallax.

    A camera that also moves sideways shifts near points more than far ones; a pure rotation then
    fits only one depth and is biased. The essential matrix (RANSAC, five points) takes any
    translation; its direction is not needed here (no metric scale without more), only its rotation.
    """
    if len(key) < 12:
        return None
    a, b = now[:, :2] / now[:, 2:3], key[:, :2] / key[:, 2:3]
    E, mask = cv2.findEssentialMat(a, b, np.eye(3), cv2.RANSAC, 0.999, tolerance)
    if E is None or E.shape != (3, 3):
        return None
    _, Q, _, mask = cv2.recoverPose(E, a, b, np.eye(3), mask=mask)
    inliers = mask.ravel() > 0
    return (Q, inliers) if inliers.sum() >= 12 else None


def _bearings(points: np.ndarray, focal: float, centre: np.ndarray) -> np.ndarray:
    rays = np.concatenate([(points - centre) / focal, np.ones((len(points), 1))], axis=1)
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def _radial_scale(key_px: np.ndarray, now_px: np.ndarray, Q: np.ndarray, focal: float, centre: np.ndarray) -> float:
    """Focal ratio (now / key) left between the rotation's predicted positions and the tracks.

    The median of per-track distance ratios from the principal point, over tracks away from it
    (all tracks: a zoom is exactly what makes tracks disagree with a pure rotation).
    """
    pred = _bearings(key_px, focal, centre) @ Q  # keyframe bearings in the current camera's axes
    pred = focal * pred[:, :2] / pred[:, 2:3]
    far = np.linalg.norm(pred, axis=1)
    use = far > 0.2 * focal
    if use.sum() < 8:
        return 1.0
    return float(np.median(np.linalg.norm(now_px[use] - centre, axis=1) / far[use]))


def work_size(image_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) the frames are tracked at."""
    scale = min(1.0, WORK_SIDE / max(image_size))
    return int(round(image_size[0] * scale)), int(round(image_size[1] * scale))


def solve_camera(frames: Iterable[tuple[np.ndarray, np.ndarray | None]], focal_px: float,
                 principal_pt: tuple[float, float], image_size: tuple[int, int],
                 progress: Callable[[int], None] | None = None, seed: int = DEFAULT_SEED) -> CameraPath:
    """The camera's rotation on every frame of `frames`: (BGR image, person mask or None) pairs.

    The mask (nonzero where a person is) keeps features off people. Frames may come already
    shrunk to `work_size(image_size)` (cheaper); larger ones are shrunk here.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    size = work_size(image_size)
    scale = size[0] / image_size[0]
    focal, centre = focal_px * scale, np.asarray(principal_pt, float) * scale
    tolerance = INLIER_PX / focal
    lk = dict(winSize=(15, 15), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
    rotations: list[np.ndarray] = []
    ratios, residuals, missing = [], [], []
    drift_var, keyframes, zoom, parallax_frames = 0.0, 0, 0.0, 0
    key_rotation, key_scale = np.eye(3), 1.0
    key_pts = now_pts = agree = None  # agree: tracks that still take part in the rotation fits
    tracks: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    key_frame, keyframe_count = 0, 0
    prev_gray = None
    current, current_scale = np.eye(3), 1.0
    for t, (image, mask) in enumerate(frames):
        if image.shape[1] != size[0]:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        free = None
        if mask is not None:
            if mask.shape[1] != size[0]:
                mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
            free = mask == 0
        if prev_gray is not None and key_pts is not None and len(now_pts):
            moved, ok, _ = cv2.calcOpticalFlowPyrLK(prev_gray, gray, now_pts, None, **lk)
            back, ok2, _ = cv2.calcOpticalFlowPyrLK(gray, prev_gray, moved, None, **lk)
            good = (ok[:, 0] == 1) & (ok2[:, 0] == 1) & (np.linalg.norm(back - now_pts, axis=-1)[:, 0] < FORWARD_BACKWARD_PX)
            inside = (moved[:, 0, 0] >= 0) & (moved[:, 0, 0] < size[0] - 1) & (moved[:, 0, 1] >= 0) & (moved[:, 0, 1] < size[1] - 1)
            good &= inside
            if free is not None:
                xy = np.clip(np.round(moved[:, 0]).astype(int), 0, [size[0] - 1, size[1] - 1])
                good &= free[xy[:, 1], xy[:, 0]]
            key_pts, now_pts, agree = key_pts[good], moved[good], agree[good]
            key_a, now_a = key_pts[agree, 0], now_pts[agree, 0]
            fit = fit_rotation(_bearings(key_a, focal, centre), _bearings(now_a, focal, centre), tolerance, rng)
            if fit is not None and fit[1].mean() < PARALLAX_SHARE:  # a pure rotation explains too few tracks
                moved_too = fit_with_parallax(_bearings(key_a, focal, centre), _bearings(now_a, focal, centre),
                                              tolerance)
                if moved_too is not None and moved_too[1].mean() > fit[1].mean() + 0.05:
                    fit, parallax_frames = moved_too, parallax_frames + 1
            if fit is None:
                missing.append(t)  # keeps the previous rotation; a new keyframe starts here
            else:
                Q, inliers = fit
                current = key_rotation @ Q
                ratios.append(float(inliers.mean()))
                pred = _bearings(key_a[inliers], focal, centre) @ Q
                pred_px = focal * pred[:, :2] / pred[:, 2:3] + centre
                res = np.linalg.norm(pred_px - now_a[inliers], axis=-1)
                residuals.append(float(np.median(res)))
                current_scale = key_scale * _radial_scale(key_a, now_a, Q, focal, centre)
                zoom = max(zoom, abs(current_scale - 1.0))
                tracks.append((t, key_frame, key_pts[:, 0].copy(), now_pts[:, 0].copy()))
                agree[np.flatnonzero(agree)[~inliers]] = False
        rotations.append(current)
        live = 0 if agree is None else int(agree.sum())
        if key_pts is None or live < max(MIN_TRACKS, 0.5 * keyframe_count):
            if key_pts is not None and live >= 6:  # the handover's own uncertainty adds to the drift
                rms = float(np.sqrt(np.mean(residuals[-1:] or [INLIER_PX]) ** 2))
                drift_var += (rms / focal) ** 2 / live * 2.0
            corners = cv2.goodFeaturesToTrack(gray, MAX_CORNERS, 0.01, MIN_DISTANCE,
                                              mask=None if free is None else free.astype(np.uint8) * 255)
            key_pts = np.zeros((0, 1, 2), np.float32) if corners is None else corners.astype(np.float32)
            now_pts, agree = key_pts.copy(), np.ones(len(key_pts), bool)
            keyframe_count = len(key_pts)
            key_rotation, key_scale, key_frame = current, current_scale, t
            keyframes += 1
        prev_gray = gray
        if progress is not None:
            progress(t)
    R = np.stack(rotations) if rotations else np.zeros((0, 3, 3))
    angles = np.degrees(np.arccos(np.clip((np.trace(R, axis1=1, axis2=2) - 1) / 2, -1, 1))) if len(R) else np.zeros(0)
    still = bool(len(R) == 0 or angles.max() < STILL_DEG)
    if still:
        R = np.broadcast_to(np.eye(3), R.shape).copy()
    return CameraPath(R, still, float(np.mean(ratios)) if ratios else 1.0, float(np.degrees(np.sqrt(drift_var))),
                      zoom, float(np.median(residuals)) if residuals else 0.0, parallax_frames, keyframes,
                      time.perf_counter() - started, missing, tracks, focal, (float(centre[0]), float(centre[1])))
