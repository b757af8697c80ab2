"""Running the network fast on the chosen device.

Everywhere the network runs in its inference form (model/inference.py): batch norms folded
into the convolutions, channels-last (NCHW on Apple's MPS), and the heatmap decoded without
building the softmax volume. On CUDA the backbone also runs under bf16 autocast (the network
keeps its heatmap decoding and heads in fp32, and the posterior runs outside autocast, so the
SVDs and sampling stay fp32/fp64); optionally the whole network is captured once, for the run's
batch size, as a CUDA graph, which removes the per-kernel launch cost that dominates small
batches. The CPU and MPS run fp32 without graphs. `fast=False` runs the network the way the
reference implementation does (NCHW fp32, batch norms, softmax volume): the baseline that
`propose-backend bench` compares against.
"""
from __future__ import annotations

import contextlib

import torch
from torch import Tensor

from ..model import NetworkOutput, ProPoseNet, prepare_for_inference
from ..skeleton import CROP_SIZE
from .errors import InferenceError

GRAPH_WARMUP_RUNS = 3  # eager runs on a side stream before capture (cuDNN picks its algorithms)


def mps_available() -> bool:
    """Apple-silicon GPU through PyTorch's MPS backend (never true on this project's Linux test machines)."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> torch.device:
    """auto → the first CUDA GPU, else Apple's MPS, else the CPU; cuda / cuda:N / mps must exist."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not mps_available():
            raise InferenceError("bad_request", f"device 'mps' was asked for, but PyTorch {torch.__version__} "
                                                "offers no MPS (Apple-silicon GPU) here; use --device cpu.")
        return torch.device("mps")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InferenceError("bad_request", f"device '{name}' was asked for, but PyTorch {torch.__version__} "
                                                "sees no CUDA GPU; use --device cpu (or install a CUDA build of torch).")
        device = torch.device(name if ":" in name else "cuda:0")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InferenceError("bad_request", f"device '{name}' does not exist; this machine has "
                                                f"{torch.cuda.device_count()} GPU(s).")
        return device
    raise InferenceError("bad_request", f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps.")


def available_devices() -> list[str]:
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())] + (["mps"] if mps_available() else [])


class NetworkRunner:
    """Calls the network with the fast settings for its device; see the module docstring."""

    def __init__(self, net: ProPoseNet, device: torch.device, bf16: bool = True,
                 graph_batch: int | None = None, fast: bool = True) -> None:
        """graph_batch: capture a CUDA graph for this batch size; smaller batches are zero-padded to it.

        fast=True prepares `net` for inference IN PLACE (batch norms folded: it can no longer be
        trained or saved as a checkpoint); fast=False leaves its modules alone but switches `net`
        to the reference's NCHW layout and heatmap decoding, so give it a network of its own.
        """
        self.fast = fast
        self.memory_format = torch.channels_last if fast and device.type != "mps" else torch.contiguous_format
        if fast:
            self.net = prepare_for_inference(net, channels_last=self.memory_format == torch.channels_last,
                                             cpu=device.type == "cpu")
        else:
            self.net = net.eval().to(memory_format=torch.contiguous_format)
        self.net.fused_heatmap = fast
        self.device = device
        self.bf16 = bf16 and device.type == "cuda"
        self.graph_batch = graph_batch if device.type == "cuda" else None
        self._graph: tuple[torch.cuda.CUDAGraph, Tensor, NetworkOutput] | None = None

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.bf16:
            return contextlib.nullcontext()
        # cache_enabled=False: required for CUDA-graph capture, harmless otherwise (weights are bf16-cast per call)
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)

    def _eager(self, images: Tensor) -> NetworkOutput:
        with self.autocast():
            return self.net(images.contiguous(memory_format=self.memory_format))

    def _capture(self, batch: int) -> tuple[torch.cuda.CUDAGraph, Tensor, NetworkOutput]:
        static_in = torch.zeros(batch, 3, CROP_SIZE, CROP_SIZE, device=self.device).contiguous(
            memory_format=self.memory_format)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP_RUNS):
                self._eager(static_in)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self._eager(static_in)
        return graph, static_in, static_out

    def __call__(self, images: Tensor) -> NetworkOutput:
        """images: (B, 3, 256, 256) normalised crops on the device. Outputs are fp32.

        With CUDA graphs the outputs are views of the graph's static buffers, valid until the next call.
        """
        batch = images.shape[0]
        if self.graph_batch is None or batch > self.graph_batch:
            return self._eager(images)
        if self._graph is None:
            self._graph = self._capture(self.graph_batch)
        graph, static_in, static_out = self._graph
        static_in[:batch].copy_(images)
        static_in[batch:].zero_()
        graph.replay()
        return NetworkOutput(*(field[:batch] for field in static_out))
