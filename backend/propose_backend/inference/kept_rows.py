"""The rows an everyone run keeps: their ghosts drawn once it knows which, and their file layout.

An everyone run reads a frame's crops, lets the tracker decide who was seen, looks again behind
the people in front (a second estimate of those crops, one batch), and reads people found late
backwards one crop at a time (rewind.py), throwing away every read that did not show its person.
An estimator that can read a batch up to its ghosts (`read`, then `finish`: instant mode,
instant/reading.py) gets only the reads here. The ghosts and fingers — the dearest part, with a
cost per batch several times its cost per row — are drawn afterwards for the rows kept only:
frames are held until HOLD_ROWS kept rows wait (or the run's chunk_frames frames; a read-back
finishes them with its own rows at once) and go out in one batch. Each row draws from its own random stream, so its ghosts are those
it would get in any batch. Other estimators estimate in full at once, and their rows go out at once.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .. import results
from ..geometry import flip_boxes
from .crop import ImageCamera
from .crowd import Placement
from .protocol import ESTIMATED_FIELDS, Estimator, FrameBatch

READ = "read_from"  # the field that says where each row of a read came from: (reading, row)
# Kept rows whose ghosts wait to be drawn together. Instant mode's ghosts and fingers cost about
# 65 ms CPU for one row, 85 ms for six and 105 ms for twelve (2-core machine): held for a few
# frames, a frame of two or three people pays a fraction of the per-batch cost. Memory holds the
# held frames' rows (the recorder holds seconds of rows anyway), and a killed run loses them.
HOLD_ROWS = 12


class KeptRows:
    """An estimator's reads for a tracker, and the ghosts of the rows it keeps."""

    def __init__(self, estimator: Estimator, hold: int = HOLD_ROWS, frames: int | None = None) -> None:
        """`hold` rows, and at most `frames` reads (a run's chunk_frames: frames asked to be on disk
        as soon as that many are done are not held longer), wait for their ghosts."""
        self.estimator, self.hold, self.frames = estimator, hold, frames
        self.deferred = callable(getattr(estimator, "read", None)) and callable(getattr(estimator, "finish", None))
        self.needs_crops = estimator.needs_crops  # reads crops as its estimator does
        self.waiting: list[tuple[list[tuple[dict[str, np.ndarray], np.ndarray]], Callable[[], None] | None]] = []
        self.seconds = 0.0  # spent drawing ghosts

    def read(self, batch: FrameBatch) -> dict[str, np.ndarray]:
        """The estimate's fields the tracker decides on; where the estimator can defer them, without
        the ghost and finger fields, and with READ: each row's (reading, row), copied with the row."""
        if not self.deferred:
            return self.estimator.estimate(batch)
        reading = self.estimator.read(batch)
        source = np.empty(len(reading), object)
        source[:] = [(reading, k) for k in range(len(reading))]
        return {**reading.seen(), READ: source}

    def later(self, parts: list[tuple[dict[str, np.ndarray], np.ndarray]], then: Callable[[], None]) -> None:
        """The ghost and finger fields of the rows `keep` (bool) of each read, in place, with those of
        the rows held before, once HOLD_ROWS rows wait; `then` runs when they are in (in order)."""
        self.waiting.append((parts, then))
        rows = sum(int(keep.sum()) for held, _ in self.waiting for _, keep in held)
        too_long = self.frames is not None and len(self.waiting) >= self.frames
        if rows >= self.hold or too_long or not self.deferred:
            self.flush()

    def now(self, parts: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> None:
        """`later`, but drawn at once (with every row held so far)."""
        self.waiting.append((parts, None))
        self.flush()

    def flush(self) -> None:
        """Draw the ghosts of every row held (one batch), then run what waited for them, in order."""
        waiting, self.waiting = self.waiting, []
        started = time.perf_counter()
        _finish(self.estimator, [part for parts, _ in waiting for part in parts])
        self.seconds += time.perf_counter() - started
        for _, then in waiting:
            if then is not None:
                then()


def _finish(estimator: Estimator, parts: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> None:
    """In place: the ghost and finger fields of the rows `keep` of each read, in one batch; the
    other rows get zeros (as a frame without a person)."""
    chosen = [(fields, np.flatnonzero(keep)) for fields, keep in parts if READ in fields]
    rows = [fields[READ][k] for fields, picked in chosen for k in picked]
    if not rows:
        return
    groups: dict[int, tuple[object, list[int]]] = {}
    for reading, k in rows:  # the rows of one reading go together
        groups.setdefault(id(reading), (reading, []))[1].append(k)
    finished = estimator.finish([(reading, np.array(ks)) for reading, ks in groups.values()])
    at = {(key, k): i for i, (key, k) in enumerate((key, k) for key, (_, ks) in groups.items() for k in ks)}
    order = iter([at[(id(reading), k)] for reading, k in rows])
    for fields, picked in chosen:
        take = [next(order) for _ in picked]
        for name, values in finished.items():
            if name not in fields:
                fields[name] = np.zeros((len(fields[READ]), *values.shape[1:]), values.dtype)
            fields[name][picked] = values[take]


def frame_rows(frame_index: int, count: int, num_samples: int, camera: ImageCamera,
               hands: bool = False) -> dict[str, np.ndarray]:
    """`count` empty rows of one frame as the results files hold them, with the camera."""
    rows = results.empty_frames(count, num_samples, hands=hands)
    rows["frame_index"][:] = frame_index
    rows["focal_px"][:] = camera.focal_px
    rows["principal_pt"][:] = camera.principal_pt
    rows["identity_confidence"] = np.zeros(count, np.float32)
    return rows


def block(frame_index: int, placements: list[Placement], estimated: dict[str, np.ndarray] | None,
          valid: np.ndarray, confidence: np.ndarray, camera: ImageCamera, options, hands: bool) -> dict[str, np.ndarray]:
    """The rows of one frame's people as the results files hold them."""
    rows = frame_rows(frame_index, len(placements), options.samples, camera, hands)
    for name in (*ESTIMATED_FIELDS, *(n for n in results.HAND_FIELDS if hands and n in estimated)):
        if name in estimated or valid.any():  # nobody kept: no ghosts were drawn
            rows[name][valid] = estimated[name][valid]
    rows["valid"][:] = valid
    boxes = np.array([p.box.xywh() for p in placements], np.float32).reshape(-1, 4)
    rows["bbox"][valid] = (flip_boxes(boxes, camera.principal_pt[0]) if options.mirrored else boxes)[valid]
    rows["identity_confidence"][:] = confidence
    return rows
