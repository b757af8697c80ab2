"""Where the people are in a frame, so the camera solve tracks only the background.

Two sources, combined: MediaPipe's selfie segmentation (ships in the mediapipe wheel; it finds
everyone large enough, not only the performer) and the boxes the estimate already has (the
tracked person's crop, which also covers whoever they hold or touch). Both are grown a little:
a feature on a silhouette's edge moves with the person. Small distant people the segmenter
misses are few and fall out of the rotation fit as outliers.
"""
from __future__ import annotations

import os
import warnings

import cv2
import numpy as np

SEGMENT_SIDE = 256  # the segmenter's own input size: more pixels buy nothing
PERSON_THRESHOLD = 0.25
GROW_FRACTION = 0.02  # of the image's long side


class PeopleMasks:
    """Per-frame person masks (uint8, image size, 1 = person)."""

    def __init__(self, use_segmentation: bool = True) -> None:
        self._segmenter = None
        if use_segmentation:
            os.environ.setdefault("GLOG_minloglevel", "2")
            warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
            try:
                from mediapipe.python.solutions import selfie_segmentation
            except ImportError:  # the boxes alone still keep the performer out
                return
            self._segmenter = selfie_segmentation.SelfieSegmentation(model_selection=1)

    def mask(self, image_bgr: np.ndarray, boxes: list[tuple[float, float, float, float]] = ()) -> np.ndarray:
        height, width = image_bgr.shape[:2]
        out = np.zeros((height, width), np.uint8)
        if self._segmenter is not None:
            scale = SEGMENT_SIDE / max(height, width)
            small = cv2.resize(image_bgr, (max(1, int(width * scale)), max(1, int(height * scale))),
                               interpolation=cv2.INTER_AREA)
            found = self._segmenter.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)).segmentation_mask
            if found is not None:
                out = cv2.resize((found > PERSON_THRESHOLD).astype(np.uint8), (width, height),
                                 interpolation=cv2.INTER_NEAREST)
        for x, y, w, h in boxes:
            x0, y0 = max(0, int(x)), max(0, int(y))
            x1, y1 = min(width, int(np.ceil(x + w))), min(height, int(np.ceil(y + h)))
            if x1 > x0 and y1 > y0:
                out[y0:y1, x0:x1] = 1
        grow = max(1, int(GROW_FRACTION * max(height, width)))
        return cv2.dilate(out, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))

    def close(self) -> None:
        if self._segmenter is not None:
            self._segmenter.close()
            self._segmenter = None
