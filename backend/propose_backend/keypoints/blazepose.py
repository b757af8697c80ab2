"""MediaPipe BlazePose, run offline from the models inside the mediapipe wheel.

Only `model_complexity=1` ships in the wheel (0 and 2 would try to download), so that is fixed.
Landmark `visibility` is meaningful in the legacy API; `presence` reads 0 there and is unused.
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


class BlazePoseUnavailable(RuntimeError):
    """mediapipe is not installed (or cannot load its bundled models)."""


@dataclass
class PoseLandmarks:
    """One person's BlazePose output in full-image pixels and metres."""

    pixels: np.ndarray  # (33, 2) image x, y in pixels
    visibility: np.ndarray  # (33,) in [0, 1]
    world: np.ndarray  # (33, 3) metres, hip-centred, camera-aligned axes (x right, y down, z away)

    def box(self, min_visibility: float = 0.3) -> tuple[float, float, float, float]:
        """Tight x, y, w, h box around the landmarks that are likely in view."""
        seen = self.pixels[self.visibility >= min_visibility]
        pts = seen if len(seen) >= 4 else self.pixels
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


class BlazePose:
    """A BlazePose session. `video=True` lets it track between consecutive frames (faster)."""

    def __init__(self, video: bool = False, min_confidence: float = 0.5) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # keep mediapipe's C++ logging quiet
        # mediapipe 0.10.14 calls a protobuf API that newer protobuf marks deprecated
        warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated")
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as exc:
            raise BlazePoseUnavailable(
                "mediapipe is not installed, so BlazePose (person detection and instant mode) is "
                "unavailable. Install the pinned requirements (python dev.py setup).") from exc
        self._pose = mp_pose.Pose(static_image_mode=not video, model_complexity=1,
                                  min_detection_confidence=min_confidence,
                                  min_tracking_confidence=min_confidence)

    def __call__(self, rgb: np.ndarray) -> PoseLandmarks | None:
        """Landmarks of the most prominent person in an RGB uint8 image, or None."""
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        lm = result.pose_landmarks.landmark
        return PoseLandmarks(
            pixels=np.array([[p.x * w, p.y * h] for p in lm], dtype=np.float64),
            visibility=np.array([p.visibility for p in lm], dtype=np.float64),
            world=np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark], dtype=np.float64),
        )

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "BlazePose":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
