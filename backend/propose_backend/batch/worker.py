"""One worker of a batch: the model loaded once, then pieces, joins and conversions one after another.

The runner makes one per device (a Ray actor holding a GPU, or a share of the CPUs); when a
single input runs without Ray it uses the same class in-process. Everything a worker writes
goes through atomic renames or a chunk folder that is wiped when the work starts again, so a
worker killed at any moment leaves either finished files or nothing that a later run mixes in.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import results
from ..request import BATCH_SIZE
from ..inference.errors import InferenceError
from ..inference.protocol import EstimatorSettings
from ..estimators import open_estimator
from ..inference.pipeline import EstimateOptions, Progress, estimate_file
from ..inference.track import iou
from ..camera import with_camera
from ..inference.footage import open_rows
from ..temporal.files import smoothed
from ..temporal.world import align_unsmoothed
from .plan import Piece, forget_pieces

SAME_PERSON_IOU = 0.3  # median box overlap, over a join's warm-up frames, of two pieces following one person
REPORT_INTERVAL_S = 0.5  # how often a worker tells the progress board about a running piece
BATCH_SCRIPT = Path(__file__).resolve().parents[3] / "propose_blender" / "batch.py"  # the headless batch
CONVERT_TIMEOUT_S = 3600


@dataclass
class Task:
    """One unit of work: estimate a clip (or one of its pieces), join a clip's pieces, or convert it."""

    kind: str  # "estimate", "join" or "convert"
    clip: int
    input: str
    output: str  # the clip's results file
    options: EstimateOptions | None = None
    piece: Piece | None = None  # estimate: the piece (None: the whole clip into `output`)
    piece_path: str | None = None
    pieces: list[tuple[Piece, str]] = field(default_factory=list)  # join: every piece and its file
    conversions: list[str] = field(default_factory=list)  # convert: .blend / .fbx / .bvh / .glb to write


@dataclass
class TaskResult:
    task: Task
    frames: int = 0
    valid_frames: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    cancelled: bool = False  # stopped early on request (in-process runs); the frames so far are kept
    rerun: Piece | None = None  # join: this piece followed someone else; estimate it again, seeded like this
    worker: str = ""


class Worker:
    def __init__(self, requested: str, settings: EstimatorSettings, allow_random_weights: bool = False,
                 board: str | None = None, threads: int | None = None, on_ray: bool = False,
                 blender_python: str | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        settings = dataclasses.replace(settings)
        if on_ray and settings.device in ("auto", "cuda"):
            import ray

            settings.device = "cuda" if ray.get_gpu_ids() else ("cpu" if settings.device == "auto" else "cuda")
        self.device = settings.device
        if not settings.batch_size:  # the driver left it to the device this worker got
            from ..inference.device import resolve_device

            settings.batch_size = BATCH_SIZE.get(resolve_device(settings.device).type, 1)
        self.batch_size = settings.batch_size
        self.estimator, self.warnings = open_estimator(requested, settings, allow_random_weights)
        self.board = None
        if board:  # the progress board actor of this run, by name
            import ray

            self.board = ray.get_actor(board)
        self.blender_python = blender_python or sys.executable

    def describe(self) -> dict[str, Any]:
        """Who this worker is and what its model said when it loaded."""
        return {"worker": worker_name(), "device": self.device, "warnings": self.warnings}

    def run(self, task: Task, progress: Callable[[Task, Progress], None] | None = None,
            cancel: threading.Event | None = None) -> TaskResult:
        """Do one task; every failure the user can act on comes back as the result's error.
        `progress` and `cancel` serve the in-process use; on Ray, progress goes to the board."""
        started = time.perf_counter()
        try:
            if task.kind == "estimate":
                result = self._estimate(task, progress, cancel)
            else:
                result = {"join": self._join, "convert": self._convert}[task.kind](task)
        except InferenceError as exc:
            result = TaskResult(task, error=exc.message, error_kind=exc.kind)
        except results.ResultsError as exc:
            result = TaskResult(task, error=str(exc), error_kind="bad_results")
        except OSError as exc:  # e.g. the disk filled up: this clip failed, the next may still run
            result = TaskResult(task, error=f"{exc.filename or task.output}: {exc.strerror or exc}", error_kind="io")
        except Exception as exc:  # a bug: reported for this clip, the batch goes on
            result = TaskResult(task, error=f"internal error: {type(exc).__name__}: {exc}. This is a bug; "
                                            "please report it.", error_kind="bug")
        result.seconds, result.worker = time.perf_counter() - started, worker_name()
        return result

    def close(self) -> None:
        self.estimator.close()

    # --- the three kinds of work ---------------------------------------------------------------

    def _report(self, task: Task) -> Callable[[Progress], None]:
        last = [0.0]

        def report(progress: Progress) -> None:
            now = time.monotonic()
            if progress.phase != "estimating" or (now - last[0] < REPORT_INTERVAL_S and progress.done != progress.total):
                return
            last[0] = now
            piece = task.piece.number if task.piece is not None else 0
            self.board.report.remote(task.clip, piece, progress.done, progress.total, worker_name())

        return report

    def _estimate(self, task: Task, progress: Callable[[Task, Progress], None] | None,
                  cancel: threading.Event | None) -> TaskResult:
        report = (lambda p: progress(task, p)) if progress else (self._report(task) if self.board else None)
        target = task.piece_path if task.piece is not None else task.output
        options = task.options if task.options.batch_size else dataclasses.replace(task.options, batch_size=self.batch_size)
        summary = estimate_file(task.input, target, self.estimator, options, report, cancel)
        if task.piece is not None and not summary.cancelled:
            evidence = getattr(self.estimator, "clip_evidence", dict)()  # written atomically, as results are
            results._atomic_savez(evidence_path(target), evidence, compress=False)
        return TaskResult(task, summary.frames, summary.valid_frames, warnings=list(summary.warnings),
                          cancelled=summary.cancelled)

    def _join(self, task: Task) -> TaskResult:
        """The pieces' own frames into one clip, checked to follow one person, smoothed in one pass."""
        parts, previous = [], None
        self.estimator.reseed()  # the clip's body is fitted again below, from every piece's own frames
        for piece, path in task.pieces:
            data = results.read_results(path)
            if previous is not None and not piece.seed_box:
                rerun = _other_person(previous, data, piece)
                if rerun is not None:
                    return TaskResult(task, rerun=rerun)
            previous = data
            keep = np.asarray(data["frame_index"]) >= piece.start
            with np.load(evidence_path(path)) as saved:
                evidence = {k: saved[k] for k in saved.files}
            if evidence and hasattr(self.estimator, "add_clip_evidence"):
                self.estimator.add_clip_evidence(evidence, np.asarray(evidence["frame"]) >= piece.start)
            parts.append({k: (np.asarray(v)[keep] if k in results.PER_FRAME_FIELDS
                              or k in results.OPTIONAL_PER_FRAME_FIELDS else v) for k, v in data.items()})
        joined = results.merge(parts)
        joined["meta"] = dict(parts[0]["meta"])  # who was followed: the first piece's choice
        valid = np.asarray(joined["valid"], bool)
        betas = np.asarray(joined["betas"])[valid]
        joined.update(self.estimator.rest_geometry(np.median(betas, axis=0) if len(betas) else np.zeros(10, np.float32)))
        solve = task.options is not None and not task.options.still_camera and len(valid) > 1
        if solve:  # once over the whole clip: each piece's camera would start again at its first frame
            joined = with_camera(joined, open_rows(joined, task.input))
        if task.options is not None and task.options.smooth > 0 and len(valid) > 1:
            joined = smoothed(joined, task.options.smooth, task.options.seed, task.output)
        elif solve:
            joined = align_unsmoothed(joined)
        results.write_results(task.output, joined)  # once, as a one-piece estimate writes it
        forget_pieces(Path(task.output))
        return TaskResult(task, len(valid), int(valid.sum()))

    def _convert(self, task: Task) -> TaskResult:
        """The results file into a .blend (and FBX/BVH/glTF) by the headless batch, Blender as a module."""
        if not BATCH_SCRIPT.is_file():
            raise InferenceError("missing_file", f"the Blender side of ProPose ({BATCH_SCRIPT}) is not on this node; "
                                                 "install the whole repository on every node.")
        if self.blender_python == sys.executable and importlib.util.find_spec("bpy") is None:
            raise InferenceError("missing_file", "turning results into .blend/FBX needs Blender as a Python module on "
                                                 "every worker node: pip install bpy==5.0.1 (see requirements.txt).")
        blend = next(p for p in task.conversions if p.endswith(".blend"))
        flags = {".fbx": "--fbx", ".bvh": "--bvh", ".glb": "--gltf", ".gltf": "--gltf"}
        extra = [a for p in task.conversions if Path(p).suffix in flags for a in (flags[Path(p).suffix], p)]
        script = [str(BATCH_SCRIPT), "--input", task.output, "--output", blend, *extra]
        command = ([self.blender_python, "--background", "--factory-startup", "--python", script[0], "--", *script[1:]]
                   if Path(self.blender_python).name.startswith("blender") else [self.blender_python, *script])
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S)
        lines = [line for line in done.stderr.splitlines() if line.startswith("propose batch")]
        if done.returncode not in (0, 3):
            reason = lines[-1] if lines else (done.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise InferenceError("convert_failed", f"{task.output}: the conversion to {Path(blend).name} failed: {reason}")
        return TaskResult(task, warnings=[line.split("warning: ", 1)[-1] for line in lines if "warning:" in line])


def evidence_path(piece_path: str | Path) -> Path:
    """Beside a piece: what its estimator learnt about the clip's body, per frame (instant mode's bone lengths)."""
    return Path(str(piece_path) + ".evidence.npz")


def worker_name() -> str:
    """"pid@host": which process on which machine holds a clip (the manifest shows it while it runs)."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _other_person(previous: dict, data: dict, piece: Piece) -> Piece | None:
    """None when the piece's warm-up frames follow the previous piece's person; else the piece
    again, seeded with that person's box in the first shared frame they were found in."""
    before = {int(f): i for i, f in enumerate(previous["frame_index"])}
    pairs = [(before[int(f)], j) for j, f in enumerate(data["frame_index"])
             if int(f) < piece.start and int(f) in before and previous["valid"][before[int(f)]] and data["valid"][j]]
    if not pairs:
        return None
    overlap = [iou(previous["bbox"][i], data["bbox"][j]) for i, j in pairs]
    if float(np.median(overlap)) >= SAME_PERSON_IOU:
        return None
    first = pairs[0][0]
    box = tuple(float(v) for v in previous["bbox"][first])
    return dataclasses.replace(piece, warmup_start=int(previous["frame_index"][first]), seed_box=box)

