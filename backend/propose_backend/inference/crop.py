"""Crops in, camera out: the square person crop the network sees, and the full-image camera.

Cropping follows the reference demo (docs/model.md, The camera and the crop): square box around the person enlarged ×1.25,
affine warp to 256×256 (bilinear, black outside the image), ImageNet normalisation.

The network's camera lives in the crop (f = 1000 px on 256 px, principal point at the crop
centre). The results need ONE fixed camera per clip that overlays the body on the footage, so
every frame is re-expressed in a full-image pinhole camera (focal F, principal point at the image
centre): a crop of side b around c is the full image seen with focal f_c = 1000·b/256 around c,
so the translation is rescaled in depth by F/f_c (size on screen preserved) and shifted
sideways so that the pelvis projects exactly where the network put it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor

from .. import geometry
from ..skeleton import CROP_SIZE, FOCAL_LENGTH_PX, IMAGENET_MEAN, IMAGENET_STD

BOX_SCALE = 1.25  # the reference enlarges the detected box by 25 % on every side length


@dataclass(frozen=True)
class CropBox:
    """The square image region the network sees: centre and side length, image pixels."""

    cx: float
    cy: float
    side: float

    @classmethod
    def around(cls, x: float, y: float, w: float, h: float, scale: float = BOX_SCALE) -> "CropBox":
        """Square crop around a person box (x, y, w, h): longer side × scale, same centre."""
        return cls(x + w / 2.0, y + h / 2.0, max(w, h, 1.0) * scale)

    def xywh(self) -> tuple[float, float, float, float]:
        return (self.cx - self.side / 2.0, self.cy - self.side / 2.0, self.side, self.side)

    def matrix(self) -> np.ndarray:
        """2×3 affine map from image pixels to crop pixels (box centre → crop centre)."""
        s = CROP_SIZE / self.side
        return np.array([[s, 0.0, CROP_SIZE / 2.0 - s * self.cx],
                         [0.0, s, CROP_SIZE / 2.0 - s * self.cy]])


def cut(image_bgr: np.ndarray, box: CropBox) -> np.ndarray:
    """The 256×256 RGB uint8 crop of a BGR frame (converting only the crop saves a full-frame pass)."""
    crop = cv2.warpAffine(image_bgr, box.matrix(), (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def normalize(crops: Tensor) -> Tensor:
    """(B, 256, 256, 3) uint8 RGB → (B, 3, 256, 256) float ImageNet-normalised, channels-last memory.

    Runs on whatever device the crops are on, so on CUDA only bytes cross the bus.
    """
    mean = torch.tensor(IMAGENET_MEAN, device=crops.device) * 255.0
    std = torch.tensor(IMAGENET_STD, device=crops.device) * 255.0
    return ((crops.float() - mean) / std).permute(0, 3, 1, 2)


@dataclass(frozen=True)
class ImageCamera:
    """Full-image pinhole camera: x right, y down, z forward; pixels with (0, 0) at the top-left corner."""

    focal_px: float
    principal_pt: tuple[float, float]

    @classmethod
    def for_image(cls, width: int, height: int, focal_px: float | None = None) -> "ImageCamera":
        """Principal point at the image centre; focal = `focal_px` or the image diagonal.

        The diagonal (≈ 53° diagonal field of view, a "normal" 43 mm lens on full frame) is a
        neutral guess for footage of unknown origin; pass the real focal length when known.
        """
        focal = math.hypot(width, height) if focal_px is None else float(focal_px)
        return cls(focal, (width / 2.0, height / 2.0))

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels of camera-frame points (..., 3) → (..., 2)."""
        return geometry.project(points, self.focal_px, self.principal_pt)


def crop_focal_px(boxes: np.ndarray) -> np.ndarray:
    """Focal length, in image pixels, of the network's crop camera for crops of these sides."""
    return FOCAL_LENGTH_PX * np.asarray(boxes, dtype=np.float64)[..., 2] / CROP_SIZE


def image_translation(crop_transl: np.ndarray, boxes: np.ndarray, camera: ImageCamera) -> np.ndarray:
    """Pelvis translation in the full-image camera, (B, 3), from the crop camera's (B, 3).

    boxes: (B, 3) crop boxes as (cx, cy, side). Depth scales by F / f_c; x and y are set so that
    the pelvis projects to c + f_c·(tx, ty)/tz, where the network's crop projection maps to.
    """
    t = np.asarray(crop_transl, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64)
    f_crop = crop_focal_px(boxes)
    tz = np.where(np.abs(t[:, 2]) < 1e-6, 1e-6, t[:, 2])
    depth = tz * camera.focal_px / f_crop
    pelvis_px = boxes[:, :2] + f_crop[:, None] * t[:, :2] / tz[:, None]
    lateral = (pelvis_px - np.asarray(camera.principal_pt)) * (depth / camera.focal_px)[:, None]
    return np.concatenate([lateral, depth[:, None]], axis=1)
