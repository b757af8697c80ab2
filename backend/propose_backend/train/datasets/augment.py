"""Training-time augmentation of the crop (docs/training.md, Data): half-body, scale, rotation, flip, colour.

Only the random *decisions* live here, drawn from a per-sample generator so that a sample is a
pure function of (seed, epoch, index): any number of loader workers, any number of ranks and a
resumed run all see the same crops. `sample.py` applies the decisions to image and labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import AugmentConfig
from .record import LOWER_BODY_29, UPPER_BODY_29

HALF_BODY_MARGIN = 1.5  # the half-body box is this much larger than the visible joints


@dataclass(frozen=True)
class CropTransform:
    """Where and how one crop is cut. `center` refers to the (possibly mirrored) image."""

    center: np.ndarray  # (2,) pixels
    size: float  # side of the square box, pixels
    rotation_deg: float = 0.0
    flip: bool = False
    color_gain: np.ndarray | None = None  # (3,) RGB gains; None = unchanged

    def matrix(self, out_size: int) -> np.ndarray:
        """2×3 affine map image → crop: p' = k·Rot(r)(p − center) + out/2, k = out / size."""
        k = out_size / self.size
        r = np.deg2rad(self.rotation_deg)
        rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]]) * k
        offset = out_size / 2 - rot @ self.center
        return np.concatenate([rot, offset[:, None]], axis=1).astype(np.float32)

    def inverse_matrix(self, out_size: int) -> np.ndarray:
        """2×3 affine map crop → image (the target's `trans_inv`)."""
        return cv2.invertAffineTransform(self.matrix(out_size)).astype(np.float32)


def square_box(bbox: np.ndarray, enlarge: float) -> tuple[np.ndarray, float]:
    """Centre and side of the enlarged square around (xmin, ymin, xmax, ymax)."""
    center = np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], dtype=np.float64)
    size = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) * enlarge
    return center, float(max(size, 1.0))


def half_body_box(uv: np.ndarray, visible: np.ndarray, rng: np.random.Generator
                  ) -> tuple[np.ndarray, float] | None:
    """Box around the visible upper or lower body (picked at random), or None if too few joints.

    Teaches the network truncated people, whose pelvis may lie outside the crop.
    """
    upper = [j for j in UPPER_BODY_29 if visible[j]]
    lower = [j for j in LOWER_BODY_29 if visible[j]]
    chosen = upper if (rng.random() < 0.5 and len(upper) > 2) or len(lower) <= 2 else lower
    if len(chosen) < 2:
        return None
    points = uv[chosen]
    lo, hi = points.min(axis=0), points.max(axis=0)
    return (lo + hi) / 2, float(max(max(hi - lo) * HALF_BODY_MARGIN, 1.0))


def draw_transform(bbox: np.ndarray, enlarge: float, uv29: np.ndarray, visible29: np.ndarray,
                   image_width: int, config: AugmentConfig | None,
                   rng: np.random.Generator | None) -> CropTransform:
    """The crop for one sample; `config=None` gives the plain evaluation crop."""
    center, size = square_box(bbox, enlarge)
    if config is None or rng is None:
        return CropTransform(center=center, size=size)
    if visible29.sum() > config.half_body_min_joints and rng.random() < config.half_body_prob:
        half = half_body_box(uv29, visible29, rng)
        if half is not None:
            center, size = half
    f = config.scale_factor
    size *= float(np.clip(1 + f * rng.standard_normal(), 1 - f, 1 + f))
    rotation = 0.0
    if config.rotation_factor > 0 and rng.random() < config.rotation_prob:
        r = config.rotation_factor
        rotation = float(np.clip(r * rng.standard_normal(), -2 * r, 2 * r))
    flip = bool(config.flip and rng.random() < 0.5)
    if flip:
        center = np.array([image_width - 1 - center[0], center[1]])
    c = config.color_factor
    gain = rng.uniform(1 - c, 1 + c, size=3) if c > 0 else None
    return CropTransform(center=center, size=size, rotation_deg=rotation, flip=flip, color_gain=gain)
