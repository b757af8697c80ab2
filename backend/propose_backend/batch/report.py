"""What a batch tells the person running it: a bar over clips and frames, one line per clip, the summary.

On a terminal the bar redraws in place; otherwise (a log file, a cluster job) a plain progress
line is printed every few seconds. Per-clip lines and warnings always get their own line.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

LINE_INTERVAL_S = 5.0


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return time.strftime("%H:%M:%S" if seconds >= 3600 else "%M:%S", time.gmtime(seconds))


class BatchReport:
    def __init__(self, stream: TextIO | None = None, hints: dict[str, str] | None = None) -> None:
        self.stream = stream or sys.stderr  # looked up now: sys.stderr may have been replaced since import
        self.tty = self.stream.isatty()
        self.hints = hints or {}  # extra advice by error kind (e.g. how to pick a person)
        self._last = 0.0
        self._bar_open = False

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        print(text, file=self.stream, flush=True)

    def warning(self, message: str) -> None:
        self._line(f"WARNING: {message}")

    def clip_done(self, name: str, frames: int, valid: int, seconds: float, output: str) -> None:
        self._line(f"{name}: wrote {frames} frames ({valid} with a person) in {seconds:.1f} s -> {output}")

    def clip_skipped(self, name: str, output: str) -> None:
        self._line(f"{name}: already done, skipped -> {output}")

    def clip_stopped(self, name: str, frames: int, output: str) -> None:
        self._line(f"{name}: stopped early, kept {frames} frames -> {output} (run the same command again to redo it)")

    def clip_failed(self, message: str, kind: str | None) -> None:
        self._line(f"error: {message}{self.hints.get(kind or '', '')}")

    def converted(self, name: str, paths: list[str]) -> None:
        self._line(f"{name}: converted -> {', '.join(paths)}")

    def progress(self, clips_done: int, clips_failed: int, clips: int, frames_done: int,
                 frames_total: int | None, fps: float, final: bool = False) -> None:
        left = (frames_total - frames_done) / fps if frames_total and fps > 0 else None
        failed = f" ({clips_failed} failed)" if clips_failed else ""
        total = frames_total if frames_total else "?"
        counts = (f"clips {clips_done}/{clips}{failed}  frames {frames_done}/{total}  {fps:5.1f} fps  "
                  f"ETA {_clock(max(0.0, left) if left is not None else None)}")
        if self.tty:
            width = 24
            filled = int(width * min(1.0, frames_done / frames_total)) if frames_total else 0
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {counts}\033[K")
            self.stream.flush()
            self._bar_open = True
            if final:
                self._line("")
            return
        now = time.monotonic()
        if final or now - self._last >= LINE_INTERVAL_S:
            self._last = now
            self._line(counts)

    def finished(self, summary: dict) -> None:
        clips = summary["clips"]
        self._line(f"batch: {clips['done']} done ({clips['skipped']} skipped as already done), {clips['failed']} "
                   f"failed, {clips['pending']} not finished, of {clips['total']} clips; "
                   f"{summary['frames']} frames in {summary['seconds']:.1f} s "
                   f"({summary['clips_per_minute']:.2f} clips/min, {summary['frames_per_second']:.2f} frames/s); "
                   f"summary: {summary.get('summary_file')}")

