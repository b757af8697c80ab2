"""The hand landmarker alone on the rendered benchmark's frames: how well MediaPipe reads the
rendered hands, before any finger posterior.

The frames are bench_hands_rendered.py's (same seed, poses, views, distances and backgrounds); each
is read as the instant-mode estimator reads it (BlazePose, the crops of hands/landmarks.py,
MediaPipe's palm detector and hand landmarker). Against the true landmarks (Anny's wrist and
finger joints, the fingertips carried by their last bone) it prints the hands read, the 2D error in
% of the hand's length, the PA-MPJPE of the landmarks the posterior is given (21 points, mm) and
how curled they look against the truth (summed bend along each finger, mean over the fingers), by
pose. `--zoom 2` renders every frame at twice the resolution (hands twice as many pixels long),
`--smooth` shades the body smoothly instead of in flat faces: both ask whether the pictures, not the
landmarker, limit the reading.

    PYTHONPATH=backend:benchmarks python benchmarks/bench_hand_reading.py [--frames 60] [--zoom 2] [--smooth]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch

from bench_hands_rendered import FOCAL, HEIGHT, NAMED, WIDTH, pa_mpjpe, pose
from hand_scene import Scene, hand_points, render
from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.geometry import project
from propose_backend.hands.fingers import HandAnatomy, observed_curl_deg
from propose_backend.hands.landmarks import HandLandmarker
from propose_backend.inference.detect import BlazePoseDetector


def curl_deg(world: np.ndarray) -> float:
    return float(observed_curl_deg(torch.as_tensor(world)[None])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zoom", type=float, default=1.0, help="image size and focal length times this")
    parser.add_argument("--smooth", action="store_true", help="smooth shading (smooth_shading.py)")
    parser.add_argument("--tracking", action="store_true", help="read the frames as one clip (landmarker tracking)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rest_hands = anny_body().hand_rest(DEFAULT_PHENOTYPE)[0]
    anatomy = HandAnatomy.from_rest(rest_hands)
    scene = Scene(int(WIDTH * args.zoom), int(HEIGHT * args.zoom), FOCAL * args.zoom)
    blazepose, landmarker = BlazePoseDetector(video=False), HandLandmarker(video=args.tracking)
    rows, unread, spent = [], 0, []
    for k in range(args.frames):
        name = NAMED[k % len(NAMED)] if k < args.frames // 2 else "random"  # the benchmark's own sequence
        body, fingers = pose(rng, anatomy, name)
        local = np.concatenate([body, fingers])
        distance = rng.uniform(1.8, 3.0)
        image, _ = render(local, distance, scene, tuple(int(c) for c in rng.integers(90, 200, 3)), smooth=args.smooth)
        found = blazepose.detect(image)
        if not found:
            continue
        pixels = np.c_[found[0].landmarks[:, :2] * (scene.width, scene.height), found[0].landmarks[:, 3]]
        t = time.perf_counter()
        seen = landmarker.find(image, pixels)
        spent.append(time.perf_counter() - t)
        truth = hand_points(local, distance, rest_hands)
        for h in (0, 1):
            if seen.score[h] <= 0:
                unread += 1
                continue
            true_px = project(truth[h], scene.focal, (scene.width / 2, scene.height / 2))
            length = 2.0 * np.linalg.norm(true_px[9] - true_px[0])  # wrist to middle knuckle, twice
            error_2d = 100.0 * np.linalg.norm(seen.pixels[h] - true_px, axis=1).mean() / length
            rows.append((name, length, error_2d, 1000.0 * pa_mpjpe(seen.world[h], truth[h] - truth[h, 0]),
                         curl_deg(seen.world[h]), curl_deg(truth[h] - truth[h, 0])))
    blazepose.close()
    landmarker.close()
    look = f"zoom {args.zoom:g}, {'smooth' if args.smooth else 'flat'} shading, {'tracking' if args.tracking else 'stills'}"
    print(f"{args.frames} frames ({look}): hands read {len(rows)} of {len(rows) + unread}; "
          f"landmarker {1000 * np.median(spent):.0f} ms per frame (median)")
    names = np.array([r[0] for r in rows])
    figures = np.array([r[1:] for r in rows])
    for label, sel in [("all", np.ones(len(rows), bool))] + [(n, names == n) for n in sorted(set(names))]:
        f = figures[sel]
        print(f"  {label:10s} {sel.sum():3d} hands, {np.median(f[:, 0]):3.0f} px long: 2D error {np.mean(f[:, 1]):4.1f} % "
              f"of the hand, PA-MPJPE {np.mean(f[:, 2]):4.1f} mm, curl read {np.mean(f[:, 3]):3.0f}° "
              f"(true {np.mean(f[:, 4]):3.0f}°)")


if __name__ == "__main__":
    main()
