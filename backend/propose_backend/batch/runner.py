"""The driver of a batch: plan, skip what is done, hand out work, retry, report, summarise.

    summary = run_batch(jobs, request, settings, options, BatchSettings(workers=2))

Every clip goes estimate -> (join, when it was cut into pieces) -> (convert, when .blend/FBX
are wanted). A worker that dies takes only its task with it: the task goes back to the queue
(up to `retries` times per clip) while Ray restarts the worker. A clip that fails for a reason
of its own (unreadable, nobody in it) fails alone with its message. The manifest is rewritten
after every step, so the next run of the same command picks up exactly where this one ended.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..inference.protocol import EstimatorSettings
from ..estimators import choose_estimator
from ..jobs import Job
from ..inference.pipeline import EstimateOptions, Progress
from ..request import VIDEO_SUFFIXES, EstimateRequest, FrameRange
from ..results import chunk_dir
from . import manifest as bookkeeping
from .manifest import DONE, FAILED, PENDING, RUNNING, ClipRecord, Manifest, fingerprint
from .plan import PIECE_FRAMES, Clip, Piece, forget_pieces, frame_count, plan_clips
from .pools import LocalPool, RayPool, start_ray
from .report import BatchReport
from .worker import Task, TaskResult, evidence_path

POLL_S = 0.5
SUMMARY_NAME = "propose-batch-summary.json"
CONVERSIONS = (".blend", ".fbx", ".bvh", ".glb")


@dataclass
class BatchSettings:
    """How the batch runs (none of this changes the results)."""

    ray_address: str | None = None  # None: Ray inside this machine
    workers: int | None = None  # None: one per GPU of the cluster, else one
    cpus_per_worker: float | None = None  # None: the machine's CPUs shared out (1 per GPU worker)
    piece_frames: int = PIECE_FRAMES
    retries: int = 2  # new tries of a clip whose worker died
    manifest: Path | None = None
    summary: Path | None = None
    convert: tuple[str, ...] = ()  # suffixes of the files to make from each results file (.blend first)
    blender_python: str | None = None  # an interpreter with bpy, or a blender binary (default: the workers')
    use_ray: bool = True  # False: one worker in this process (one input, no batch flags)
    keep_books: bool = True  # write the manifest and the summary (a single input in-process does not)
    redo: bool = False  # estimate every clip again, whatever the manifest says
    debug: bool = False


def converted_paths(output: Path, suffixes: tuple[str, ...]) -> list[str]:
    """clip.propose.npz -> clip.blend, clip.fbx, ... beside it."""
    stem = str(output).removesuffix(".npz").removesuffix(".propose")
    return [stem + suffix for suffix in suffixes]


class _Batch:
    def __init__(self, jobs: list[Job], request: EstimateRequest, settings: EstimatorSettings,
                 options: EstimateOptions, batch: BatchSettings, report: BatchReport,
                 cancel: threading.Event) -> None:
        self.request, self.settings, self.options, self.batch, self.report = request, settings, options, batch, report
        self.cancel = cancel
        self.estimator = choose_estimator(request.estimator, settings.files, request.allow_random_weights)
        files = [str(settings.files.checkpoint), str(settings.files.body_model), self.estimator]
        key = bookkeeping.request_key(request, files)
        outputs = [job.output for job in jobs]
        where = batch.manifest or bookkeeping.default_path(outputs, request.output)
        self.manifest = Manifest(where if batch.keep_books else None, redo=batch.redo)
        if self.manifest.warning:
            report.warning(self.manifest.warning)
        self.clips = plan_clips(jobs, options.frames, batch.piece_frames if batch.use_ray else 0)  # one worker: no cuts
        self.records: dict[int, ClipRecord] = {}
        self.queue: deque[Task] = deque()
        for clip in self.clips:
            record = self.records[clip.number] = self.manifest.begin(clip.job.output, clip.job.input, key,
                                                                      clip.piece_plan())
            if not record.skipped and not clip.split:
                forget_pieces(clip.job.output)  # pieces of an earlier plan are of no use now
            self.queue.extend(self._first_tasks(clip, record))
        self.manifest.save()
        self.frames_total = sum(self._frames(c) for c in self.clips) or None
        self.frames_done = 0
        self.started = time.perf_counter()
        self.work_started: float | None = None  # when the workers were up (Ray started, models loaded)
        self.work_seconds = 0.0  # from then until the last task came back
        self.task_seconds = 0.0  # time the workers spent on tasks: the rest of the run is overhead

    def _frames(self, clip: Clip) -> int:
        """Frames the clip's estimation goes through (warm-ups of pieces included; 0: unknown)."""
        if clip.split:
            return sum(len(range(p.warmup_start, p.stop, p.step)) for p in clip.pieces)
        return (self.options.frames or FrameRange()).count(_count(clip)) or 0

    # --- the tasks of a clip -------------------------------------------------------------------

    def _first_tasks(self, clip: Clip, record: ClipRecord) -> list[Task]:
        if record.skipped:
            self.report.clip_skipped(str(clip.job.input), str(clip.job.output))
            return [self._convert(clip)] if self._missing_conversions(clip, record) else []
        if not clip.split:
            return [Task("estimate", clip.number, str(clip.job.input), str(clip.job.output), self.options)]
        done = {n for n in record.pieces_done if _finished_file(Path(clip.piece_path(clip.pieces[n])))}
        record.pieces_done = sorted(done)
        todo = [self._piece(clip, piece) for piece in clip.pieces if piece.number not in done]
        return todo or [self._join(clip)]

    def _piece(self, clip: Clip, piece: Piece) -> Task:
        first = piece.number == 0
        options = dataclasses.replace(
            self.options, frames=FrameRange.parse(piece.frames()), smooth=0.0,  # smoothed once, at the join
            still_camera=True,  # the camera too is solved once, over the whole clip, at the join
            bbox=piece.seed_box or (self.options.bbox if first else None),
            person=self.options.person if first and piece.seed_box is None else None)
        return Task("estimate", clip.number, str(clip.job.input), str(clip.job.output), options, piece,
                    str(clip.piece_path(piece)))

    def _join(self, clip: Clip) -> Task:
        return Task("join", clip.number, str(clip.job.input), str(clip.job.output), self.options,
                    pieces=[(p, str(clip.piece_path(p))) for p in clip.pieces])

    def _convert(self, clip: Clip) -> Task:
        return Task("convert", clip.number, str(clip.job.input), str(clip.job.output),
                    conversions=converted_paths(clip.job.output, self.batch.convert))

    def _missing_conversions(self, clip: Clip, record: ClipRecord) -> bool:
        wanted = converted_paths(clip.job.output, self.batch.convert)
        return any(record.conversions.get(p) is None or record.conversions[p] != fingerprint(Path(p)) for p in wanted)

    # --- results -------------------------------------------------------------------------------

    def handle(self, task: Task, result: TaskResult | None, death: str) -> None:
        record, clip = self.records[task.clip], self.clips[task.clip]
        if record.state == FAILED:
            return  # another piece of this clip failed already
        name = str(clip.job.input)
        if result is None:
            record.attempts += 1
            if record.attempts > self.batch.retries:
                self._fail(record, f"{name}: its worker died {record.attempts} times while working on it "
                                   f"(last: {death}). Out of memory? Try fewer workers, or a smaller --batch-size.",
                           "worker_died")
            else:
                self.report.warning(f"{name}: the worker died ({death}); trying again "
                                    f"(attempt {record.attempts + 1} of {self.batch.retries + 1}).")
                self.queue.appendleft(task)
            return
        record.seconds += result.seconds
        self.task_seconds += result.seconds
        if result.error is not None:
            self._fail(record, result.error, result.error_kind)
            return
        record.warnings.extend(w for w in result.warnings if w not in record.warnings)
        if task.kind == "estimate":
            self.frames_done += result.frames
            if result.cancelled:
                record.state = PENDING
                self.report.clip_stopped(name, result.frames, task.piece_path or task.output)
            elif task.piece is None:
                self._clip_done(clip, record, result)
            else:
                record.pieces_done = sorted(set(record.pieces_done) | {task.piece.number})
                if len(record.pieces_done) == len(clip.pieces):
                    self.queue.append(self._join(clip))
        elif task.kind == "join":
            if result.rerun is not None:
                self.report.warning(f"{name}: piece {result.rerun.number + 1} followed another person; "
                                    "estimating it again from the person the previous piece followed.")
                clip.pieces[result.rerun.number] = result.rerun
                record.pieces_done.remove(result.rerun.number)
                self.queue.append(self._piece(clip, result.rerun))
            else:
                self._clip_done(clip, record, result)
        else:
            record.conversions = {p: fingerprint(Path(p)) for p in task.conversions}
            self.report.converted(name, task.conversions)

    def _clip_done(self, clip: Clip, record: ClipRecord, result: TaskResult) -> None:
        record.state, record.error, record.error_kind = DONE, None, None
        record.frames, record.valid_frames = result.frames, result.valid_frames
        record.results_file = fingerprint(clip.job.output)
        for warning in result.warnings:
            self.report.warning(f"{clip.job.input}: {warning}")
        self.report.clip_done(str(clip.job.input), record.frames, record.valid_frames, record.seconds,
                              str(clip.job.output))
        if self.batch.convert:
            self.queue.append(self._convert(clip))

    def _fail(self, record: ClipRecord, message: str, kind: str | None) -> None:
        number = next(n for n, r in self.records.items() if r is record)
        record.state, record.error, record.error_kind = FAILED, message, kind
        self.queue = deque(t for t in self.queue if t.clip != number)
        self.report.clip_failed(message, kind)

    # --- the loop ------------------------------------------------------------------------------

    def run(self, pool: LocalPool | RayPool) -> None:
        self.work_started = time.perf_counter()
        while self.queue or pool.busy():
            if self.cancel.is_set():
                pool.cancel()
                break
            while self.queue and pool.idle():
                task = self.queue.popleft()
                if task.kind != "convert":  # a clip being converted is done already
                    self.records[task.clip].state = RUNNING
                pool.submit(task)
            self.manifest.save()
            for done in pool.wait(POLL_S):
                self.handle(done.task, done.result, done.death)
            running = pool.running()
            for record in self.records.values():
                record.running = {}
            for (clip, _piece), (done, _total, worker) in running.items():
                if self.records[clip].state == RUNNING:
                    self.records[clip].running[worker] = done
            self.manifest.save()
            self.show(sum(done for done, _total, _worker in running.values()))
        self.work_seconds = time.perf_counter() - self.work_started
        for record in self.records.values():
            record.running = {}
            if record.state == RUNNING:
                record.state = PENDING  # interrupted: the next run takes it up again
        self.manifest.save()

    def show(self, running_frames: int = 0, final: bool = False) -> None:
        states = [r.state for r in self.records.values()]
        elapsed = time.perf_counter() - self.started
        frames = self.frames_done + running_frames
        self.report.progress(states.count(DONE), states.count(FAILED), len(states), frames, self.frames_total,
                             frames / elapsed if elapsed > 0 else 0.0, final)

    def summary(self, workers: int, ray_address: str | None) -> dict[str, Any]:
        seconds = time.perf_counter() - self.started
        records = list(self.records.values())
        done = [r for r in records if r.state == DONE]
        worked = [r for r in done if not r.skipped]
        frames = sum(r.frames for r in worked)
        startup = (self.work_started or time.perf_counter()) - self.started
        return {
            "seconds": round(seconds, 3), "workers": workers, "ray_address": ray_address,
            "startup_seconds": round(startup, 3),  # planning, Ray's start and the workers' model loading
            "work_seconds": round(self.work_seconds, 3),  # from the workers' start to the last task's end
            "task_seconds": round(self.task_seconds, 3),  # summed over the workers: the rest is overhead
            "estimator": self.estimator, "random_weights": self.estimator == "propose" and self.settings.files.checkpoint is None,
            "manifest": str(self.manifest.path) if self.manifest.path else None,
            "clips": {"total": len(records), "done": len(done), "skipped": sum(r.skipped for r in done),
                      "failed": sum(r.state == FAILED for r in records),
                      "pending": sum(r.state == PENDING for r in records)},
            "frames": frames, "frames_per_second": round(frames / seconds, 3) if seconds > 0 else 0.0,
            "clips_per_minute": round(60 * len(worked) / seconds, 3) if seconds > 0 else 0.0,
            "retries": sum(r.attempts for r in records),
            "failures": [{"input": r.input, "kind": r.error_kind, "message": r.error} for r in records if r.state == FAILED],
            "results": [{"input": c.job.input.as_posix(), "output": c.job.output.as_posix(), **_brief(self.records[c.number])}
                        for c in self.clips],
        }


def _brief(record: ClipRecord) -> dict[str, Any]:
    return {"state": record.state, "skipped": record.skipped, "frames": record.frames,
            "valid_frames": record.valid_frames, "seconds": round(record.seconds, 3), "attempts": record.attempts,
            "error": record.error, "warnings": record.warnings, "converted": sorted(record.conversions)}


def _count(clip: Clip) -> int | None:
    return frame_count(clip.job.input) if clip.job.input.suffix.lower() in VIDEO_SUFFIXES else 1


def _finished_file(path: Path) -> bool:
    """A piece counts when its results file and its body evidence are complete on disk."""
    return path.is_file() and not chunk_dir(path).exists() and evidence_path(path).is_file()


def _worker_layout(batch: BatchSettings, device: str, tasks: int) -> tuple[int, float, float]:
    """How many workers, and the CPUs and GPUs each holds, from what Ray sees in the cluster."""
    import ray

    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if device != "cpu" else 0
    cpus = float(resources.get("CPU", 1))
    count = batch.workers or (gpus or 1)
    count = max(1, min(count, tasks))
    if gpus:
        return count, batch.cpus_per_worker or 1.0, 1.0
    return count, batch.cpus_per_worker or max(1.0, float(int(cpus // count))), 0.0


def run_batch(jobs: list[Job], request: EstimateRequest, settings: EstimatorSettings, options: EstimateOptions,
              batch: BatchSettings | None = None, report: BatchReport | None = None,
              cancel: threading.Event | None = None) -> dict[str, Any]:
    """Run the batch; returns the JSON summary it also writes (see docs/batches.md)."""
    batch = batch or BatchSettings()
    report = report or BatchReport()
    cancel = cancel or threading.Event()
    if batch.use_ray and request.batch_size is None:  # the default batch size is the workers' device's
        options, settings = dataclasses.replace(options, batch_size=0), dataclasses.replace(settings, batch_size=0)
    state = _Batch(jobs, request, settings, options, batch, report, cancel)
    workers, stop_ray = 0, False
    if state.queue:
        if batch.use_ray:
            stop_ray = start_ray(batch.ray_address, batch.debug)
        try:
            if batch.use_ray:
                count, cpus, gpus = _worker_layout(batch, settings.device, len(state.queue))
                pool: LocalPool | RayPool = RayPool(request.estimator, settings, request.allow_random_weights,
                                                    count, cpus, gpus, batch.blender_python)
            else:
                progress = lambda task, p: _local_progress(state, p)  # noqa: E731
                pool = LocalPool(request.estimator, settings, request.allow_random_weights, progress, cancel,
                                 batch.blender_python)
            workers = pool.size
            for warning in pool.warnings:
                report.warning(warning)
            try:
                state.run(pool)
            finally:
                pool.stop()
        finally:
            if stop_ray:
                import ray

                ray.shutdown()
    state.show(final=True)
    summary = state.summary(workers, batch.ray_address)
    path = batch.summary or (state.manifest.path.with_name(SUMMARY_NAME) if state.manifest.path else None)
    summary["summary_file"] = str(path) if path else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if batch.use_ray or len(state.clips) > 1:
        report.finished(summary)
    return summary


def _local_progress(state: _Batch, progress: Progress) -> None:
    if progress.phase == "estimating":
        state.show(progress.done)

