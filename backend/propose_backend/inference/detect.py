"""Finding the person: BlazePose, OpenCV's HOG people detector, a user box, or the full frame.

Nothing here downloads anything. BlazePose (MediaPipe's legacy `solutions.pose`, whose detector
and landmark model ship inside the wheel; only model_complexity=1 is bundled) is the default;
HOG, built into OpenCV, is the always-available fallback. A BlazePose detection keeps its 33
landmarks, image and metric, so a keypoint-based estimator can reuse them without a second pass.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..request import DETECTORS
from .errors import InferenceError

log = logging.getLogger(__name__)

POINT_BOX_MARGIN = 0.1  # joints/landmarks lie inside the body: pad their extent to the outline
HOG_MAX_SIDE = 640  # HOG is slow on big frames; people stay above its 128-px window at this size
HOG_WINDOW = (64, 128)  # width, height; OpenCV crashes on images smaller than the window
HOG_MIN_SCORE = 0.5
# BlazePose's detector misses people who fill the frame (close-ups, a person cut by the edge):
# on a still, a miss is retried once with this much black border around the frame (fraction of
# the longer side), which gives the detector the context it was trained with.
CLOSE_UP_BORDER = 0.25
# HOG's 64×128 window holds a person of about 40×96 px in its middle.
HOG_PERSON_FRACTION = (0.625, 0.75)


@dataclass
class Detection:
    """One person found in a frame."""

    box: tuple[float, float, float, float]  # tight person box x, y, w, h in image pixels
    score: float
    source: str  # "blazepose", "hog", "user" or "full-frame"
    # BlazePose only, (33, 4) each: pose_landmarks (x, y normalised by image width/height, z on
    # x's scale relative to the hips, visibility) and pose_world_landmarks (x, y, z metres from
    # the hip centre, visibility).
    landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None


class PersonDetector(Protocol):
    """Finds people in a BGR frame, best first (empty list: nobody)."""

    name: str

    def detect(self, image_bgr: np.ndarray) -> list[Detection]: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def _native_stderr_silenced():
    """Mute C++ writes to stderr (file descriptor 2), which Python's own redirection cannot reach."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def clip_box(box: tuple[float, ...], width: int, height: int) -> tuple[float, float, float, float]:
    """A box (x, y, w, h) clipped to the picture (BlazePose extrapolates limbs beyond its edges)."""
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    x1, y1 = min(float(width), box[0] + box[2]), min(float(height), box[1] + box[3])
    return (x0, y0, max(1.0, x1 - x0), max(1.0, y1 - y0))


def box_from_points(points: np.ndarray) -> tuple[float, float, float, float]:
    """Person box around 2D keypoints (N, 2), padded so it covers the body outline, not just joints."""
    points = points[np.isfinite(points).all(axis=-1)]
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = POINT_BOX_MARGIN * float(max(hi - lo))
    return (float(lo[0] - pad), float(lo[1] - pad), float(hi[0] - lo[0] + 2 * pad), float(hi[1] - lo[1] + 2 * pad))


class BlazePoseDetector:
    """MediaPipe BlazePose, full model (model_complexity=1, the only one in the wheel).

    `video=True` lets BlazePose track its own region between consecutive frames (cheaper);
    use it only when every frame of a clip is passed in order. `border`: room added round every
    frame (share of its longer side), for pictures a person fills (a person's crop, followed in video
    mode, where the close-up retry of a still cannot run without resetting the track).
    """

    name = "blazepose"

    def __init__(self, video: bool = False, border: float = 0.0) -> None:
        self.video = video
        self.border = border
        os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging off the terminal
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
        try:
            from mediapipe.python.solutions import pose
        except ImportError as exc:
            raise InferenceError("internal", f"BlazePose needs the mediapipe package ({exc}); install the "
                                             "backend requirements, or choose --detector hog.") from exc
        self._pose = pose.Pose(static_image_mode=not video, model_complexity=1, enable_segmentation=False)
        with _native_stderr_silenced():  # TFLite and absl announce themselves on the first frame
            self._pose.process(np.zeros((64, 64, 3), np.uint8))

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        height, width = image_bgr.shape[:2]
        found = self._landmarks(image_bgr, int(round(self.border * max(height, width))))
        if found is None and not self.video and not self.border:  # a still: retry a close-up with room around it
            found = self._landmarks(image_bgr, int(round(CLOSE_UP_BORDER * max(height, width))))
        if found is None:
            return []
        landmarks, world = found
        box = box_from_points(landmarks[:, :2] * np.array([width, height], np.float32))
        return [Detection(box, float(landmarks[:, 3].mean()), self.name, landmarks, world)]

    def _landmarks(self, image_bgr: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(image landmarks normalised by the unpadded frame, world landmarks), each (33, 4), or None."""
        height, width = image_bgr.shape[:2]
        padded = cv2.copyMakeBorder(image_bgr, border, border, border, border, cv2.BORDER_CONSTANT) \
            if border else image_bgr
        result = self._pose.process(cv2.cvtColor(padded, cv2.COLOR_BGR2RGB))
        if result.pose_landmarks is None:
            return None
        landmarks = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], np.float32)
        world = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_world_landmarks.landmark], np.float32)
        if border:  # back to the unpadded frame: x, y normalised by its size, z on x's scale
            landmarks[:, 0] = (landmarks[:, 0] * (width + 2 * border) - border) / width
            landmarks[:, 1] = (landmarks[:, 1] * (height + 2 * border) - border) / height
            landmarks[:, 2] *= (width + 2 * border) / width
        return landmarks, world

    def reset(self) -> None:
        """Video mode: drop the body followed so far; the next frame is searched afresh (cheaper
        than a new graph)."""
        self._pose.reset()

    def close(self) -> None:
        self._pose.close()


class HogDetector:
    """OpenCV's default HOG + linear SVM pedestrian detector: upright, reasonably large people."""

    name = "hog"

    def __init__(self) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        scale = min(1.0, HOG_MAX_SIDE / max(image_bgr.shape[:2]))
        small = cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image_bgr
        if small.shape[1] < HOG_WINDOW[0] or small.shape[0] < HOG_WINDOW[1]:
            return []  # too small for a HOG person window
        rects, weights = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(16, 16), scale=1.05)
        if len(rects) == 0:
            return []
        weights = np.asarray(weights, np.float32).reshape(-1)
        keep = cv2.dnn.NMSBoxes([list(map(int, r)) for r in rects], weights.tolist(), HOG_MIN_SCORE, 0.4)
        detections = []
        for i in np.asarray(keep, dtype=int).reshape(-1):
            x, y, w, h = (float(v) / scale for v in rects[i])
            fw, fh = HOG_PERSON_FRACTION
            box = (x + w * (1 - fw) / 2, y + h * (1 - fh) / 2, w * fw, h * fh)
            detections.append(Detection(box, float(weights[i]), self.name))
        return sorted(detections, key=lambda d: -d.score)

    def close(self) -> None:
        pass


class FallbackDetector:
    """BlazePose first; HOG only for frames where BlazePose finds nobody."""

    name = "auto"

    def __init__(self, detectors: list) -> None:
        self._detectors = detectors

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        for detector in self._detectors:
            found = detector.detect(image_bgr)
            if found:
                return found
        return []

    def close(self) -> None:
        for detector in self._detectors:
            detector.close()


class FullFrameDetector:
    """Treat the whole frame as the person box (for footage already cropped to one person)."""

    name = "full-frame"

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        height, width = image_bgr.shape[:2]
        return [Detection((0.0, 0.0, float(width), float(height)), 1.0, self.name)]

    def close(self) -> None:
        pass


def make_detector(name: str, every_frame: bool = False) -> PersonDetector:
    """Build a detector by its command-line name; `every_frame` = it will see a clip's frames in order."""
    if name == "full-frame":
        return FullFrameDetector()
    if name == "hog":
        return HogDetector()
    if name == "blazepose":
        return BlazePoseDetector(video=every_frame)
    if name == "auto":
        try:
            return FallbackDetector([BlazePoseDetector(video=every_frame), HogDetector()])
        except InferenceError as exc:
            log.warning("%s Falling back to the HOG people detector.", exc)
            return HogDetector()
    raise InferenceError("bad_request", f"unknown detector '{name}'; choose one of {', '.join(DETECTORS)}.")
