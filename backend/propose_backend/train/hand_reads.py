"""Training reads for the hand read correction (hands/correction.py): the Anny body rendered by the
project's renderer with both hands in random finger poses within the anatomical limits, random arm
and wrist turns, viewpoints, distances and backgrounds, each frame read as the product reads a still
(BlazePose, the hand crops, MediaPipe's palm detector and hand landmarker).

Half the hands draw every joint independently anywhere in its range; the other half curl each
finger's three joints together around one random level (fingers do bend together). Neither uses the
benchmark's named poses, frames or seed (bench_hands_rendered.py uses seed 0). Rendering uses the
benchmarks' hand scene (benchmarks/hand_scene.py), so this runs from a checkout of the repository.

    PYTHONPATH=backend python -m propose_backend.train.hand_reads --seed 1001 --frames 1200 --out reads_train.npz
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..anatomy import _compose
from ..body.anny_body import DEFAULT_PHENOTYPE, anny_body
from ..hands.fingers import HandAnatomy

WIDTH, HEIGHT, FOCAL = 720, 960, 900.0
BENCHMARK_SEED = 0  # bench_hands_rendered.py's: never used for training reads
FIELDS = ("world", "pixels", "score", "size", "comp", "truth", "side", "frame")


def finger_fractions(rng: np.random.Generator) -> np.ndarray:
    """(15, 3) positions inside each joint's (flexion, abduction, twist) range; twist near neutral."""
    if rng.random() < 0.5:
        f = rng.uniform(0.0, 1.0, (15, 3))
    else:  # one curl level per finger, its joints near it
        level = rng.uniform(0.0, 1.0, 5)
        f = rng.uniform(0.0, 1.0, (15, 3))
        f[:, 0] = np.clip(np.repeat(level, 3) + rng.normal(scale=0.12, size=15), 0.0, 1.0)
    f[:, 2] = 0.5 + 0.3 * (f[:, 2] - 0.5)
    return f


def body_pose(rng: np.random.Generator) -> np.ndarray:
    """(24, 3, 3) local rotations: facing the camera within ±50°, arms forward, elbows bent, wrists
    turned at random, so both hands show in many orientations."""
    _scene_module()
    from hand_scene import random_arms_forward

    return random_arms_forward(rng, yaw=0.9, shoulder=(0.3, 0.25), elbow=0.35, wrist=0.6)


def _scene_module() -> None:
    benchmarks = Path(__file__).resolve().parents[3] / "benchmarks"
    if not (benchmarks / "hand_scene.py").exists():
        raise RuntimeError(f"Rendering training reads needs the repository's benchmarks folder ({benchmarks}); run "
                           "this from a checkout of the repository.")
    if str(benchmarks) not in sys.path:
        sys.path.insert(0, str(benchmarks))


def render_reads(seed: int, frames: int, out: Path | None = None, log: bool = False) -> dict[str, np.ndarray]:
    """Rendered frames read by the landmarker: per read hand its read landmarks (`world`, camera
    axes, wrist at 0), `pixels`, `score`, crop `size`, the true components `comp` (15, 3) and true
    landmarks `truth` (wrist at 0), `side` and `frame`. Saved to `out` every 25 frames if given."""
    if seed == BENCHMARK_SEED:
        raise ValueError("Seed 0 is the rendered benchmark's; training reads must use another seed.")
    _scene_module()
    from hand_scene import Scene, hand_points, render

    from ..hands.landmarks import HandLandmarker
    from ..inference.detect import BlazePoseDetector

    rng = np.random.default_rng(seed)
    rest_hands = anny_body().hand_rest(DEFAULT_PHENOTYPE)[0]
    anatomy = HandAnatomy.from_rest(rest_hands)
    blazepose, landmarker = BlazePoseDetector(video=False), HandLandmarker(video=False)
    rows: dict[str, list] = {key: [] for key in FIELDS}
    start = time.time()
    try:
        for k in range(frames):
            body = body_pose(rng)
            fractions = [finger_fractions(rng) for _ in (0, 1)]
            comps = [(anatomy.low[s] + torch.as_tensor(fractions[s]) * (anatomy.high[s] - anatomy.low[s])).numpy()
                     for s in (0, 1)]
            hands = [_compose(torch.as_tensor(comps[s]), anatomy.frames[s]).numpy() for s in (0, 1)]
            local = np.concatenate([body, *hands])
            distance = rng.uniform(1.6, 3.2)
            image, _ = render(local, distance, Scene(WIDTH, HEIGHT, FOCAL),
                              tuple(int(c) for c in rng.integers(60, 220, 3)))
            found = blazepose.detect(image)
            if found:
                pixels = np.c_[found[0].landmarks[:, :2] * (WIDTH, HEIGHT), found[0].landmarks[:, 3]]
                seen = landmarker.find(image, pixels)
                truth = hand_points(local, distance, rest_hands)
                for s in (0, 1):
                    if seen.score[s] > 0:
                        for key, value in zip(FIELDS, (seen.world[s], seen.pixels[s], seen.score[s], seen.size_px[s],
                                                       comps[s], truth[s] - truth[s, 0], s, k)):
                            rows[key].append(value)
            if out is not None and ((k + 1) % 25 == 0 or k == frames - 1):
                np.savez(out, **{key: np.array(v) for key, v in rows.items()})
            if log and (k + 1) % 25 == 0:
                print(f"{k + 1} frames, {len(rows['side'])} hands read, {time.time() - start:.0f} s", flush=True)
    finally:
        blazepose.close()
        landmarker.close()
    return {key: np.array(v) for key, v in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--frames", type=int, default=1200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    render_reads(args.seed, args.frames, args.out, log=True)


if __name__ == "__main__":
    main()
