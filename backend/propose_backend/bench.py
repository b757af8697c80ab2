"""`propose-backend bench`: the speed figures of docs/performance.md, measured in one run on one device.

Figures, each for the fast path beside the plain eager fp32 path (the reference's way of running
the network, inference/device.py): network + posterior throughput with and without samples at
several batch sizes, and end-to-end frames/s of the whole pipeline (decode, detect/track, crop,
estimate, write) on a generated 1080p clip or a given video; for the fast path also the bare
backbone, the batch-1 latency and the share of posterior + sampling in the step; and the
largest difference between the two paths' outputs. Weights do not change the speed, so random
weights are used when no checkpoint is found.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .api import load_model
from .demo_clip import write_demo_clip
from .inference import EstimateOptions, EstimatorSettings, InferenceError, estimate_file
from .inference.crop import normalize
from .inference.device import NetworkRunner, resolve_device
from .estimators import RANDOM_WEIGHTS_WARNING, startup_warnings
from .request import FrameRange
from .network_estimator import ProPoseEstimator
from .model import ProPoseNet
from .skeleton import CROP_SIZE

DEFAULT_BATCHES = (1, 64, 256)
QUICK_BATCHES = (1, 4)
SAMPLES = 8
FAST, EAGER = "fast", "eager fp32"  # the two network paths compared (see inference/device.py)
# GPU targets (H100/H200 class) and the CPU speed-up target, from docs/performance.md.
TARGETS = {"full_vs_backbone": 0.85, "latency_ms": 8.0, "posterior_share": 0.10, "end_to_end_fps": 300.0,
           "cpu_speedup": 2.0, "posterior_share_cpu": 0.05}


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


def _paths(estimator: ProPoseEstimator, reference_net: ProPoseNet | None, batch: int,
           cuda_graphs: bool) -> dict[str, NetworkRunner]:
    """The network runners compared: the fast path, and (when built) the reference-style eager fp32 path."""
    device = estimator.device
    graph = batch if cuda_graphs else None
    runners = {FAST: NetworkRunner(estimator.model.net, device, bf16=estimator.network.bf16, graph_batch=graph)}
    if reference_net is not None:
        runners[EAGER] = NetworkRunner(reference_net, device, bf16=False, fast=False)
    return runners


def _interleaved(steps: dict[str, Callable[[], object]], sync: Callable[[], None], rounds: int,
                 min_seconds: float) -> dict[str, tuple[float, float]]:
    """(min, median) seconds per call of each step, run in turns after one warm-up call each.

    Taking turns makes a burst of load from other processes hit every step alike; the minimum is
    the least disturbed figure, the median the typical one.
    """
    for fn in steps.values():
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in steps}
    begin = time.perf_counter()
    while min(len(t) for t in times.values()) < rounds or time.perf_counter() - begin < min_seconds:
        for name, fn in steps.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def _parity(estimator: ProPoseEstimator, runners: dict[str, NetworkRunner], crops: np.ndarray) -> dict[str, float]:
    """Largest difference between the paths' outputs on the same crops (network fields and the posterior mode)."""
    if EAGER not in runners:
        return {}
    outputs = {}
    for name, runner in runners.items():
        estimator.network = runner
        out = estimator.forward(crops)
        outputs[name] = {**out._asdict(), **estimator.decode(out, 0)}
    fields = ("heatmap_joints", "betas", "prior_F", "transl", "rotmats", "uncertainty_deg")
    return {field: float((outputs[FAST][field].float() - outputs[EAGER][field].float()).abs().max())
            for field in fields}


def measure(estimator: ProPoseEstimator, reference_net: ProPoseNet | None, batches: tuple[int, ...],
            clip: Path | None, clip_frames: int, cuda_graphs: bool, quick: bool) -> dict:
    """All figures in one run; see docs/performance.md for what each means."""
    device = estimator.device
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    rounds, seconds = (3, 0.0) if quick else (5, 2.0)
    figures: dict = {"device": device_name(device), "torch": torch.__version__,
                     "precision": "bf16 autocast" if estimator.network.bf16 else "fp32",
                     "cuda_graphs": cuda_graphs and device.type == "cuda", "samples": SAMPLES,
                     "threads": torch.get_num_threads(), "step_s": {}, "parity": {}}
    rng = np.random.default_rng(0)
    largest = max(batches)
    for batch in batches:
        runners = _paths(estimator, reference_net, batch, cuda_graphs)
        crops = rng.integers(0, 256, (batch, CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
        if batch == min(batches):
            figures["parity"] = _parity(estimator, runners, crops)

        def step(runner: NetworkRunner, samples: int) -> Callable[[], object]:
            def run() -> object:
                estimator.network = runner
                return estimator.decode(estimator.forward(crops), samples)["rotmats"].cpu()
            return run

        steps = {f"{name}|{samples}": step(runner, samples) for name, runner in runners.items()
                 for samples in (0, SAMPLES)}
        for key, timing in _interleaved(steps, sync, rounds, seconds).items():
            figures["step_s"].setdefault(key, {})[batch] = timing
        if batch == largest:
            estimator.network = runners[FAST]
            images = normalize(torch.from_numpy(crops).to(device)).contiguous(
                memory_format=runners[FAST].memory_format)
            out = estimator.forward(crops)
            with torch.inference_mode():
                def backbone() -> None:
                    with runners[FAST].autocast():
                        estimator.network.net.preact(images)
                parts = _interleaved({"backbone": backbone, "forward": lambda: estimator.forward(crops),
                                      "decode": lambda: estimator.decode(out, SAMPLES)}, sync, rounds, seconds)
            figures["largest_batch"] = batch
            figures["backbone_img_s"] = batch / parts["backbone"][0]
            figures["posterior_share"] = parts["decode"][0] / (parts["forward"][0] + parts["decode"][0])
            figures["full_vs_backbone"] = batch / figures["step_s"][f"{FAST}|{SAMPLES}"][batch][0] \
                / figures["backbone_img_s"]
    figures["latency_ms"] = 1000 * figures["step_s"][f"{FAST}|{SAMPLES}"][min(batches)][0]
    figures["end_to_end"] = _end_to_end(estimator, reference_net, clip, clip_frames, cuda_graphs, largest)
    return figures


def _end_to_end(estimator: ProPoseEstimator, reference_net: ProPoseNet | None, clip: Path | None,
                clip_frames: int, cuda_graphs: bool, largest: int) -> dict[str, dict]:
    """`estimate_file` on the clip with each path: frames/s from opening the video to the file on disk."""
    device = estimator.device
    pipeline_batch = min(32, largest) if device.type == "cuda" else 1
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        frames = None
        if clip is None:
            clip = write_demo_clip(Path(folder) / "clip_1080p.mp4", clip_frames)
            source = "generated 1080p clip"
        else:
            frames = FrameRange(0, clip_frames) if clip_frames else None
            source = clip.name
        for name, runner in _paths(estimator, reference_net, pipeline_batch, cuda_graphs).items():
            estimator.network = runner
            estimator.warm_up(pipeline_batch)
            summary = estimate_file(clip, Path(folder) / f"{name}.npz", estimator,
                                    EstimateOptions(frames=frames, samples=SAMPLES, batch_size=pipeline_batch))
            results[name] = {"source": source, "frames": summary.frames, "batch": pipeline_batch,
                             "seconds": summary.seconds, "fps": summary.frames / summary.seconds,
                             "valid_frames": summary.valid_frames}
    estimator.network = _paths(estimator, None, pipeline_batch, cuda_graphs)[FAST]
    return results


def report(figures: dict) -> str:
    """The figures as an aligned table, each with its target; the fast path beside the eager fp32 one."""
    largest, e2e, steps = figures["largest_batch"], figures["end_to_end"], figures["step_s"]
    rows = [
        ("device", f"{figures['device']}; torch {figures['torch']}; {figures['precision']}; "
                   f"CUDA graphs {'on' if figures['cuda_graphs'] else 'off'}"),
        (f"bare backbone, B={largest} ({FAST})", f"{figures['backbone_img_s']:.2f} img/s"),
    ]
    for samples in (0, figures["samples"]):
        what = f"+ posterior + {samples} samples" if samples else "+ posterior, no samples"
        for batch in steps[f"{FAST}|{samples}"]:
            cells = []
            for name in (EAGER, FAST):
                if f"{name}|{samples}" in steps:
                    best, median = steps[f"{name}|{samples}"][batch]
                    cells.append(f"{name} {batch / best:.2f} (median {batch / median:.2f})")
            speedup = ""
            if f"{EAGER}|{samples}" in steps:
                ratio = steps[f"{EAGER}|{samples}"][batch][0] / steps[f"{FAST}|{samples}"][batch][0]
                speedup = f"  -> {ratio:.2f}x (target >= {TARGETS['cpu_speedup']:.0f}x)"
            rows.append((f"network {what}, B={batch}", " | ".join(cells) + " img/s" + speedup))
    rows += [
        (f"  full / bare backbone at B={largest}",
         f"{figures['full_vs_backbone']:.2f}  (target >= {TARGETS['full_vs_backbone']})"),
        ("batch-1 latency", f"{figures['latency_ms']:.1f} ms  (target <= {TARGETS['latency_ms']:.0f} ms on a GPU)"),
        (f"posterior + {figures['samples']} samples / step, B={largest}",
         f"{100 * figures['posterior_share']:.1f} %  (target <= {100 * TARGETS['posterior_share_cpu']:.0f} % "
         f"on a CPU, {100 * TARGETS['posterior_share']:.0f} % on a GPU)"),
    ]
    if figures["parity"]:
        worst = max(figures["parity"], key=figures["parity"].get)
        caveat = "; random weights give uniform heatmaps, so only the parity tests' trained-looking " \
                 "weights check the numbers" if figures.get("weights") == "random" else ""
        rows.append((f"{FAST} vs {EAGER}, largest difference",
                     f"{figures['parity'][worst]:.1e} ({worst}; target <= 1e-3{caveat})"))
    for name, run in e2e.items():
        rows.append((f"end to end, {run['source']} ({name})",
                     f"{run['fps']:.2f} frames/s  ({run['frames']} frames, batch {run['batch']}, "
                     f"{run['seconds']:.1f} s; GPU target >= {TARGETS['end_to_end_fps']:.0f})"))
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}" for label, value in rows)


def run_bench(args: argparse.Namespace, settings: EstimatorSettings) -> int:
    quick = args.quick
    batches = tuple(int(b) for b in args.batches.split(",")) if args.batches else (
        QUICK_BATCHES if quick else DEFAULT_BATCHES)
    video = getattr(args, "video", None)
    if video is not None and not Path(video).is_file():
        raise InferenceError("missing_file", f"bench --video: no file at {video}.")
    clip_frames = args.clip_frames or (0 if video is not None else 8 if quick else 600)
    settings.batch_size = 1
    settings.cuda_graphs = False  # bench captures its own graph per batch size
    files = settings.files
    model = load_model(files.checkpoint, files.body_model, device=resolve_device(settings.device))
    # the eager fp32 path gets a network of its own with the same weights (the fast path folds its own)
    reference_net = None if getattr(args, "fast_only", False) else copy.deepcopy(model.net)
    estimator = ProPoseEstimator(model, settings, "bench")
    estimator.warm_up(1)
    for warning in startup_warnings("propose", files):
        if warning != RANDOM_WEIGHTS_WARNING:  # weights do not change the speed; the rest might matter
            print(f"note: {warning}", file=sys.stderr)
    figures = measure(estimator, reference_net, batches, None if video is None else Path(video), clip_frames,
                      args.cuda_graphs, quick)
    figures["weights"] = estimator.model.weights
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0
