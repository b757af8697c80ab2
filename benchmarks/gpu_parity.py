"""CPU-vs-GPU parity of ProPose's outputs: the same weights and crops through the CPU's eager fp32
path and the GPU's fast paths (fp32, bf16 autocast, bf16 + CUDA graph): the largest difference of
each output, relative to the output's largest magnitude where that is above 1.

Run from the repository root on a machine with a CUDA GPU (part of benchmarks/gpu_figures.sh):
    python benchmarks/gpu_parity.py [--json parity.json]
Random weights are given a realistic scale first (the released initialisation makes every heatmap
uniform, which would hide differences); the checkpoint is used instead when one is found.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))  # run from a checkout

import argparse
import copy
import json

import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch
from torch import nn

from propose_backend.api import load_model
from propose_backend.inference.crop import normalize
from propose_backend.inference.device import NetworkRunner
from propose_backend.inference.model_files import find_model_files
from propose_backend.skeleton import CROP_SIZE

FIELDS = ("heatmap_joints", "betas", "prior_F", "transl", "rotmats", "uncertainty_deg")
BATCH = 8


def realistic_scale(net: nn.Module) -> None:
    """He-scaled convolution weights, so heatmaps are peaked as a trained network's are."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)


def outputs(model, runner: NetworkRunner, crops: np.ndarray) -> dict[str, torch.Tensor]:
    with torch.inference_mode():
        images = normalize(torch.from_numpy(crops).to(model.device))
        out = runner(images)
        pred = model.decode(out, 0)
        return {name: getattr(pred, name).float().cpu() for name in FIELDS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to compare", file=sys.stderr)
        return 1
    files = find_model_files()
    torch.manual_seed(0)
    cpu_model = load_model(files.checkpoint, files.body_model, device="cpu")
    if files.checkpoint is None:
        realistic_scale(cpu_model.net)
    crops = np.random.default_rng(0).integers(0, 256, (BATCH, CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    reference = outputs(cpu_model, NetworkRunner(copy.deepcopy(cpu_model.net), torch.device("cpu"), fast=False),
                        crops)
    figures = {"card": torch.cuda.get_device_name(0), "batch": BATCH, "weights": cpu_model.weights}
    gpu = torch.device("cuda:0")
    for label, bf16, graph in (("fp32", False, None), ("bf16", True, None), ("bf16 + CUDA graph", True, BATCH)):
        model = copy.deepcopy(cpu_model).to(gpu)
        got = outputs(model, NetworkRunner(model.net, gpu, bf16=bf16, graph_batch=graph), crops)
        figures[label] = {name: float((got[name] - reference[name]).abs().max() / max(1.0, reference[name].abs().max()))
                          for name in FIELDS}
        print(f"{label:18s} " + "  ".join(f"{name} {value:.2e}" for name, value in figures[label].items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
