"""Following one person through a video with few detector calls.

Each frame's crop is centred on the person as last seen: the projected joints of the newest
frame the estimator has finished (the previous frame when frames go through one at a time; in
a batch, the last frame of the previous batch, moved on at the person's recent speed), or the
newest detection. The detector runs when there is no track yet, when the estimator's result no
longer fits its crop (the person was lost), and every `redetect_every` frames as a check that
the person is still there. A detection that does not touch the track is someone else and is not
followed while the track holds. A frame where the detector finds nobody gets no crop: it is marked
invalid in the results, and the next frame looks again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..request import REDETECT_EVERY
from .crop import CropBox
from .detect import Detection, PersonDetector, box_from_points
from .footage import Frame

HISTORY = 8  # anchors kept for the speed estimate
MAX_EXTRAPOLATION = 30  # frames; beyond this, moving the box on at constant speed is a guess
# A result no longer fits its crop (the person was lost) when its box centre is off by more
# than this fraction of the crop side, or its size changed by more than this factor.
LOST_OFFSET = 0.35
LOST_SCALE = 2.5


@dataclass(frozen=True)
class Anchor:
    frame: int
    box: CropBox


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def choose(detections: list[Detection], predicted: CropBox | None) -> Detection | None:
    """The detection that best overlaps the track; without a track, the largest (as the reference demo).

    None when there is a track but no detection touches it: the detector found someone else (BlazePose
    sees one person per frame), and jumping to them would swap people mid-clip.
    """
    if predicted is not None:
        best = max(detections, key=lambda d: iou(d.box, predicted.xywh()))
        return best if iou(best.box, predicted.xywh()) > 0 else None
    return max(detections, key=lambda d: d.box[2] * d.box[3])


class PersonTracker:
    """Decides each frame's crop box; see the module docstring for the policy."""

    def __init__(self, detector: PersonDetector, every_frame: bool = False,
                 redetect_every: int = REDETECT_EVERY,
                 seed_box: tuple[float, float, float, float] | None = None) -> None:
        self.detector = detector
        self.every_frame = every_frame  # run the detector on every frame (landmarks wanted, or full frame)
        self.redetect_every = max(1, redetect_every)
        self._seed = seed_box
        self._anchors: list[Anchor] = []
        self._last_detection = -(10**9)

    def predict(self, frame_index: int) -> CropBox | None:
        """Where the person should be at `frame_index`, from the anchors (None = no track)."""
        anchors = self._anchors
        if not anchors:
            return None
        newest = anchors[-1]
        if len(anchors) < 2 or newest.frame == anchors[0].frame:
            return newest.box
        span = newest.frame - anchors[0].frame
        vx = (newest.box.cx - anchors[0].box.cx) / span
        vy = (newest.box.cy - anchors[0].box.cy) / span
        ahead = min(max(frame_index - newest.frame, 0), MAX_EXTRAPOLATION)
        return CropBox(newest.box.cx + vx * ahead, newest.box.cy + vy * ahead, newest.box.side)

    def _anchor(self, frame_index: int, box: CropBox, restart: bool) -> None:
        if self._anchors and frame_index <= self._anchors[-1].frame:
            return  # a result about an older frame than a detection already made: the track has moved on
        self._anchors = ([] if restart else self._anchors[-(HISTORY - 1):]) + [Anchor(frame_index, box)]

    def propose(self, frame: Frame) -> tuple[CropBox | None, Detection | None]:
        """Crop box for this frame (None: nobody there) and the detection, when one ran."""
        if self._seed is not None:
            seed, self._seed = self._seed, None
            self._last_detection = frame.index  # the user's box counts as this frame's detection
            box = CropBox.around(*seed)
            self._anchor(frame.index, box, restart=True)
            return box, Detection(seed, 1.0, "user")
        predicted = self.predict(frame.index)
        due = (predicted is None or self.every_frame
               or frame.index - self._last_detection >= self.redetect_every)
        if not due:
            return predicted, None
        self._last_detection = frame.index
        found = self.detector.detect(frame.image)
        if not found:
            self._anchors = []
            return None, None
        detection = choose(found, predicted)
        if detection is None:  # someone else: stay on the track, the estimator looks in its crop
            return predicted, None
        box = CropBox.around(*detection.box)
        self._anchor(frame.index, box, restart=True)
        return box, detection

    def observe(self, frame_index: int, joints2d: np.ndarray, used: CropBox) -> bool:
        """Feed back a finished frame's projected joints (35, 2); returns False if the person was lost."""
        if not np.isfinite(joints2d).all():
            fits = False
            box = used
        else:
            box = CropBox.around(*box_from_points(joints2d))
            offset = np.hypot(box.cx - used.cx, box.cy - used.cy) / used.side
            ratio = box.side / used.side
            fits = offset <= LOST_OFFSET and 1.0 / LOST_SCALE <= ratio <= LOST_SCALE
        if fits:
            self._anchor(frame_index, box, restart=False)
        elif not self._anchors or frame_index >= self._anchors[-1].frame:
            self._anchors = []
        return fits
