"""What the hands cost instant mode on real footage: the whole single-person run, as the product
runs it (video, hands tracked, camera solved, smoothing), with the finger steps timed inside it.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_hands_time.py [--frames 80] [--data ../shared/data]

bench_hands_rendered.py times hands on rendered stills: each frame a new scene, so the hand
landmarker runs its palm detector on every frame, and its "without" leaves out BlazePose and the
clip's own work. On footage the landmarker follows the hands it saw last, and the per-frame time
an animator waits for includes everything. Both wall and process CPU time (all threads) are
printed; the CPU figure moves less with other work on a shared machine.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

import propose_backend  # noqa: F401,E402,I001 - first: its OpenMP settings apply before torch loads, as in the product

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from propose_backend.estimators import open_estimator  # noqa: E402
from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files  # noqa: E402
from propose_backend.request import FrameRange  # noqa: E402

STEPS = ("observe", "wrist_evidence", "solve_on_body")  # FingerSolver's per-frame work


def street_options(description: str, frames: int) -> tuple[argparse.Namespace, Path]:
    """The hands' street benchmarks' command line (--data, --frames) and the street clip it names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--frames", type=int, default=frames)
    args = parser.parse_args()
    clip = args.data / "footage" / "street_crowd_720p50.avi"
    if not clip.exists():
        raise SystemExit(f"{clip} not found: pass --data with the shared data folder (its footage/ holds the street clip)")
    return args, clip


def main() -> None:
    args, clip = street_options(__doc__.split("\n\n")[0], 80)
    estimator, _ = open_estimator("keypoints", EstimatorSettings(find_model_files(None)))
    spent = {"wall": 0.0, "cpu": 0.0}
    steps = {step: 0.0 for step in STEPS}  # CPU per step
    solver = estimator.fingers

    def timed(step, fn):  # noqa: ANN001, ANN202 - adds a finger step's time to `spent`
        def run(*a, **k):  # noqa: ANN002, ANN003, ANN202
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent["wall"] += time.perf_counter() - wall
                spent["cpu"] += time.process_time() - cpu
                steps[step] += time.process_time() - cpu
        return run

    for step in STEPS:
        setattr(solver, step, timed(step, getattr(solver, step)))
    with tempfile.TemporaryDirectory() as folder:
        wall, cpu = time.perf_counter(), time.process_time()
        summary = estimate_file(clip, Path(folder) / "street.npz", estimator,
                                EstimateOptions(frames=FrameRange(0, args.frames)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    estimator.close()
    n = summary.frames
    for name, total in (("wall", wall), ("CPU", cpu)):
        hands = spent["wall" if name == "wall" else "cpu"]
        print(f"{name}: {1000 * total / n:.0f} ms per frame with hands, {1000 * (total - hands) / n:.0f} ms without "
              f"(hands add {100 * hands / (total - hands):.0f} %)")
    print("hands' CPU per frame: " + ", ".join(f"{step} {1000 * t / n:.0f} ms" for step, t in steps.items()))
    print(f"{n} frames of {clip.name}; the whole run, opening the clip and the camera solve included")


if __name__ == "__main__":
    main()
