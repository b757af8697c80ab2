#!/usr/bin/env python3
"""How fast the review queue is on a long clip: building it at import, and each jump.

    python benchmarks/bench_review.py [--frames 10000] [--fingers]

Runs under the bpy module on a synthetic 10,000-frame results file (bench_keyframes' generator):
times the queue's one read of the 24 uncertainty curves, the spans for a threshold, the
timeline markers, a Next-uncertain jump (frame change + bone selection, through the operator)
and a threshold change. With --fingers the file has the 30 finger bones too (54 uncertainty curves;
the body and each hand have spans of their own).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "backend"), str(ROOT / "benchmarks")]

import bpy  # noqa: E402

from bench_keyframes import synthetic_results  # noqa: E402
from propose_backend.results import write_results  # noqa: E402
import propose_blender  # noqa: E402
from propose_blender import importer, review  # noqa: E402


def timed(function, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--fingers", action="store_true", help="with finger bones and their uncertainty")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_results(Path(folder) / "long.npz", synthetic_results(args.frames, 2, hands=args.fingers))
        bpy.ops.wm.read_factory_settings(use_empty=True)
        propose_blender.register()
        scene = bpy.context.scene
        scene.propose_review.show_markers = False
        rig = importer.import_results(bpy.context, path).rig
        bpy.context.view_layer.objects.active = rig
        build = timed(lambda: review.build(rig), 5)
        spans = timed(lambda: (review._queues.clear(), review.queue(rig, 40.0)), 20)
        found = review.queue(rig, 40.0)
        markers = timed(lambda: review.update_markers(scene, rig, found), 3)
        scene.frame_set(1)
        jumps = [timed(lambda: bpy.ops.propose.review_next()) for _ in range(20)]
        scene.propose_review.show_markers = True
        threshold = timed(lambda: setattr(scene.propose_review, "threshold", scene.propose_review.threshold + 0.5), 5)
    bones = 54 if args.fingers else 24
    print(f"review queue, {args.frames} frames x {bones} bones, {len(found)} spans at 40°:")
    print(f"  build (read {bones} uncertainty curves): {build * 1e3:7.2f} ms")
    print(f"  spans for a threshold:              {spans * 1e3:7.2f} ms")
    print(f"  timeline markers ({min(len(found), review.MAX_MARKERS)}) + span strip:  {markers * 1e3:7.2f} ms")
    print(f"  Next uncertain (operator, median):  {sorted(jumps)[len(jumps) // 2] * 1e3:7.2f} ms")
    print(f"  threshold change (spans + markers): {threshold * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
