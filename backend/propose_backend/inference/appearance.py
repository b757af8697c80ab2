"""What a person looks like to the crowd tracker: colour histograms of their shirt.

Clothes tell people apart where motion cannot (a crossing, someone coming back into the picture):
hue and saturation of the torso, the region between shoulders and hips, compared by the
Bhattacharyya distance (0 = same colours, 1 = nothing in common). Light changes the value more than
the hue, so value is left out.
"""
from __future__ import annotations

import cv2
import numpy as np

HIST_BINS = (16, 8)  # hue, saturation
TORSO_MIN_WIDTH = 0.3  # of the torso's height: a side view's shirt
SMPL_TORSO = (16, 17, 1, 2)  # left and right shoulder, left and right hip in the estimates' joints
BLAZEPOSE_TORSO = (11, 12, 23, 24)  # the same in BlazePose's landmarks


def torso_histogram(image_bgr: np.ndarray, box: tuple[float, float, float, float],
                    torso: np.ndarray | None = None, hidden: np.ndarray | None = None) -> np.ndarray | None:
    """Normalised hue-saturation histogram of a person's torso (None: too small).

    `torso` (4, 2): shoulders and hips in pixels, when known: the region between them, narrowed,
    holds shirt alone (at least TORSO_MIN_WIDTH of its height wide: seen from the side, shoulders
    and hips line up); else the middle of the person box (which also catches some background).
    `hidden` (H, W) uint8, non-zero where someone else is known to stand in front: left out, so a
    half-hidden person is judged by what shows of them.
    """
    height, width = image_bgr.shape[:2]
    if torso is not None and np.isfinite(torso).all():
        (x0, y0), (x1, y1) = torso.min(axis=0), torso.max(axis=0)
        half = max(0.3 * (x1 - x0), 0.5 * TORSO_MIN_WIDTH * (y1 - y0))
        middle = (x0 + x1) / 2
        x0, x1, y0, y1 = int(max(0, middle - half)), int(min(width, middle + half)), int(max(0, y0)), int(min(height, y1))
    else:
        x, y, w, h = box
        x0, x1 = int(max(0, x + 0.3 * w)), int(min(width, x + 0.7 * w))
        y0, y1 = int(max(0, y + 0.2 * h)), int(min(height, y + 0.5 * h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    hsv = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    shown = None if hidden is None else np.where(hidden[y0:y1, x0:x1] > 0, 0, 255).astype(np.uint8)
    if shown is not None and np.count_nonzero(shown) < 16:
        return None
    hist = cv2.calcHist([hsv], [0, 1], shown, list(HIST_BINS), [0, 180, 0, 256]).astype(np.float32)
    total = float(hist.sum())
    return hist / total if total > 0 else None


def appearance_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """0 = same colours, 1 = nothing in common; 0.5 when either is unknown."""
    if a is None or b is None:
        return 0.5
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))
