"""Reading a person backwards in time: the frames before the tracker first found them.

The tracker finds people forwards: a person stepping out from behind another is found only when
the detector (every few frames) sees them, and someone coming back after a gap only when the
evidence says it is them. A clip is processed offline, so once such a stretch has been followed
for a few frames it is read backwards through the frames kept here: each earlier frame gets a crop
where the person was on the frame after (moved on at their speed, backwards), the estimator reads
it, and the body found is kept as long as it is theirs: inside the crop, nobody else's body that
frame (else the picture is read again with the others painted over, as the forward look-behind
does), and in their clothes. The first frame that fails ends the reading. The rows found go into
the person's file before the stretch they lead into, with one identity confidence for all of them
(no surer than the stretch itself, and no surer than their clothes' margin over the next person's).
"""
from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import results
from .appearance import SMPL_TORSO, torso_histogram
from .crop import CropBox
from .crowd import DRIFT_MAX, LEARNED_VIEWS, CrowdTracker, body_box, confidence_from_margin, looks_like, same_body
from .footage import Frame
from .people import paint_body
from .track import LOST_OFFSET, LOST_SCALE

log = logging.getLogger(__name__)

REWIND_FRAMES = 30  # frames kept for reading back (a second of video at 30 fps)
SAME_POSE = 0.1  # two estimates whose joints lie this close on average (share of the body's height) are one body
REWIND_AFTER = 3  # a stretch followed this many frames in a row is read back (one-frame false finds are not)


@dataclass
class Past:
    """One kept frame: the picture and every body some track holds on it (points as seen, depth m)."""

    frame: Frame
    bodies: dict[int, np.ndarray] = field(default_factory=dict)
    depths: dict[int, float] = field(default_factory=dict)


@dataclass
class Stretch:
    """A run of frames one track was seen on, found after a gap (or first found after the clip's start)."""

    start: int  # first frame of the run
    after: int | None  # the track's last frame seen before the run (None: never)
    length: int = 1
    confidence: float = 1.0  # the run's identity confidence on its first frame


class Rewind:
    """The last frames and who was seen where on them; which runs are due to be read back."""

    def __init__(self, keep: int = REWIND_FRAMES, after: int = REWIND_AFTER) -> None:
        self.past: deque[Past] = deque(maxlen=max(1, keep))
        self.after = after
        self.runs: dict[int, Stretch] = {}
        self.last_seen: dict[int, int] = {}

    def remember(self, frame: Frame, seen: dict[int, tuple[np.ndarray, float, float]]) -> list[tuple[int, Stretch]]:
        """Keep `frame` with the bodies seen on it (track -> (2D points as seen, depth m, identity
        confidence)); returns the runs that reach `after` frames on it and start after a frame still kept."""
        self.past.append(Past(frame, {n: v[0] for n, v in seen.items()}, {n: float(v[1]) for n, v in seen.items()}))
        due = []
        for number, (_, _, confidence) in seen.items():
            run = self.runs.get(number)
            if run is not None and self.last_seen.get(number) == frame.index - 1:
                run.length += 1
            else:
                run = self.runs[number] = Stretch(frame.index, self.last_seen.get(number), 1, float(confidence))
            self.last_seen[number] = frame.index
            earliest = self.past[0].frame.index
            if run.length == self.after and run.start > earliest and (run.after is None or run.after < run.start - 1):
                due.append((number, run))
        return due

    def at(self, index: int) -> Past | None:
        for past in self.past:
            if past.frame.index == index:
                return past
        return None


Estimate = Callable[[np.ndarray, int, CropBox], dict[str, np.ndarray] | None]


def read_back(rewind: Rewind, number: int, run: Stretch, tracker: CrowdTracker,
              estimate: Estimate) -> tuple[list[tuple[int, np.ndarray, CropBox]], float]:
    """Person `number` on the kept frames before `run`, latest first, as long as each is theirs.

    `estimate(picture, frame, box)` reads one crop: the estimator's fields for one row (with
    "transl") plus "joints2d_seen" (its 2D points on the footage as it is), or None. Returns [(frame index, fields,
    crop)] and one identity confidence for them all; each body found is kept on its frame, so a run
    read back later sees it as taken.
    """
    track = next((t for t in tracker.tracks if t.number == number), None)
    later = [rewind.at(run.start + k) for k in range(min(run.length, rewind.after))]
    boxes = [body_box(p.bodies[number]) for p in later if p is not None and number in p.bodies]
    if track is None or not boxes or boxes[0] is None:
        return [], 0.0
    step = ((boxes[0].cx - boxes[-1].cx) / (len(boxes) - 1), (boxes[0].cy - boxes[-1].cy) / (len(boxes) - 1)) \
        if len(boxes) > 1 and boxes[-1] is not None else (0.0, 0.0)
    found: list[tuple[int, dict[str, np.ndarray], CropBox]] = []
    confidence = run.confidence
    box = boxes[0]
    index = run.start - 1
    hidden = False  # whether the frame after needed the others painted over
    while run.after is None or index > run.after:
        past = rewind.at(index)
        if past is None:
            break
        crop = CropBox(box.cx + step[0], box.cy + step[1], box.side)
        row, points, hidden = _read(past, number, crop, estimate, hidden)
        if row is None:
            log.debug("frame %d: person %d read back: nobody of theirs in the crop", index, number)
            break
        histogram = torso_histogram(past.frame.image, body_box(points).xywh(), points[list(SMPL_TORSO)],
                                    _in_front(past, number, points, float(row["transl"][0][2])))
        if histogram is None:
            log.debug("frame %d: person %d read back: their shirt does not show", index, number)
            break
        own = looks_like(histogram, track)
        if track.views and own > DRIFT_MAX:
            log.debug("frame %d: person %d read back: someone in other clothes (%.2f)", index, number, own)
            break
        rivals = [looks_like(histogram, t) for t in tracker.tracks if t is not track and t.views >= LEARNED_VIEWS]
        confidence = min(confidence, confidence_from_margin(min(rivals, default=math.inf) - own))
        past.bodies[number], past.depths[number] = points, float(row["transl"][0][2])
        found.append((index, row, crop))
        log.debug("frame %d: person %d read back (clothes %.2f)", index, number, own)
        box = body_box(points)
        index -= 1
    return found, confidence


def _read(past: Past, number: int, crop: CropBox, estimate: Estimate,
          hidden: bool = False) -> tuple[dict | None, np.ndarray | None, bool]:
    """The body of person `number` in `crop` on a kept frame: as it is, else with the bodies others
    hold there (and one the crop saw that is not theirs) painted over; (None, None, False) when
    neither. The last item says whether it took the painting. `hidden`: the frame after took it, so
    this one starts with the others painted over: read backwards, a person stepping out from behind
    someone is further behind them on each earlier frame, and the picture as it is would show the
    one in front again (a whole estimate spent; 10 of the crossing clip's 29 read-back reads)."""
    others = [p for n, p in past.bodies.items() if n != number and np.isfinite(p).all()]
    near = [p for p in others if (b := body_box(p)) is not None and CrowdTracker._overlap(b, crop) > 0]
    painted: list[np.ndarray] = []
    picture = _painted(past.frame.image, near) if hidden and near else past.frame.image
    for _ in range(2):
        row = estimate(picture, past.frame.index, crop)
        points = row["joints2d_seen"][0] if row is not None and bool(row["valid"][0]) else None
        box = body_box(points) if points is not None else None
        if box is not None:
            offset = math.hypot(box.cx - crop.cx, box.cy - crop.cy) / crop.side
            ratio = box.side / crop.side
            theirs = not any(_same_pose(points, p) for p in others)
            if theirs and offset <= LOST_OFFSET and 1 / LOST_SCALE <= ratio <= LOST_SCALE:
                return row, points, picture is not past.frame.image
            painted.append(points)  # someone else, or a body off the crop: look past them
        if not near and not painted:
            break
        started_painted = picture is not past.frame.image and not painted  # and saw nobody: as it is, then
        picture = past.frame.image if started_painted else _painted(past.frame.image, near + painted)
    return None, None, False


def _painted(image: np.ndarray, bodies: list[np.ndarray]) -> np.ndarray:
    """A copy of `image` with `bodies` (2D points) painted over."""
    picture = image.copy()
    for points in bodies:
        paint_body(picture, points)
    return picture


def _in_front(past: Past, number: int, points: np.ndarray, depth: float) -> np.ndarray:
    """(H, W) non-zero where a nearer body someone else holds on this frame covers person `number`'s."""
    mask = np.zeros(past.frame.image.shape[:2], np.uint8)
    mine = body_box(points)
    for other, theirs in past.bodies.items():
        box = body_box(theirs) if other != number and past.depths.get(other, math.inf) < depth else None
        if box is not None and mine is not None and CrowdTracker._overlap(box, mine) > 0:
            paint_body(mask, theirs)
    return mask


def _same_pose(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two estimates show one body: their boxes coincide (crowd.same_body) and so do their
    joints (mean distance under SAME_POSE of the body's height). A person close behind another
    has nearly the same box, but not the same limbs."""
    box_a, box_b = body_box(a), body_box(b)
    if box_a is None or box_b is None or not same_body(box_a, box_b):
        return False
    height = float(np.ptp(a[:, 1]))
    return float(np.linalg.norm(a - b, axis=-1).mean()) < SAME_POSE * max(height, 1.0)


def merge_rows(data: dict[str, np.ndarray], rows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A track's results with rows read back put in: each replaces the track's row on its frame
    (a frame it was not seen on) or goes in before, in frame order."""
    if not rows:
        return data
    frames = np.asarray(data["frame_index"])
    added = np.concatenate([r["frame_index"] for r in rows])
    keep = ~np.isin(frames, added)
    per_frame = [name for name in {**results.PER_FRAME_FIELDS, **results.OPTIONAL_PER_FRAME_FIELDS} if name in data]
    merged = dict(data)
    for name in per_frame:
        ours = np.asarray(data[name])
        extra = np.concatenate([r[name] for r in rows]) if all(name in r for r in rows) \
            else np.zeros((len(added), *ours.shape[1:]), ours.dtype)  # a field the rows lack: as on a frame unseen
        merged[name] = np.concatenate([ours[keep], extra.astype(ours.dtype)])
    order = np.argsort(merged["frame_index"], kind="stable")
    for name in per_frame:
        merged[name] = merged[name][order]
    return merged
