"""Street video: per-bone frame-to-frame change before/after temporal smoothing, repairs, time.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_temporal_street.py RESULTS.npz [--strength 1]

RESULTS.npz is an instant-mode (or network) estimate of ../shared/data/footage/street_crowd_720p50.avi
made with --no-smooth (or any smoothed file: the raw values inside are used). Prints figures only.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from propose_backend.results import read_results
from propose_backend.skeleton import SMPL_JOINT_NAMES
from propose_backend.temporal import raw_frames, smooth_results, so3


def _changes(rotmats: np.ndarray, valid: np.ndarray) -> np.ndarray:
    both = valid[1:] & valid[:-1]
    return so3.angle_deg(rotmats[1:].astype(np.float64), rotmats[:-1].astype(np.float64))[both]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--strength", type=float, default=1.0)
    args = parser.parse_args()
    data = read_results(args.results)
    raw = raw_frames(data)
    started = time.perf_counter()
    smoothed = smooth_results(data, strength=args.strength)
    seconds = time.perf_counter() - started
    before, after = _changes(raw["rotmats"], raw["valid"]), _changes(smoothed["rotmats"], smoothed["valid"])
    print(f"{len(raw['valid'])} frames, strength {args.strength}, smoothing took {seconds:.2f} s")
    print(f"{'bone':16s} {'mean before':>11s} {'max before':>10s} {'mean after':>10s} {'max after':>9s}")
    for j, name in enumerate(SMPL_JOINT_NAMES):
        print(f"{name:16s} {before[:, j].mean():11.1f} {before[:, j].max():10.1f} "
              f"{after[:, j].mean():10.1f} {after[:, j].max():9.1f}")
    print(f"{'all bones':16s} {before.mean():11.1f} {before.max():10.1f} {after.mean():10.1f} {after.max():9.1f}")
    meta = smoothed["meta"]["temporal"]
    print("repaired frames:", meta["repaired_frames"], "down-weighted joint measurements:",
          meta["downweighted_measurements"], "bridged:", meta["bridged_frames"])
    depth = lambda x: np.abs(np.diff(x[:, 2])).mean() * 100  # noqa: E731
    print(f"pelvis depth change per frame: {depth(raw['transl']):.1f} cm before, {depth(smoothed['transl']):.1f} cm after")
    print("floor (camera frame n, d):", np.round(smoothed["floor"], 3).tolist())
    print("frames with a foot in contact (p > 0.5): left", int((smoothed["contacts"][:, 0] > 0.5).sum()),
          "right", int((smoothed["contacts"][:, 1] > 0.5).sum()))


if __name__ == "__main__":
    main()
