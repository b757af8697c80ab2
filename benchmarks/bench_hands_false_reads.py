"""Hands that are not the performer's: the kept hand reads on the street clip against labels made by eye.

MediaPipe's hand landmarker reads a patterned bag, a skirt, bystanders' hands and the hugging
partner's hands as hands, with confidence over 0.5 (docs/hands.md, *False hand reads on footage*).
`benchmarks/street_hand_labels.json` labels every read the product's single-person instant run made
on the whole clip (main before the check). This runs that same run twice in one sitting, with
`hands.plausible.belongs` off (the reads `assign` keeps by the wrist's distance alone, as before) and
on, and prints for each the precision of the kept reads (the performer's own hand on its side, of the
labelled reads kept), their recall (of the labelled frames and sides where her own hand was read),
and how many hands and landmarker reads there were. A kept read is matched to its label by frame and
wrist pixel (within MATCH_PX); with the check on the landmarker's back-off (`looks_for`) may read on
other frames, and reads no label matches are counted apart.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_hands_false_reads.py [--frames 205] [--data ../shared/data]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

import propose_backend  # noqa: F401,E402,I001 - first: its OpenMP settings apply before torch loads, as in the product

import json  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

from propose_backend.estimators import open_estimator  # noqa: E402
from propose_backend.hands import landmarks  # noqa: E402
from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files  # noqa: E402
from propose_backend.request import FrameRange  # noqa: E402
from bench_hands_time import street_options  # noqa: E402 - the same command line and clip

LABELS = ROOT / "benchmarks" / "street_hand_labels.json"
MATCH_PX = 12.0  # a read's wrist this close to a labelled one on the same frame is that read (hands there are 25-60 px long)
SIDES = ("left", "right")


def run(clip: Path, frames: int, check: bool) -> tuple[list[tuple[int, int, np.ndarray]], int]:
    """The product's run; returns the kept reads (frame, side, wrist pixel) and the landmarker's read count."""
    assign, find, reads = landmarks.assign, landmarks.HandLandmarker.find, landmarks.HandLandmarker._reads
    kept: list[tuple[int, int, np.ndarray]] = []
    calls = [0]
    frame = [0]

    def assigned(found, wrists, hand_px, cropped, pose_pixels=None):  # noqa: ANN001, ANN202 - the check on or off
        chosen = assign(found, wrists, hand_px, cropped, pose_pixels if check else None)
        kept.extend((frame[0], h, read.pixels[0].copy()) for h, read in enumerate(chosen) if read is not None)
        return chosen

    def finding(self, image, pose_pixels, number=None):  # noqa: ANN001, ANN202 - notes the frame number
        frame[0] = -1 if number is None else int(number)
        return find(self, image, pose_pixels, number)

    def reading(self, *a):  # noqa: ANN001, ANN002, ANN202 - counts landmarker calls
        calls[0] += 1
        return reads(self, *a)

    landmarks.assign, landmarks.HandLandmarker.find, landmarks.HandLandmarker._reads = assigned, finding, reading
    try:
        estimator, _ = open_estimator("keypoints", EstimatorSettings(find_model_files(None)))
        with tempfile.TemporaryDirectory() as folder:
            estimate_file(clip, Path(folder) / "street.npz", estimator, EstimateOptions(frames=FrameRange(0, frames)))
        estimator.close()
    finally:
        landmarks.assign, landmarks.HandLandmarker.find, landmarks.HandLandmarker._reads = assign, find, reads
    return kept, calls[0]


def score(kept: list[tuple[int, int, np.ndarray]], labels: list[dict], frames: int) -> dict:
    """Counts of kept reads by label, and the labelled own hand-frames."""
    counts = {"own": 0, "wrong": 0, "unsure": 0, "unlabelled": 0}
    wrong: list[str] = []
    for frame, h, wrist in kept:
        near = [lab for lab in labels if lab["frame"] == frame
                and np.linalg.norm(np.subtract(lab["wrist_px"], wrist)) < MATCH_PX]
        if not near:
            counts["unlabelled"] += 1
            continue
        lab = min(near, key=lambda lab: np.linalg.norm(np.subtract(lab["wrist_px"], wrist)))
        if lab["hand"] == "unsure":
            counts["unsure"] += 1
        elif lab["hand"] == SIDES[h]:
            counts["own"] += 1
        else:
            counts["wrong"] += 1
            wrong.append(f"{frame}{'LR'[h]} ({lab['what']})")
    own = {(lab["frame"], lab["hand"]) for lab in labels if lab["hand"] in SIDES and lab["frame"] < frames}
    return {**counts, "own_frames": len(own), "wrong_list": wrong}


def main() -> None:
    args, clip = street_options(__doc__.split("\n\n")[0], 205)
    labels = json.loads(LABELS.read_text())["reads"]
    for check in (False, True):
        kept, calls = run(clip, args.frames, check)
        s = score(kept, labels, args.frames)
        judged = s["own"] + s["wrong"]
        print(f"check {'on ' if check else 'off'}: {len(kept)} hands kept in {args.frames} frames "
              f"({calls / args.frames:.2f} landmarker reads per frame); of them her own hand on its side {s['own']}, "
              f"not {s['wrong']}, unsure {s['unsure']}, unlabelled {s['unlabelled']}")
        print(f"  precision {s['own']}/{judged} = {s['own'] / max(judged, 1):.2f}, "
              f"recall {s['own']}/{s['own_frames']} = {s['own'] / max(s['own_frames'], 1):.2f}")
        print("  kept, not hers: " + (", ".join(s["wrong_list"]) or "none"))


if __name__ == "__main__":
    main()
