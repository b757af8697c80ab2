"""The no-download demo: a real photo through the whole product.

    python dev.py demo [--input PHOTO_OR_VIDEO] [--out out/demo]

Backend (ProPose if its licence-gated files are in model_files/, otherwise keypoint instant mode)
-> results file -> Blender (the bpy module, headless) -> a saved .blend, a still of the camera
view with bones coloured by uncertainty over the photo, and a still of the posterior's
alternative poses. The default photo is the NASA astronaut portrait that ships inside
scikit-image (public domain): her legs are out of frame, which is where uncertainty shows.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

from propose_backend.results import read_results  # noqa: E402
from propose_backend.skeleton import SMPL_JOINT_NAMES  # noqa: E402


def bundled_photo(folder: Path) -> Path:
    """Write scikit-image's astronaut portrait as a PNG (it ships inside the wheel: no download)."""
    import cv2
    from skimage import data

    path = folder / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def uncertainty_table(results: dict) -> str:
    """Per-joint uncertainty of the first frame with a person, as a small text table."""
    frames = np.flatnonzero(results["valid"])
    if not len(frames):
        return "no person was found in any frame"
    k = int(frames[0])
    degrees = results["uncertainty_deg"][k]
    rows = [f"  {name:15s} {deg:6.1f}°  {'#' * int(round(deg / 3))}" for name, deg in zip(SMPL_JOINT_NAMES, degrees)]
    head = (f"Per-bone uncertainty, frame {int(results['frame_index'][k])} (expected angle between a posterior "
            f"sample and the chosen pose; estimator: {results['meta'].get('estimator')}):")
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="a photo or a video (default: the bundled astronaut photo)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    footage = args.input.resolve() if args.input else bundled_photo(args.out)
    stem = footage.stem
    blend, results = args.out / f"{stem}.blend", args.out / f"{stem}.npz"
    overlay, ghosts = args.out / f"{stem}_uncertainty.png", args.out / f"{stem}_ghosts.png"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "backend"), str(ROOT)]))
    command = [sys.executable, "-m", "propose_blender.batch", "--input", str(footage), "--output", str(blend),
               "--results", str(results), "--samples", str(args.samples), "--python", sys.executable,
               "--render", str(overlay), "--render-ghosts", str(ghosts)]
    print(f"Estimating {footage.name} and building the Blender scene ...", flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("propose")]
        print("\n".join(lines[-3:]) or done.stderr[-2000:], file=sys.stderr)
        return done.returncode
    print(uncertainty_table(read_results(results)))
    print(f"\nDone in {time.perf_counter() - start:.0f} s. Files:")
    for label, path in (("photo", footage), ("results", results), ("Blender scene", blend),
                        ("camera view, bones coloured by uncertainty", overlay),
                        ("the pose beside its posterior samples", ghosts)):
        print(f"  {label:45s} {path}")
    print("Open the .blend in Blender 4.2+ with the ProPose add-on for live colours and clickable ghosts.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
