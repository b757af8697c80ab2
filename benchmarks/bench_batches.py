"""Batches of clips: the Ray runner against the process pool it replaced, on the same inputs, in one run.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_batches.py [--rounds 2] [--frames 40]

Inputs: six short clips made at run time in a temporary folder (never committed) from the real
data in ../shared/data: four cuts of the street video (`--frames` frames each, one after another)
and two photos. Instant mode (the keypoints estimator; no licence-gated files), on the CPU.

Each round runs, turn by turn, so load from other processes hits all alike:
  pool-1  the old code path with one device: one estimator in this process, the inputs in turn
  pool-2  the old code path with two devices: a spawned worker process per device ("cpu", "cpu")
  ray-1   the Ray runner, one worker (all the machine's cores)
  ray-2   the Ray runner, two workers (the cores shared out)
Figures: wall time from the call to the last results file (model loading and, for Ray, its start
and shut-down included), clips per minute, frames per second; for Ray also the start-up (Ray, the
worker processes and their model) and the overhead per clip: the time from the workers' start to
the last result beyond the worker's own task time, per clip (one worker).
The best round of each (the least disturbed) is printed, with the median.
"""
from __future__ import annotations

import argparse
import io
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

from propose_backend.batch.report import BatchReport  # noqa: E402
from propose_backend.batch.runner import BatchSettings, run_batch  # noqa: E402
from propose_backend.estimators import open_estimator  # noqa: E402
from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files  # noqa: E402
from propose_backend.jobs import Job  # noqa: E402
from propose_backend.request import EstimateRequest  # noqa: E402
from tests.real_data import PHOTOS, STREET, require, street_frames, write_video  # noqa: E402

# --- the process pool that propose_backend's job runner used before the Ray runner (kept here only) ---

_worker: dict = {}


def _init_worker(devices, settings: EstimatorSettings) -> None:
    settings.device = devices.get()
    _worker["estimator"], _ = open_estimator("keypoints", settings)


def _worker_job(job: Job, options: EstimateOptions) -> int:
    return estimate_file(job.input, job.output, _worker["estimator"], options).frames


def process_pool(jobs: list[Job], settings: EstimatorSettings, options: EstimateOptions, devices: list[str]) -> int:
    """The old run_jobs: one device -> one estimator here, inputs in turn; several -> a spawned process each."""
    if len(devices) == 1:
        estimator, _ = open_estimator("keypoints", settings)
        try:
            return sum(estimate_file(j.input, j.output, estimator, options).frames for j in jobs)
        finally:
            estimator.close()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    for device in devices:
        queue.put(device)
    with ProcessPoolExecutor(len(devices), mp_context=context, initializer=_init_worker,
                             initargs=(queue, settings)) as pool:
        return sum(pool.map(_worker_job, jobs, [options] * len(jobs)))


# --- the benchmark ---------------------------------------------------------------------------------


def make_inputs(folder: Path, frames: int) -> list[Path]:
    decoded = street_frames(list(range(4 * frames)))
    clips = [write_video(folder / f"street_{i}.avi", decoded[i * frames:(i + 1) * frames]) for i in range(4)]
    return clips + [require(p) for p in PHOTOS[:2]]


def run_once(kind: str, workers: int, inputs: list[Path], out: Path) -> dict:
    out.mkdir(parents=True)
    jobs = [Job(p, out / (p.stem + ".propose.npz")) for p in inputs]
    request = EstimateRequest(input="", output=str(out), estimator="keypoints", device="cpu").validate()
    settings = EstimatorSettings(find_model_files(), device="cpu")
    options = EstimateOptions.from_request(request, 1)
    started = time.perf_counter()
    if kind == "pool":
        frames = process_pool(jobs, settings, options, ["cpu"] * workers)
        figures = {}
    else:
        summary = run_batch(jobs, request, settings, options, BatchSettings(workers=workers),
                            BatchReport(stream=io.StringIO()))
        assert summary["clips"]["done"] == len(jobs), summary["failures"]
        frames = summary["frames"]
        loop = summary["work_seconds"]
        figures = {"startup_s": summary["startup_seconds"],
                   "overhead_per_clip_s": (loop - summary["task_seconds"]) / len(jobs) if workers == 1 else None,
                   "task_s": summary["task_seconds"]}
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "frames": frames, "clips_per_min": 60 * len(jobs) / seconds,
            "fps": frames / seconds, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--frames", type=int, default=40, help="frames per street clip")
    args = parser.parse_args()
    require(STREET)
    configs = [("pool", 1), ("ray", 1), ("pool", 2), ("ray", 2)]
    with tempfile.TemporaryDirectory(prefix="propose-bench-batches-") as tmp:
        inputs = make_inputs(Path(tmp), args.frames)
        runs: dict[str, list[dict]] = {f"{k}-{w}": [] for k, w in configs}
        for round_ in range(args.rounds):
            for kind, workers in configs:
                name = f"{kind}-{workers}"
                runs[name].append(run_once(kind, workers, inputs, Path(tmp) / f"out_{name}_{round_}"))
                print(f"round {round_ + 1} {name}: {runs[name][-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    print(f"6 inputs (4 street clips x {args.frames} frames + 2 photos), instant mode, CPU, {args.rounds} rounds; "
          "best round (median)")
    print(f"{'run':8} {'wall s':>14} {'clips/min':>16} {'frames/s':>14} {'Ray start+model s':>18} {'overhead/clip s':>16}")
    best = {}
    for name, found in runs.items():
        top = min(found, key=lambda r: r["seconds"])
        best[name] = top
        med = lambda key: statistics.median(r[key] for r in found)  # noqa: E731
        start = f"{top['startup_s']:.2f}" if "startup_s" in top else "-"
        over = f"{top['overhead_per_clip_s']:.3f}" if top.get("overhead_per_clip_s") is not None else "-"
        print(f"{name:8} {top['seconds']:6.1f} ({med('seconds'):5.1f}) {top['clips_per_min']:7.2f} "
              f"({med('clips_per_min'):5.2f}) {top['fps']:6.2f} ({med('fps'):5.2f}) {start:>18} {over:>16}")
    for workers in (1, 2):
        ratio = best[f"ray-{workers}"]["seconds"] / best[f"pool-{workers}"]["seconds"]
        print(f"{workers} worker(s): Ray / process pool wall time = {ratio:.3f} ({100 * (ratio - 1):+.1f} %)")
    one = best["ray-1"]
    per_clip = one["task_s"] / 6
    print(f"Ray overhead per clip (1 worker, beyond the worker's own time): {one['overhead_per_clip_s']:.3f} s "
          f"= {100 * one['overhead_per_clip_s'] / per_clip:.2f} % of a clip's {per_clip:.2f} s; "
          f"once per run: Ray start + model load {one['startup_s']:.2f} s")


if __name__ == "__main__":
    main()
