"""What a run reports and how it reads frames: progress events, the summary, and the decoding thread.

Shared by the single-person loop (pipeline.py) and the everyone loop (everyone.py). Decoding, the
slow part of reading a video, runs on a background thread up to one batch ahead of the estimator
(OpenCV releases the GIL, so it overlaps the network); errors are handed over, not lost.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..request import FrameRange
from .crop import ImageCamera
from .footage import Footage, Frame, open_footage


@dataclass
class Progress:
    phase: str  # loading_model, reading, estimating, writing
    done: int
    total: int | None
    fps: float
    eta_s: float | None
    message: str = ""


def open_clip(input_path: str | Path, frames: FrameRange | None, focal_px: float | None,
              report) -> tuple[Footage, ImageCamera]:
    """Open the footage (raises InferenceError when it cannot be read) and its full-image camera."""
    report(Progress("reading", 0, None, 0.0, None, f"opening {input_path}"))
    footage = open_footage(input_path, frames)
    return footage, ImageCamera.for_image(*footage.image_size, focal_px)


@dataclass
class RunSummary:
    output: Path | None  # None when nothing was finished (cancelled before the first batch)
    frames: int
    valid_frames: int
    cancelled: bool
    estimator: str
    seconds: float
    warnings: list[str] = field(default_factory=list)
    expected_frames: int | None = None  # what the footage's header promised (None: it does not say)


class Decoder(threading.Thread):
    """Decodes frames on its own thread into a queue of one batch; errors are handed over, not lost."""

    _END = object()

    def __init__(self, footage: Footage, batch_size: int) -> None:
        super().__init__(name="propose-decoder", daemon=True)
        self.footage = footage
        self.batch_size = max(1, batch_size)
        self.frames: queue.Queue = queue.Queue(maxsize=self.batch_size)
        self.stop = threading.Event()

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            for frame in self.footage.frames():
                if not self._put(frame):
                    return
            self._put(self._END)
        except BaseException as exc:  # reported by the estimating thread
            self._put(exc)

    def batches(self) -> Iterator[list[Frame]]:
        """Lists of up to batch_size frames, as soon as that many are decoded (or the clip ends)."""
        batch: list[Frame] = []
        while True:
            item = self.frames.get()
            if isinstance(item, BaseException):
                raise item
            if item is self._END:
                if batch:
                    yield batch
                return
            batch.append(item)
            if len(batch) == self.batch_size:
                yield batch
                batch = []

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=10)
