"""Device choice and the network runner: the fast path and the eager fp32 path give the same outputs."""
from __future__ import annotations

import copy

import pytest
import torch

from propose_backend.inference.device import NetworkRunner, mps_available, resolve_device
from propose_backend.inference.errors import InferenceError
from propose_backend.model import ProPoseNet, count_batch_norms
from tests.backend.model.test_inference import SMALL, _trained_looking

CPU = torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available() or mps_available(), reason="this machine has a GPU")
def test_auto_falls_back_to_the_cpu_and_mps_must_exist() -> None:
    assert resolve_device("auto") == CPU and resolve_device("") == CPU
    with pytest.raises(InferenceError) as caught:
        resolve_device("mps")
    assert caught.value.kind == "bad_request" and "--device cpu" in caught.value.message
    with pytest.raises(InferenceError) as caught:
        resolve_device("tpu")
    assert "mps" in caught.value.message  # the message lists every choice


def test_fast_and_eager_runners_agree() -> None:
    torch.manual_seed(0)
    net = _trained_looking(ProPoseNet(SMALL))
    eager = NetworkRunner(copy.deepcopy(net), CPU, fast=False)
    fast = NetworkRunner(net, CPU)
    assert count_batch_norms(eager.net) > 0 and not eager.net.fused_heatmap
    assert count_batch_norms(net) == 0 and fast.net is net and net.fused_heatmap  # prepared in place
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        want, got = eager(images), fast(images)
    assert want.heatmap_coords.std() > 0.01
    for name, a, b in zip(want._fields, want, got):
        assert (a - b).abs().max().item() <= 1e-3 * max(1.0, a.abs().max().item()), name
