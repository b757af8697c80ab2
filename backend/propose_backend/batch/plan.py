"""The work of a batch: one clip per input, a long clip cut into frame-range pieces.

A piece is estimated on its own (any worker, any machine) into a raw results file, starting
WARMUP frames before its first kept frame so the tracker and BlazePose's video tracking have
settled by then; those warm-up frames overlap the previous piece and tell the join whether both
pieces followed the same person. The join keeps each piece's own frames and smooths the whole
clip in one pass, so the smoothed motion has no seam where the pieces meet.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from ..request import IMAGE_SUFFIXES, FrameRange
from ..jobs import Job

PIECE_FRAMES = 1500  # default frames per piece (30 s at 50 fps): pieces share a clip between workers
WARMUP = 16  # frames estimated before a piece's first kept frame (dropped at the join)


@dataclass(frozen=True)
class Piece:
    """Frames start, start+step, ... before stop of one clip; estimation begins at `warmup_start`."""

    number: int
    start: int
    stop: int
    step: int
    warmup_start: int
    seed_box: tuple[float, float, float, float] | None = None  # set when a re-run must follow a given person

    def frames(self) -> str:
        """The piece's frame range as a request's `frames` text (warm-up included)."""
        return f"{self.warmup_start}:{self.stop}:{self.step}"


@dataclass
class Clip:
    """One input of the batch and where its results (and pieces) go."""

    number: int
    job: Job
    pieces: list[Piece] = field(default_factory=list)  # empty: one piece, estimated straight into the output

    @property
    def split(self) -> bool:
        return len(self.pieces) > 1

    def piece_path(self, piece: Piece) -> Path:
        return pieces_dir(self.job.output) / f"{piece.number:05d}.npz"

    def piece_plan(self) -> list[list[int]]:
        """What the manifest records: a resumed run reuses pieces only when its plan is the same."""
        return [[p.start, p.stop, p.step] for p in self.pieces]


def pieces_dir(output: Path) -> Path:
    return Path(str(output) + ".pieces")


def frame_count(path: Path) -> int | None:
    """The frames a video's header promises (None: it does not say, or it cannot be opened)."""
    if path.suffix.lower() in IMAGE_SUFFIXES or not path.is_file():
        return None
    capture = cv2.VideoCapture(str(path))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()
    return total if total > 0 else None


def split(frames: FrameRange | None, total: int | None, piece_frames: int, warmup: int = WARMUP) -> list[Piece]:
    """Cut the selected frames of a clip of `total` frames into pieces of about `piece_frames`.

    No cut (an empty list) when the clip is short, its length unknown, or the pieces would be
    hardly longer than their warm-up.
    """
    frames = frames or FrameRange()
    count = frames.count(total)
    if count is None or count <= piece_frames * 1.5 or piece_frames <= 2 * warmup:
        return []
    parts = math.ceil(count / piece_frames)
    bounds = [count * i // parts for i in range(parts + 1)]
    source = lambda position: frames.start + position * frames.step  # noqa: E731 - selected position -> frame
    return [Piece(i, source(a), source(b), frames.step, source(max(0, a - warmup)))
            for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def plan_clips(jobs: list[Job], frames: FrameRange | None, piece_frames: int) -> list[Clip]:
    return [Clip(i, job, split(frames, frame_count(job.input), piece_frames)) for i, job in enumerate(jobs)]


def forget_pieces(output: Path) -> None:
    """Remove a clip's pieces (they belong to another request, input or plan, or the clip is joined)."""
    shutil.rmtree(pieces_dir(output), ignore_errors=True)
