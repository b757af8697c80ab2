"""`propose-backend bench`: the speed figures of docs/performance.md, measured in one run on one device.

Figures: bare-backbone throughput; network + posterior + samples throughput at several batch
sizes; batch-1 latency; the share of posterior + sampling in the forward time; and end-to-end
frames/s of the whole pipeline (decode, detect/track, crop, estimate, write) on a generated
1080p clip. Weights do not change the speed, so random weights are used when no checkpoint is found.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from .inference import EstimateOptions, EstimatorSettings, estimate_file
from .inference.device import NetworkRunner
from .inference.estimator import RANDOM_WEIGHTS_WARNING, open_estimator
from .inference.propose_estimator import ProPoseEstimator
from .skeleton import CROP_SIZE

DEFAULT_BATCHES = (1, 64, 256)
QUICK_BATCHES = (1, 4)
CLIP_SIZE = (1920, 1080)
SAMPLES = 8
# Targets from the tracker issue (H100/H200 class GPU).
TARGETS = {"full_vs_backbone": 0.85, "latency_ms": 8.0, "posterior_share": 0.10, "end_to_end_fps": 300.0}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} ({device})"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU {model}, {torch.get_num_threads()} threads"


def _timed(fn: Callable[[], object], sync: Callable[[], None], min_runs: int, min_seconds: float) -> float:
    """Median seconds per call after one warm-up call."""
    fn()
    sync()
    times: list[float] = []
    begin = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - begin < min_seconds:
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_demo_clip(path: Path, frames: int, size: tuple[int, int] = CLIP_SIZE, fps: float = 30.0) -> Path:
    """A clip of the body users get (Anny) walking across a grey stage, written with OpenCV (mp4v).

    A few poses are rendered once and moved across the frame, so long clips cost little to make.
    """
    import smplx

    from .body import load_body
    from .body.layer import BodyLayer
    from .render import render_mesh

    width, height = size
    body, _ = load_body(None)
    layer = BodyLayer(body)
    focal = float(np.hypot(width, height))
    depth = focal * 1.8 / (0.6 * height)  # the body fills about 60 % of the frame height
    poses = []
    for swing in np.linspace(-0.4, 0.4, 4):
        axis_angle = torch.zeros(24, 3)
        axis_angle[0] = torch.tensor([np.pi, 0.0, 0.0])  # SMPL y-up → camera y-down
        axis_angle[16], axis_angle[17] = torch.tensor([0.0, 0.0, -1.2]), torch.tensor([0.0, 0.0, 1.2])
        axis_angle[1], axis_angle[2] = torch.tensor([swing, 0.0, 0.0]), torch.tensor([-swing, 0.0, 0.0])
        vertices, _, _ = layer(torch.zeros(1, 10), smplx.lbs.batch_rodrigues(axis_angle)[None])
        poses.append(render_mesh(vertices[0].numpy() + np.array([0.0, 0.0, depth]), body.faces,
                                 size=(height, width), focal=focal))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path} with the mp4v codec")
    try:
        for i in range(frames):
            shift = 0.25 * width * np.sin(2 * np.pi * i / max(frames, 60))
            moved = cv2.warpAffine(poses[(i // 4) % len(poses)], np.float32([[1, 0, shift], [0, 1, 0]]),
                                   (width, height), borderMode=cv2.BORDER_CONSTANT, borderValue=(96, 96, 96))
            writer.write(moved)
    finally:
        writer.release()
    return path


def measure(estimator: ProPoseEstimator, batches: tuple[int, ...], clip_frames: int, cuda_graphs: bool,
            quick: bool) -> dict:
    device = estimator.device
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    runs, seconds = (2, 0.0) if quick else (5, 2.0)
    figures: dict = {"device": device_name(device), "torch": torch.__version__,
                     "precision": "bf16 autocast" if estimator.network.bf16 else "fp32",
                     "cuda_graphs": cuda_graphs and device.type == "cuda", "samples": SAMPLES, "full_img_s": {}}
    rng = np.random.default_rng(0)
    largest = max(batches)
    for batch in batches:
        estimator.network = NetworkRunner(estimator.model.net, device, bf16=estimator.network.bf16,
                                          graph_batch=batch if cuda_graphs else None)
        crops = rng.integers(0, 256, (batch, CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
        full = _timed(lambda: estimator.decode(estimator.forward(crops), SAMPLES), sync, runs, seconds)
        figures["full_img_s"][batch] = batch / full
        if batch == 1:
            figures["latency_ms"] = 1000 * full
        if batch == largest:
            images = torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float().contiguous(
                memory_format=torch.channels_last)
            with torch.inference_mode():
                def backbone() -> None:
                    with estimator.network.autocast():
                        estimator.model.net.preact(images)
                figures["backbone_img_s"] = batch / _timed(backbone, sync, runs, seconds)
                forward = _timed(lambda: estimator.forward(crops), sync, runs, seconds)
                out = estimator.forward(crops)
                decode = _timed(lambda: estimator.decode(out, SAMPLES), sync, runs, seconds)
            figures["largest_batch"] = batch
            figures["posterior_share"] = decode / forward
            figures["full_vs_backbone"] = figures["full_img_s"][batch] / figures["backbone_img_s"]
    with tempfile.TemporaryDirectory() as folder:
        clip = write_demo_clip(Path(folder) / "clip_1080p.mp4", clip_frames)
        pipeline_batch = min(32, largest) if device.type == "cuda" else 1
        estimator.network = NetworkRunner(estimator.model.net, device, bf16=estimator.network.bf16,
                                          graph_batch=pipeline_batch if cuda_graphs else None)
        estimator.warm_up(pipeline_batch)
        summary = estimate_file(clip, Path(folder) / "clip.npz", estimator,
                                EstimateOptions(samples=SAMPLES, batch_size=pipeline_batch))
        figures["end_to_end_fps"] = summary.frames / summary.seconds
        figures["end_to_end"] = {"frames": summary.frames, "batch": pipeline_batch, "seconds": summary.seconds,
                                 "valid_frames": summary.valid_frames}
    return figures


def report(figures: dict) -> str:
    """The figures as an aligned table, each with its target."""
    largest, e2e = figures["largest_batch"], figures["end_to_end"]
    rows = [
        ("device", f"{figures['device']}; torch {figures['torch']}; {figures['precision']}; "
                   f"CUDA graphs {'on' if figures['cuda_graphs'] else 'off'}"),
        (f"bare backbone, B={largest}", f"{figures['backbone_img_s']:.1f} img/s"),
        (f"network + posterior + {figures['samples']} samples",
         ", ".join(f"B={b}: {v:.1f}" for b, v in figures["full_img_s"].items()) + " img/s"),
        (f"  full / bare backbone at B={largest}",
         f"{figures['full_vs_backbone']:.2f}  (target >= {TARGETS['full_vs_backbone']})"),
        ("batch-1 latency", f"{figures['latency_ms']:.1f} ms  (target <= {TARGETS['latency_ms']:.0f} ms)"),
        (f"posterior + sampling / forward, B={largest}",
         f"{100 * figures['posterior_share']:.1f} %  (target <= {100 * TARGETS['posterior_share']:.0f} %)"),
        ("end to end, generated 1080p clip",
         f"{figures['end_to_end_fps']:.1f} frames/s  ({e2e['frames']} frames, batch {e2e['batch']}; "
         f"target >= {TARGETS['end_to_end_fps']:.0f})"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}" for label, value in rows)


def run_bench(args: argparse.Namespace, settings: EstimatorSettings) -> int:
    quick = args.quick
    batches = tuple(int(b) for b in args.batches.split(",")) if args.batches else (
        QUICK_BATCHES if quick else DEFAULT_BATCHES)
    clip_frames = args.clip_frames or (8 if quick else 600)
    settings.batch_size = 1
    settings.cuda_graphs = False  # bench captures its own graph per batch size
    estimator, warnings = open_estimator("propose", settings, allow_random_weights=True)
    for warning in warnings:
        if warning != RANDOM_WEIGHTS_WARNING:  # weights do not change the speed; the rest might matter
            print(f"note: {warning}", file=sys.stderr)
    figures = measure(estimator, batches, clip_frames, args.cuda_graphs, quick)
    figures["weights"] = estimator.model.weights
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0
