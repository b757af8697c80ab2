"""The fast inference form of the network gives the eager fp32 path's outputs (parity within 1e-3)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from propose_backend.model import (
    HRNetLayout,
    ProPoseNet,
    count_batch_norms,
    heatmap_probabilities,
    heatmap_soft_argmax,
    prepare_for_inference,
    soft_argmax,
)

JOINTS, DEPTH = 34, 64
# A small HRNet with the real module tree: every batch norm, fuse path and transition is there.
SMALL = HRNetLayout(stem_channels=16, layer1_blocks=1, blocks_per_branch=1,
                    stage_channels=((8, 16), (8, 16, 32), (8, 16, 32, 64)), stage_modules=(1, 1, 1),
                    incre_planes=(4, 8, 16, 32), feature_dim=64, heatmap_depth=8)


def _exact_soft_argmax(logits: torch.Tensor, depth: int) -> torch.Tensor:
    batch, channels, height, width = logits.shape
    probs = logits.double().reshape(batch, channels // depth, -1).softmax(-1)
    return soft_argmax(probs.reshape(batch, channels // depth, depth, height, width))


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_fused_heatmap_decoding_matches_the_softmax_volume(memory_format) -> None:
    # peaked, trained-looking logits: a wide range, so the max subtraction matters
    logits = torch.randn(2, JOINTS * DEPTH, 64, 64, generator=torch.Generator().manual_seed(0)) * 6 + 40
    logits = logits.contiguous(memory_format=memory_format)
    fused = heatmap_soft_argmax(logits, DEPTH)
    assert fused.shape == (2, JOINTS, 3) and fused.dtype == torch.float32
    exact = _exact_soft_argmax(logits, DEPTH)
    assert (fused.double() - exact).abs().max() < 1e-6  # closer to fp64 than the fp32 softmax volume is
    reference = soft_argmax(heatmap_probabilities(logits, DEPTH))
    assert (fused - reference).abs().max() < 1e-4


def test_fused_heatmap_decoding_finds_single_voxels_in_both_layouts() -> None:
    voxels = [(0, 0, 0, 0), (7, 63, 63, 63), (33, 12, 50, 1)]  # (joint, d, h, w)
    logits = torch.full((1, JOINTS * DEPTH, 64, 64), -50.0)
    for j, d, h, w in voxels:
        logits[0, j * DEPTH + d, h, w] = 50.0
    for layout in (logits, logits.contiguous(memory_format=torch.channels_last)):
        coords = heatmap_soft_argmax(layout, DEPTH)
        for j, d, h, w in voxels:
            torch.testing.assert_close(coords[0, j], torch.tensor([w, h, d]) / 64 - 0.5)


def _trained_looking(net: ProPoseNet) -> ProPoseNet:
    """Weights of realistic scale and batch-norm statistics far from identity, so folding has work to do
    (the released initialisation, std 0.001, makes every heatmap uniform and hides any mistake)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
            elif isinstance(module, nn.BatchNorm2d):
                channels = module.num_features
                module.running_mean.copy_(torch.randn(channels, generator=gen) * 0.3)
                module.running_var.copy_(torch.rand(channels, generator=gen) * 2 + 0.5)
                module.weight.copy_(torch.rand(channels, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(channels, generator=gen) * 0.2)
            elif isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) / module.in_features ** 0.5)
    return net.eval()


@pytest.fixture(scope="module")
def small_pair() -> tuple[ProPoseNet, ProPoseNet]:
    torch.manual_seed(0)
    reference = _trained_looking(ProPoseNet(SMALL))
    reference.fused_heatmap = False  # the reference's decoding: softmax volume, then marginals
    fast = prepare_for_inference(copy.deepcopy(reference))
    fast.fused_heatmap = True
    return reference, fast


def test_inference_form_folds_every_batch_norm(small_pair) -> None:
    reference, fast = small_pair
    assert count_batch_norms(reference) > 0 and count_batch_norms(fast) == 0
    assert fast.preact.final_layer.weight.is_contiguous(memory_format=torch.channels_last)
    again = prepare_for_inference(fast)  # idempotent
    assert again is fast and count_batch_norms(again) == 0


def test_inference_form_gives_the_eager_outputs(small_pair) -> None:
    reference, fast = small_pair
    images = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        expected = reference(images)
        got = fast(images.contiguous(memory_format=torch.channels_last))
    assert expected.heatmap_coords.std() > 0.01  # the heatmaps are peaked, not uniform
    for name, want, have in zip(expected._fields, expected, got):
        assert have.dtype == torch.float32 and have.shape == want.shape, name
        scale = max(1.0, want.abs().max().item())  # prior_F / transl are large numbers: compare relatively
        assert (have - want).abs().max().item() <= 1e-3 * scale, name


def test_cpu_form_fuses_residual_ends_and_keeps_the_outputs(small_pair) -> None:
    reference, _ = small_pair
    cpu_fast = prepare_for_inference(copy.deepcopy(reference), cpu=True)
    cpu_fast.fused_heatmap = True
    code = cpu_fast.preact.code
    assert code.count("_convolution_pointwise") >= 10  # every BasicBlock/Bottleneck end of SMALL
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        want = reference(images)
        got = cpu_fast(images.contiguous(memory_format=torch.channels_last))
    for name, a, b in zip(want._fields, want, got):
        assert (a - b).abs().max().item() <= 1e-3 * max(1.0, a.abs().max().item()), name
