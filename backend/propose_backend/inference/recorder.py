"""Writing a run's results as it goes: chunks while running, one file at the end.

The first batch of a video goes to disk at once, as a chunk (a complete results file of its
own); after that, every `chunk_frames` frames or every few seconds, whichever comes first (the
interval grows from FIRST_CHUNK_SECONDS to `chunk_seconds`), so a cancelled, crashed or killed
run keeps its frames and loses at most a few seconds of work, also in its first seconds; `results.read_results` merges the chunks
and `finish` turns them into the single results file. The rig's rest geometry is rebuilt at every
chunk from the per-component median of all valid frames' betas so far (robust to the odd bad
frame), so the newest chunk always carries the best clip-wide body.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import results
from ..request import CHUNK_FRAMES
from .errors import InferenceError

CHUNK_SECONDS = 10.0
FIRST_CHUNK_SECONDS = 1.0  # the second chunk comes after this; each later interval doubles up to CHUNK_SECONDS


def _check_writable(output: Path) -> None:
    """Fail before any work is done when the results cannot be written to `output`."""
    try:
        if output.is_dir():
            raise IsADirectoryError(f"{output} is a folder")
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output.parent):
            pass
    except OSError as exc:
        raise InferenceError("bad_request", f"The results cannot be written to {output} "
                                            f"({exc.strerror or exc}); choose another output path.") from exc


class ResultsRecorder:
    def __init__(self, output: str | Path, clip: dict[str, Any], meta: dict[str, Any],
                 rest_geometry: Callable[[np.ndarray], dict[str, np.ndarray]],
                 chunk_frames: int = CHUNK_FRAMES, chunk_seconds: float = CHUNK_SECONDS,
                 early_first_chunk: bool = True) -> None:
        self.output = Path(output)
        self.clip = clip  # fps, image_size
        self.meta = meta
        self.rest_geometry = rest_geometry
        self.chunk_frames = max(1, chunk_frames)
        self.chunk_seconds = chunk_seconds
        self.early_first_chunk = early_first_chunk  # False for a still: its one frame is written at once anyway
        self._last_flush = time.monotonic()
        self.frames_done = 0
        self.valid_frames = 0
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_frames = 0
        self._chunks = 0
        self._betas: list[np.ndarray] = []
        _check_writable(self.output)
        # Leftovers of an older run go; the empty chunk folder marks this run as in progress, so a
        # reader never mistakes an older results file at the same path for this run's frames.
        shutil.rmtree(results.chunk_dir(self.output), ignore_errors=True)
        results.chunk_dir(self.output).mkdir(parents=True, exist_ok=True)

    def add(self, frames: dict[str, np.ndarray]) -> None:
        """Append consecutive frames (every per-frame field); writes a chunk when enough are pending."""
        count = len(frames["frame_index"])
        self._pending.append(frames)
        self._pending_frames += count
        self.frames_done += count
        valid = frames["valid"]
        self.valid_frames += int(valid.sum())
        self._betas.append(frames["betas"][valid])
        if (self._pending_frames >= self.chunk_frames or (self.early_first_chunk and not self._chunks)
                or time.monotonic() - self._last_flush >= self._interval()):
            self.flush()

    def _interval(self) -> float:
        """Seconds until the next chunk: short while little is on disk, CHUNK_SECONDS later on."""
        return min(self.chunk_seconds, FIRST_CHUNK_SECONDS * 2.0 ** max(0, self._chunks - 1))

    def clip_betas(self) -> np.ndarray:
        betas = np.concatenate(self._betas) if self._betas else np.zeros((0, 10), np.float32)
        return np.median(betas, axis=0) if len(betas) else np.zeros(10, np.float32)

    def _take_pending(self) -> dict[str, Any]:
        """The pending frames as a complete results mapping (clip fields from all frames so far)."""
        names = list(results.PER_FRAME_FIELDS) + [n for n in (*results.OPTIONAL_PER_FRAME_FIELDS, *results.HAND_FIELDS)
                                                  if all(n in p for p in self._pending)]
        data = {name: np.concatenate([p[name] for p in self._pending]) for name in names}
        data.update(self.clip, schema_version=results.SCHEMA_VERSION, meta=self.meta)
        data.update(self.rest_geometry(self.clip_betas()))
        self._pending, self._pending_frames = [], 0
        return data

    def flush(self) -> None:
        """Write the pending frames as the next chunk."""
        if self._pending_frames:
            results.write_chunk(self.output, self._chunks, self._take_pending())
            self._chunks += 1
        self._last_flush = time.monotonic()

    def finish(self, transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Path | None:
        """Merge the run's frames in memory, pass them through `transform` (the smoother) when given,
        and write the results file once; None when no frame was finished.

        When `transform` fails, the merged per-frame results are written before the error goes on:
        no finished frame is lost.
        """
        if self._chunks:
            self.flush()
            data = results.read_results(self.output)  # the chunks, merged
        elif self._pending_frames:  # a short run: no chunk round trip
            data = self._take_pending()
        else:
            self.discard()
            return None
        try:
            final = transform(data) if transform is not None else data
        except BaseException:
            results.write_results(self.output, data)
            self.discard()
            raise
        written = results.write_results(self.output, final)
        self.discard()
        return written

    def discard(self) -> None:
        """Forget the run (e.g. nobody was found in any frame)."""
        shutil.rmtree(results.chunk_dir(self.output), ignore_errors=True)
