"""Long clips: peak memory and time of `smooth_results` on a synthetic clip of N frames.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_temporal_long.py [--frames 10000] [--samples 8]

The clip is the temporal tests' synthetic one (every joint on its own slow sinusoids, 10° noise,
a walking path). Peak memory is what tracemalloc saw numpy allocate during the call (the input
clip itself excluded) with --trace (slow: it hooks every allocation); otherwise the growth of the
process's peak resident size over the call (Linux: VmHWM reset through /proc/self/clear_refs).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "backend")]  # run from a checkout

import argparse
import time
import tracemalloc

import numpy as np

from propose_backend.temporal import smooth_results
from tests.backend.temporal.synthetic import clip, true_motion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--trace", action="store_true", help="measure with tracemalloc instead (slow)")
    args = parser.parse_args()
    T = args.frames
    t = np.arange(T) / 30.0
    path = np.stack([0.5 * np.sin(0.2 * t), np.zeros(T), 4.0 + 0.3 * np.cos(0.1 * t)], -1)
    data, _ = clip(true_motion(T), samples=args.samples, transl=path)
    input_mb = sum(v.nbytes for v in data.values() if isinstance(v, np.ndarray)) / 2**20
    if args.trace:
        tracemalloc.start()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    out = smooth_results(data)
    seconds = time.perf_counter() - started
    if args.trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        how = "traced numpy/Python allocations"
    else:
        peak = _status_mb("VmHWM") - before
        how = "growth of the process's peak resident size"
    output_mb = sum(v.nbytes for k, v in out.items() if isinstance(v, np.ndarray) and k not in data) / 2**20
    print(f"{T} frames, {args.samples} ghosts: smoothing took {seconds:.1f} s ({1000 * seconds / T:.2f} ms/frame)")
    print(f"peak memory of smooth_results ({how}): {peak:.0f} MB "
          f"(input clip {input_mb:.0f} MB, new output arrays {output_mb:.0f} MB)")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only; use --trace)")


if __name__ == "__main__":
    main()
