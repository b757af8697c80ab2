"""What a running training shows and keeps: a progress bar, a text log and a metrics file.

Only rank 0 reports. The bar redraws in place when stderr is a terminal; batch jobs, whose
stderr is a file, get the log lines (one per logging interval) alone, so files stay readable.
`metrics.jsonl` holds one JSON object per logging interval for plotting.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

BAR_WIDTH = 24


def format_losses(losses: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.4f}" for name, value in losses.items())


class ProgressBar:
    """`epoch 3/50 [#######.....] 120/400 loss 1.234 | 85.2 img/s/GPU | eta 0:03:10`."""

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, enabled: bool = True) -> None:
        self.total, self.label, self.stream, self.enabled = total, label, stream, enabled
        self.interactive = enabled and stream.isatty()
        self.start = time.perf_counter()

    def update(self, done: int, status: str) -> None:
        if not self.interactive:
            return
        filled = int(BAR_WIDTH * done / max(self.total, 1))
        elapsed = time.perf_counter() - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        line = (f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{self.total} "
                f"{status} | eta {time.strftime('%H:%M:%S', time.gmtime(eta))}")
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


class TrainLog:
    """Appends human-readable lines to train.log (and stdout) and records to metrics.jsonl."""

    def __init__(self, out_dir: Path, enabled: bool = True, echo: bool = True) -> None:
        self.enabled, self.echo = enabled, echo
        if enabled:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.text = open(out_dir / "train.log", "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self.metrics = open(out_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    def info(self, message: str) -> None:
        if not self.enabled:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        self.text.write(line + "\n")
        self.text.flush()
        if self.echo:
            print(line, flush=True)

    def record(self, **values: object) -> None:
        if self.enabled:
            self.metrics.write(json.dumps(values) + "\n")
            self.metrics.flush()

    def close(self) -> None:
        if self.enabled:
            self.text.close()
            self.metrics.close()
