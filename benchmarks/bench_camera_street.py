"""Street video, hand-held camera: the body in the world with the camera taken as still (before) and solved (after).

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_camera_street.py [--raw RESULTS.npz] [--plot docs/img/x.png]

Runs the instant-mode estimate of ../shared/data/footage/street_crowd_720p50.avi unsmoothed (or
reads --raw, an earlier such run, and then times nothing but the solve), then smooths it twice in
this one run: camera still (what every version before schema 3 did) and camera solved
(propose_backend.camera). Figures, in the world each file defines (`world_from_camera`: z up,
floor z = 0): pelvis height over the floor (range, std), share of frames whose lowest foot point
is within 5 cm of the floor, share of frames with a foot in contact (p > 0.5), and the solve's
time against the estimate's. The camera path (pan/tilt/roll per frame) goes to --plot.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "backend")]

import argparse
import shutil
import tempfile
import time

import numpy as np

from propose_backend import results
from propose_backend.camera import relative_transforms, solve_results_footage, with_travel
from propose_backend.inference.footage import open_rows
from propose_backend.temporal import smooth_results
from propose_backend.temporal.ground import FOOT_POINTS

CLIP = HERE.parent.parent / "shared" / "data" / "footage" / "street_crowd_720p50.avi"


def world_points(data: dict) -> np.ndarray:
    """(T, 35, 3) posed points in the world of the file (its world_from_camera)."""
    cam = np.asarray(data["joints3d"], np.float64) + np.asarray(data["transl"], np.float64)[:, None]
    M = np.asarray(data["world_from_camera"], np.float64)
    return np.einsum("tij,tpj->tpi", M[:, :3, :3], cam) + M[:, None, :3, 3]


def figures(data: dict) -> dict:
    valid = np.asarray(data["valid"], bool)
    pts = world_points(data)[valid]
    feet = pts[:, [i for idx in FOOT_POINTS.values() for i in idx]]
    lowest = feet[..., 2].min(1)
    pelvis = pts[:, 0, 2]
    contact = (np.asarray(data["contacts"])[valid] > 0.5).any(1)
    return dict(pelvis_min=pelvis.min(), pelvis_max=pelvis.max(), pelvis_std=pelvis.std() * 100,
                foot_5cm=np.mean(np.abs(lowest) < 0.05) * 100, lowest_max=np.abs(lowest).max(),
                contact=contact.mean() * 100)


def estimate(out: Path) -> float:
    from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files
    from propose_backend.estimators import open_estimator

    estimator, _ = open_estimator("keypoints", EstimatorSettings(find_model_files()))
    try:
        started = time.perf_counter()
        estimate_file(CLIP, out, estimator, EstimateOptions(smooth=0.0, still_camera=True))
        return time.perf_counter() - started
    finally:
        estimator.close()


def plot(rotations: np.ndarray, fps: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.spatial.transform import Rotation

    # camera-t → camera-0 rotation as pan (about y, down), tilt (about x, right), roll (about z, forward)
    pan, tilt, roll = Rotation.from_matrix(rotations).as_euler("YXZ", degrees=True).T
    t = np.arange(len(rotations)) / fps
    fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
    for values, label in ((pan, "pan (+ = right)"), (-tilt, "tilt (+ = up)"), (roll, "roll (+ = clockwise)")):
        ax.plot(t, values, label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("degrees from the first frame")
    ax.set_title("Street clip: solved camera rotation")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", type=Path, help="an unsmoothed instant-mode estimate of the clip (skips the estimate)")
    parser.add_argument("--plot", type=Path, help="where to save the camera-path plot (PNG)")
    parser.add_argument("--keep", type=Path, help="folder to keep the before/after results files in")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="propose_street_"))
    raw_path = work / "street_raw.npz"
    estimate_s = None
    if args.raw:
        shutil.copy(args.raw, raw_path)
    else:
        estimate_s = estimate(raw_path)
    data = results.read_results(raw_path)
    started = time.perf_counter()
    path = solve_results_footage(data, open_rows(data, CLIP), travel=False)
    rotation_s = time.perf_counter() - started
    T = len(data["frame_index"])
    turned = smooth_results(dict(data, world_from_camera=relative_transforms(path, T)))  # rotation only
    started = time.perf_counter()
    path = with_travel(data, path)
    travel_s = time.perf_counter() - started
    solve_s = rotation_s + travel_s  # the smoothing in between not counted
    print("camera solve:", path.describe())

    before = smooth_results(data)
    solved = dict(data, world_from_camera=relative_transforms(path, T))
    after = smooth_results(solved)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        results.write_results(args.keep / "street_before.npz", before)
        after["meta"] = {**after.get("meta", {}), "camera": path.describe()}
        results.write_results(args.keep / "street_after.npz", after)
    rows = [("camera still", figures(before)), ("rotation only", figures(turned)),
            ("rotation + travel", figures(after))]
    print(f"\n{T} frames | pelvis height over floor m (min–max, std cm) | lowest foot within 5 cm | "
          "largest lowest-foot distance m | a foot in contact")
    for name, f in rows:
        print(f"{name:22s} {f['pelvis_min']:.2f}–{f['pelvis_max']:.2f} (std {f['pelvis_std']:.1f} cm) | "
              f"{f['foot_5cm']:.0f} % | {f['lowest_max']:.2f} | {f['contact']:.0f} %")
    if estimate_s is not None:
        print(f"\nestimate {estimate_s:.1f} s, camera solve {solve_s:.1f} s ({100 * solve_s / estimate_s:.0f} % of it; "
              f"of which the travel pass {travel_s:.1f} s)")
    else:
        print(f"\ncamera solve {solve_s:.1f} s (of which the travel pass {travel_s:.1f} s)")
    if args.plot:
        plot(path.rotations, float(data["fps"]), args.plot)
        print("camera path plot:", args.plot)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
