"""ProPoseNet mirrors the released checkpoint layout and decodes its outputs as docs/model.md says."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from propose_backend.model import (
    NetworkOutput,
    ProPoseNet,
    camera_translation,
    heatmap_probabilities,
    root_relative_joints,
    soft_argmax,
)
from propose_backend.skeleton import CROP_SIZE, DEPTH_FACTOR_M, FOCAL_LENGTH_PX

CHECKPOINT_KEYS = Path(__file__).with_name("checkpoint_keys.tsv")  # names and shapes of the released file
DEPTH = 64
JOINTS = 34


@pytest.fixture(scope="module")
def net() -> ProPoseNet:
    torch.manual_seed(0)
    return ProPoseNet().eval()


def test_state_dict_matches_released_checkpoint(net: ProPoseNet) -> None:
    rows = [line.split("\t") for line in CHECKPOINT_KEYS.read_text().splitlines() if not line.startswith("#")]
    assert len(rows) == 1972
    expected = {key: (tuple(int(n) for n in shape.split(",") if n), dtype)
                for key, shape, dtype in rows if not key.startswith("smpl.")}
    actual = {
        key: (tuple(value.shape), str(value.dtype).removeprefix("torch."))
        for key, value in net.state_dict().items()
    }
    assert len(expected) == 1964
    assert sorted(set(expected) - set(actual)) == []
    assert sorted(set(actual) - set(expected)) == []
    assert {k: v for k, v in actual.items() if v != expected[k]} == {}


def test_parameter_counts(net: ProPoseNet) -> None:
    assert all(p.requires_grad for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == 75_996_709
    assert sum(p.numel() for p in net.preact.parameters()) == 75_527_488


def test_release_initialisation(net: ProPoseNet) -> None:
    assert net.preact.transition2[0] is None and net.preact.transition2[1] is None
    assert net.preact.stage4[0].fuse_layers[2][2] is None
    conv = net.preact.stage3[1].branches[2][0].conv1.weight
    assert conv.std().item() == pytest.approx(0.001, rel=0.05)
    assert torch.all(net.preact.final_layer.bias == 0)
    assert torch.all(net.preact.bn1.weight == 1) and torch.all(net.preact.bn1.bias == 0)
    assert net.preact.bn1.momentum == 0.1 and net.preact.bn1.eps == 1e-5
    assert torch.equal(net.init_cam, torch.tensor([0.9, 0.0, 0.0]))
    assert torch.equal(net.init_shape, torch.zeros(10))


def test_forward_decodes_controlled_heads(net: ProPoseNet) -> None:
    """With a fixed heatmap and zeroed head weights every output is known exactly."""
    probe = copy.deepcopy(net)
    joint, d, h, w = 5, 40, 3, 60
    with torch.no_grad():
        logits = torch.zeros(1, JOINTS * DEPTH, 64, 64)
        logits[0, joint * DEPTH + d, h, w] = 100.0
        for head in (probe.decshape, probe.decF, probe.deccam):
            head.weight.zero_()
        probe.decshape.bias.copy_(torch.arange(10.0))
        probe.init_shape.fill_(0.5)
        probe.decF.bias.copy_(torch.arange(216.0))
        probe.deccam.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
        # A conv bias is spatially constant and cannot single out one voxel: replace the head's output.
        probe.preact.final_layer.register_forward_hook(lambda _m, _i, out: logits.expand_as(out))
        out = probe(torch.randn(1, 3, 256, 256))

    assert isinstance(out, NetworkOutput)
    shapes = {name: tuple(value.shape) for name, value in out._asdict().items()}
    assert shapes == {
        "heatmap_coords": (1, 34, 3),
        "heatmap_joints": (1, 35, 3),
        "betas": (1, 10),
        "prior_F": (1, 24, 3, 3),
        "cam": (1, 3),
        "transl": (1, 3),
    }
    expected_xyz = torch.tensor([w, h, d]) / 64 - 0.5
    torch.testing.assert_close(out.heatmap_coords[0, joint], expected_xyz)
    torch.testing.assert_close(out.heatmap_joints[0, joint + 1], expected_xyz * DEPTH_FACTOR_M)
    torch.testing.assert_close(out.betas[0], torch.arange(10.0) + 0.5)
    torch.testing.assert_close(out.prior_F[0, 7], torch.arange(63.0, 72.0).reshape(3, 3))
    torch.testing.assert_close(out.cam[0], torch.tensor([1.0, 0.2, -0.3]))
    torch.testing.assert_close(
        out.transl[0], torch.tensor([0.2, -0.3, 2 * FOCAL_LENGTH_PX / (CROP_SIZE * 1.0 + 1e-6)])
    )


def test_channels_last_and_bf16_autocast(net: ProPoseNet) -> None:
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        reference = net(images)
        fast = copy.deepcopy(net).to(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = fast(images.contiguous(memory_format=torch.channels_last))
    for ref, got in zip(reference, mixed):
        assert got.dtype == torch.float32
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, ref, atol=1e-2, rtol=1e-2)


def test_soft_argmax_recovers_single_voxels() -> None:
    voxels = [(0, 0, 0, 0), (7, 63, 63, 63), (33, 12, 50, 1)]  # (joint, d, h, w)
    logits = torch.full((1, JOINTS * DEPTH, 64, 64), -50.0)
    for j, d, h, w in voxels:
        logits[0, j * DEPTH + d, h, w] = 50.0
    coords = soft_argmax(heatmap_probabilities(logits, depth=DEPTH))
    assert coords.shape == (1, JOINTS, 3)
    for j, d, h, w in voxels:
        torch.testing.assert_close(coords[0, j], torch.tensor([w, h, d]) / 64 - 0.5)


def test_uniform_heatmap_decodes_to_volume_centre_without_half_voxel() -> None:
    coords = soft_argmax(heatmap_probabilities(torch.zeros(2, JOINTS * DEPTH, 64, 64), depth=DEPTH))
    torch.testing.assert_close(coords, torch.full((2, JOINTS, 3), 31.5 / 64 - 0.5))


def test_heatmap_probabilities_are_fp32_joint_volumes() -> None:
    logits = torch.randn(1, JOINTS * DEPTH, 8, 8, dtype=torch.bfloat16)
    probs = heatmap_probabilities(logits, depth=DEPTH)
    assert probs.dtype == torch.float32 and probs.shape == (1, JOINTS, DEPTH, 8, 8)
    torch.testing.assert_close(probs.sum(dim=(2, 3, 4)), torch.ones(1, JOINTS))


def test_root_relative_joints_are_metric_with_zero_root() -> None:
    coords = torch.rand(2, JOINTS, 3) - 0.5
    joints = root_relative_joints(coords)
    assert joints.shape == (2, 35, 3)
    assert torch.all(joints[:, 0] == 0)
    torch.testing.assert_close(joints[:, 1:], coords * 2.0)


def test_camera_translation_uses_depth_from_scale() -> None:
    cam = torch.tensor([[0.9, 0.1, -0.2], [0.45, 0.0, 0.3]])
    transl = camera_translation(cam)
    expected_z = torch.tensor([2000.0 / (256 * 0.9 + 1e-6), 2000.0 / (256 * 0.45 + 1e-6)])
    torch.testing.assert_close(transl[:, :2], cam[:, 1:])
    torch.testing.assert_close(transl[:, 2], expected_z)
    assert transl[0, 2].item() == pytest.approx(8.68, abs=0.01)
