"""One annotated person in one image, the common currency of all six annotation sources.

The loaders of docs/training.md, Data each read their own file layout and hand over `PersonRecord`s in the
HybrIK-style joint sets the released recipe trains on (docs/training.md, Data): 29 SMPL(+leaf) joints, the 11
extra surface points and the 17 Human3.6M joints. Everything after loading (augmentation,
targets, evaluation) is source-independent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...skeleton import FLIP_PAIRS_24, NUM_SMPL_JOINTS

NUM_JOINTS_29 = 29  # 24 SMPL joints + head top, middle fingers, big toes (HybrIK's leaf joints)
NUM_EXTRA = 11  # points 24..34 of the 35-point skeleton, in the same order
NUM_H36M = 17

FLIP_PAIRS_29: tuple[tuple[int, int], ...] = FLIP_PAIRS_24 + ((25, 26), (27, 28))
FLIP_PAIRS_11: tuple[tuple[int, int], ...] = ((1, 2), (3, 4), (5, 8), (6, 9), (7, 10))
FLIP_PAIRS_17: tuple[tuple[int, int], ...] = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))

H36M_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle",
    "torso", "neck", "nose", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)

# Half-body augmentation picks one of these groups (indices into the 29-joint set).
UPPER_BODY_29: tuple[int, ...] = (6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26)
LOWER_BODY_29: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 7, 8, 10, 11, 27, 28)

DEFAULT_FOCAL_PX = 1000.0
DEFAULT_ROOT_MM = (0.0, 0.0, 3000.0)


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)


@dataclass
class PersonRecord:
    """Ground truth of one person. Pixel coordinates are in the full image; 3D is camera space, mm.

    `*_vis` arrays are per-coordinate weights (0 = unknown); a source fills what it knows.
    """

    image: Path
    image_size: tuple[int, int]  # (width, height)
    bbox: np.ndarray  # (4,) xmin, ymin, xmax, ymax
    source: str
    enlarge: float = 1.25  # square crop side = enlarge · max(box width, box height)
    uvd29: np.ndarray = field(default_factory=lambda: _zeros(NUM_JOINTS_29, 3))  # u, v px; d = depth − root depth, mm
    uvd29_vis: np.ndarray = field(default_factory=lambda: _zeros(NUM_JOINTS_29, 3))
    xyz29: np.ndarray = field(default_factory=lambda: _zeros(NUM_JOINTS_29, 3))
    xyz29_vis: np.ndarray = field(default_factory=lambda: _zeros(NUM_JOINTS_29, 3))
    uvd11: np.ndarray = field(default_factory=lambda: _zeros(NUM_EXTRA, 3))
    uvd11_vis: np.ndarray = field(default_factory=lambda: _zeros(NUM_EXTRA, 3))
    xyz11: np.ndarray = field(default_factory=lambda: _zeros(NUM_EXTRA, 3))
    xyz11_vis: np.ndarray = field(default_factory=lambda: _zeros(NUM_EXTRA, 3))
    xyz17: np.ndarray = field(default_factory=lambda: _zeros(NUM_H36M, 3))
    xyz17_vis: np.ndarray = field(default_factory=lambda: _zeros(NUM_H36M, 3))
    theta: np.ndarray = field(default_factory=lambda: _zeros(NUM_SMPL_JOINTS, 3))  # axis-angle, camera frame
    beta: np.ndarray = field(default_factory=lambda: _zeros(10))
    has_smpl: bool = False
    root_cam: np.ndarray = field(default_factory=lambda: np.array(DEFAULT_ROOT_MM, np.float32))
    focal: np.ndarray | None = None  # (fx, fy) px; None = DEFAULT_FOCAL_PX
    principal: np.ndarray | None = None  # (cx, cy) px; None = image centre
    extra_from_smpl: bool = False  # the 11 extra points are posed from theta/beta when sampled
    gender: str = "neutral"

    def intrinsics(self) -> np.ndarray:
        """3×3 camera matrix, with the reference's defaults where the source has no camera."""
        fx, fy = (DEFAULT_FOCAL_PX, DEFAULT_FOCAL_PX) if self.focal is None else self.focal
        width, height = self.image_size
        cx, cy = (width / 2, height / 2) if self.principal is None else self.principal
        return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float32)


def project(points_mm: np.ndarray, K: np.ndarray, root_depth_mm: float) -> np.ndarray:
    """Camera-space points → (u, v, depth − root depth) in pixels / mm."""
    z = np.maximum(points_mm[:, 2:3], 1e-6)
    uv = points_mm[:, :2] / z * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
    return np.concatenate([uv, points_mm[:, 2:3] - root_depth_mm], axis=1).astype(np.float32)


def xywh_to_xyxy(box: object, width: int, height: int) -> np.ndarray:
    """COCO (x, y, w, h) → (xmin, ymin, xmax, ymax), clipped to the image."""
    x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    return np.array([max(x, 0.0), max(y, 0.0), min(x + max(w - 1, 0), width - 1),
                     min(y + max(h - 1, 0), height - 1)], dtype=np.float32)


def box_is_usable(bbox: np.ndarray, min_size: float = 5.0) -> bool:
    """The reference drops boxes thinner than 5 px after clipping."""
    return bool(bbox[2] - bbox[0] > min_size and bbox[3] - bbox[1] > min_size)
