"""Following a person: crops move with the projected joints, the detector runs only when needed."""
from __future__ import annotations

import numpy as np

from propose_backend.inference.crop import CropBox
from propose_backend.inference.detect import Detection
from propose_backend.inference.footage import Frame
from propose_backend.inference.track import PersonTracker, choose

BLANK = np.zeros((480, 640, 3), np.uint8)


class ScriptedDetector:
    """Returns the boxes it is given for each call and counts the calls."""

    name = "scripted"

    def __init__(self, boxes: list[tuple[float, float, float, float]] | None) -> None:
        self.boxes = boxes
        self.calls: list[int] = []

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        self.calls.append(1)
        return [Detection(b, 1.0, self.name) for b in (self.boxes or [])]

    def close(self) -> None:
        pass


def _joints_at(cx: float, cy: float, height: float = 200.0) -> np.ndarray:
    """35 fake projected joints spanning a person of `height` px centred at (cx, cy)."""
    t = np.linspace(-0.5, 0.5, 35)
    return np.stack([cx + 0.3 * height * t, cy + height * t], axis=1)


def test_crop_follows_the_projected_joints_and_extrapolates() -> None:
    detector = ScriptedDetector([(270, 140, 100, 200)])
    tracker = PersonTracker(detector, redetect_every=1000)
    box, detection = tracker.propose(Frame(0, BLANK))
    assert detection.source == "scripted" and (box.cx, box.cy) == (320, 240)
    for i in range(1, 6):  # the person walks right at 10 px per frame
        used, detection = tracker.propose(Frame(i, BLANK))
        assert detection is None
        assert tracker.observe(i, _joints_at(320 + 10 * i, 240), used)
    ahead, _ = tracker.propose(Frame(8, BLANK))  # results up to frame 5 are in: move on 3 frames
    assert abs(ahead.cx - 400) < 1e-6 and abs(ahead.cy - 240) < 1e-6
    assert len(detector.calls) == 1


def test_lost_person_triggers_detection_and_nobody_means_no_crop() -> None:
    detector = ScriptedDetector([(270, 140, 100, 200)])
    tracker = PersonTracker(detector, redetect_every=1000)
    used, _ = tracker.propose(Frame(0, BLANK))
    assert not tracker.observe(0, _joints_at(600, 20, height=20), used)  # tiny and far off: lost
    detector.boxes = []
    assert tracker.propose(Frame(1, BLANK)) == (None, None)
    assert tracker.propose(Frame(2, BLANK)) == (None, None)  # keeps looking, every frame
    detector.boxes = [(100, 100, 50, 100)]
    box, detection = tracker.propose(Frame(3, BLANK))
    assert detection is not None and (box.cx, box.cy) == (125, 150)
    assert len(detector.calls) == 4


def test_periodic_check_and_seed_box() -> None:
    detector = ScriptedDetector([(0, 0, 50, 50), (300, 200, 60, 120)])
    tracker = PersonTracker(detector, redetect_every=3, seed_box=(290, 190, 80, 140))
    box, detection = tracker.propose(Frame(0, BLANK))
    assert detection.source == "user" and detector.calls == []
    tracker.propose(Frame(1, BLANK))
    tracker.propose(Frame(2, BLANK))
    assert detector.calls == []
    box, detection = tracker.propose(Frame(3, BLANK))  # due: the detector confirms, the user's person is kept
    assert len(detector.calls) == 1 and detection.box == (300, 200, 60, 120)


def test_choose_prefers_the_tracked_person_else_the_largest() -> None:
    small, large = Detection((0, 0, 10, 20), 0.9, "t"), Detection((200, 200, 100, 200), 0.5, "t")
    assert choose([small, large], None) is large
    assert choose([small, large], CropBox(5, 10, 25)) is small
    assert choose([small, large], CropBox(600, 600, 10)) is None  # a track elsewhere: neither is that person


def test_every_frame_mode_detects_each_frame() -> None:
    detector = ScriptedDetector([(270, 140, 100, 200)])
    tracker = PersonTracker(detector, every_frame=True)
    for i in range(4):
        box, detection = tracker.propose(Frame(i, BLANK))
        assert detection is not None
    assert len(detector.calls) == 4
