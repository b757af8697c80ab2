"""The batch's bookkeeping on disk: what happened to each clip, so that nothing is done twice or lost.

One JSON file (default `propose-batch.json` in the output folder) holds a record per results
file: the input's size and modification time, a key of the request's result-shaping fields, the
state (pending, running, done, failed), the pieces finished, the attempts, the failure message,
and the conversions made. Only the driver writes it, atomically after every change, so a crash
or a pre-empted head node leaves the last consistent state. A clip counts as done for a re-run
only when its input, its request and its results file are all unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..request import EstimateRequest
from ..results import write_atomically

MANIFEST_NAME = "propose-batch.json"
FORMAT = 1
# Fields that do not change the results: where they go, on which device and how fast.
_NOT_IN_KEY = ("input", "output", "device", "fp32", "cuda_graphs", "chunk_frames")
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


def request_key(request: EstimateRequest, model_files: list[str | None]) -> str:
    """A short hash of everything that shapes a clip's results: the options, the model files used and
    the backend's version (an upgrade estimates again)."""
    fields = {k: v for k, v in request.to_json().items() if k not in _NOT_IN_KEY}
    text = json.dumps({"request": fields, "model_files": model_files, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(path: Path) -> dict[str, int] | None:
    """Size and modification time of a file (None: missing), the test of "is this the same input"."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass
class ClipRecord:
    input: str
    input_file: dict[str, int] | None
    request_key: str
    state: str = PENDING
    attempts: int = 0  # worker deaths while this clip was being worked on
    error: str | None = None
    error_kind: str | None = None
    pieces: list[list[int]] = field(default_factory=list)  # the piece plan ([] = one piece)
    pieces_done: list[int] = field(default_factory=list)
    frames: int = 0
    valid_frames: int = 0
    seconds: float = 0.0
    results_file: dict[str, int] | None = None  # fingerprint of the finished results file
    conversions: dict[str, dict[str, int] | None] = field(default_factory=dict)  # path -> fingerprint
    warnings: list[str] = field(default_factory=list)
    running: dict[str, int] = field(default_factory=dict)  # while running: "pid@host" -> frames done
    skipped: bool = False  # done by an earlier run (not written to disk)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("skipped")
        return data


class Manifest:
    """Records by results path; loads what an earlier run left and rewrites the file on every change.
    Without a path (a single input run in-process) the records live in memory only."""

    def __init__(self, path: Path | None, redo: bool = False) -> None:
        self.path = path
        self.redo = redo
        self.records: dict[str, ClipRecord] = {}
        self.warning = ""
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                known = set(ClipRecord.__dataclass_fields__) - {"skipped"}
                self.records = {out: ClipRecord(**{k: v for k, v in rec.items() if k in known})
                                for out, rec in data.get("clips", {}).items()}
            except (OSError, ValueError, TypeError) as exc:  # unreadable: start afresh, keep the old one aside
                aside = path.with_suffix(".unreadable.json")
                os.replace(path, aside)
                self.warning = f"the manifest {path} could not be read ({exc}); it was moved to {aside.name}"

    def begin(self, output: Path, input_path: Path, key: str, piece_plan: list[list[int]]) -> ClipRecord:
        """The record of this clip for this run: the earlier one when input, request and results still
        match (done clips are then skipped, finished pieces reused), else a fresh one."""
        name, now = str(output), fingerprint(input_path)
        old = None if self.redo else self.records.get(name)
        if old is not None and old.input == str(input_path) and old.input_file == now and old.request_key == key:
            if old.state == DONE and old.results_file is not None and fingerprint(output) == old.results_file:
                old.skipped = True
                return old
            if old.pieces == piece_plan:
                old.state, old.error, old.error_kind = PENDING, None, None
                self.records[name] = old
                return old
        self.records[name] = ClipRecord(str(input_path), now, key, pieces=piece_plan)
        return self.records[name]

    def save(self) -> None:
        if self.path is None:
            return
        data = {"format": FORMAT, "clips": {out: rec.as_json() for out, rec in sorted(self.records.items())}}
        write_atomically(self.path, lambda handle: json.dump(data, handle, indent=1), text=True)


def default_path(outputs: list[Path], output_flag: str | None) -> Path:
    """Where the manifest goes: in --output when it is a folder, else beside the first results file."""
    if output_flag and Path(output_flag).suffix.lower() != ".npz":
        return Path(output_flag).expanduser() / MANIFEST_NAME
    return outputs[0].parent / MANIFEST_NAME
