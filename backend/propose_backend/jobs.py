"""Several inputs in one call: one results file each, and one worker process per GPU.

With one device the estimator is loaded once and the inputs run one after another. With several
GPUs (device auto/cuda, more than one input) each GPU gets a worker process with its own model;
the workers take the next input as they finish, so long and short clips balance out.
"""
from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .estimators import choose_estimator, open_estimator, startup_warnings
from .inference.errors import InferenceError
from .inference.footage import is_footage
from .inference.pipeline import EstimateOptions, Progress, RunSummary, estimate_file
from .inference.protocol import Estimator, EstimatorSettings

RESULTS_SUFFIX = ".propose.npz"


@dataclass
class Job:
    input: Path
    output: Path


@dataclass
class Outcome:
    job: Job
    summary: RunSummary | None = None
    error: InferenceError | None = None


def plan_jobs(inputs: list[str], output: str | None) -> list[Job]:
    """Expand folders and name the outputs: `output` is a file for one input, else a folder.

    Without `output` each results file goes next to its input as NAME.propose.npz.
    """
    paths: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if is_footage(p))
            if not found:
                raise InferenceError("missing_file", f"the folder {path} holds no images or videos.")
            paths.extend(found)
        else:
            paths.append(path)
    single = len(paths) == 1 and not Path(inputs[0]).is_dir()
    out = Path(output).expanduser() if output else None
    if single and out is not None and not out.is_dir():
        return [Job(paths[0], out)]
    if out is not None and out.suffix == ".npz":
        raise InferenceError("bad_request", f"--output {out} names a file, but there are {len(paths)} inputs; "
                                            "give a folder (one results file per input goes there).")
    jobs = [Job(p, (out or p.parent) / (p.stem + RESULTS_SUFFIX)) for p in paths]
    seen: dict[Path, Path] = {}
    for job in jobs:
        if job.output in seen:
            raise InferenceError("bad_request", f"{seen[job.output]} and {job.input} would both write "
                                                f"{job.output}; run them in separate calls.")
        seen[job.output] = job.input
    return jobs


def worker_devices(device: str, job_count: int) -> list[str]:
    """One entry per worker: every GPU when there are several GPUs and several inputs, else `device`."""
    gpus = torch.cuda.device_count()
    if device in ("auto", "cuda") and gpus > 1 and job_count > 1:
        return [f"cuda:{i}" for i in range(min(gpus, job_count))]
    return [device]


def _run_one(estimator: Estimator, job: Job, options: EstimateOptions,
             progress: Callable[[Progress], None] | None, cancel: threading.Event | None) -> Outcome:
    try:
        return Outcome(job, summary=estimate_file(job.input, job.output, estimator, options, progress, cancel))
    except InferenceError as exc:
        return Outcome(job, error=exc)
    except OSError as exc:  # e.g. the disk filled up: this input failed, the next may still run
        return Outcome(job, error=InferenceError("bad_request", f"{exc.filename or job.output}: {exc.strerror or exc}"))


# --- worker processes (one per GPU) -------------------------------------------------------------

_worker: dict = {}


def _init_worker(devices: multiprocessing.Queue, requested: str, settings: EstimatorSettings,
                 allow_random_weights: bool) -> None:
    settings.device = devices.get()
    _worker["estimator"], _ = open_estimator(requested, settings, allow_random_weights)
    _worker["device"] = settings.device


def _worker_job(job: Job, options: EstimateOptions) -> Outcome:
    def report(p: Progress) -> None:
        if p.phase == "estimating":
            total = "?" if p.total is None else p.total
            print(f"[{_worker['device']}] {job.input.name}: {p.done}/{total} frames, {p.fps:.1f} fps",
                  file=sys.stderr, flush=True)

    return _run_one(_worker["estimator"], job, options, report, None)


def run_jobs(jobs: list[Job], requested: str, settings: EstimatorSettings, options: EstimateOptions,
             allow_random_weights: bool = False, devices: list[str] | None = None,
             progress: Callable[[Job, Progress], None] | None = None,
             cancel: threading.Event | None = None,
             on_loaded: Callable[[list[str]], None] | None = None,
             on_finished: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every job; failures of one input are recorded and the others still run.

    on_loaded receives the startup warnings (random weights, demo body) once the estimator is chosen;
    on_finished each outcome as soon as its input is done.
    """
    finished = on_finished or (lambda _outcome: None)
    devices = devices or [settings.device]
    if len(devices) == 1:
        settings.device = devices[0]
        estimator, warnings = open_estimator(requested, settings, allow_random_weights)
        if on_loaded:
            on_loaded(warnings)
        outcomes = []
        try:
            for job in jobs:
                if cancel is not None and cancel.is_set():
                    break
                report = (lambda p, job=job: progress(job, p)) if progress else None
                outcomes.append(_run_one(estimator, job, options, report, cancel))
                finished(outcomes[-1])
        finally:
            estimator.close()
        return outcomes
    name = choose_estimator(requested, settings.files, allow_random_weights)  # fail here, not in every worker
    if on_loaded:
        on_loaded(startup_warnings(name, settings.files))
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked children
    queue = context.Queue()
    for device in devices:
        queue.put(device)
    with ProcessPoolExecutor(len(devices), mp_context=context, initializer=_init_worker,
                             initargs=(queue, requested, settings, allow_random_weights)) as pool:
        futures = [pool.submit(_worker_job, job, options) for job in jobs]
        for future in as_completed(futures):
            finished(future.result())
        return [future.result() for future in futures]
