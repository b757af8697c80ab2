"""Metric functions against cases worked out by hand."""
from __future__ import annotations

import math

import pytest
import torch

from propose_backend.train.metrics import (
    H36M_EVAL_JOINTS,
    mpjpe,
    pa_mpjpe,
    pve,
    root_align,
    similarity_procrustes,
)

CROSS = torch.tensor([[[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]]])


def test_mpjpe_of_a_constant_offset_is_its_length() -> None:
    offset = torch.tensor([3.0, 4.0, 0.0])
    assert mpjpe(CROSS + offset, CROSS).item() == pytest.approx(5.0)


def test_mpjpe_averages_per_joint_distances() -> None:
    predicted = CROSS.clone()
    predicted[0, 0] += torch.tensor([0.0, 0.0, 2.0])  # one of four joints off by 2
    assert mpjpe(predicted, CROSS).item() == pytest.approx(0.5)


def test_procrustes_undoes_a_similarity_transform_exactly() -> None:
    angle = 0.7
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0],
                             [0, 0, 1]])
    target = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]]])
    predicted = 2.5 * target @ rotation.T + torch.tensor([10.0, -3.0, 7.0])
    torch.testing.assert_close(similarity_procrustes(predicted, target), target, atol=1e-5, rtol=0)
    assert pa_mpjpe(predicted, target).item() == pytest.approx(0.0, abs=1e-5)


def test_procrustes_scale_on_a_stretched_cross() -> None:
    """X = cross stretched ×2 along x. XᵀY = diag(4, 2, 0), ‖X‖² = 10 → R = I, s = 0.6.

    Aligned points (±1.2, 0, 0), (0, ±0.6, 0): errors 0.2, 0.2, 0.4, 0.4 → PA-MPJPE 0.3, while
    the unaligned MPJPE is (1 + 1 + 0 + 0) / 4 = 0.5.
    """
    predicted = CROSS * torch.tensor([2.0, 1.0, 1.0])
    expected = torch.tensor([[[1.2, 0, 0], [-1.2, 0, 0], [0, 0.6, 0], [0, -0.6, 0]]])
    torch.testing.assert_close(similarity_procrustes(predicted, CROSS), expected, atol=1e-6, rtol=0)
    assert pa_mpjpe(predicted, CROSS).item() == pytest.approx(0.3, abs=1e-6)
    assert mpjpe(predicted, CROSS).item() == pytest.approx(0.5)


def test_procrustes_never_reflects() -> None:
    """A mirrored skeleton cannot be fitted by a rotation: the error stays positive."""
    target = torch.tensor([[[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]]])
    mirrored = target * torch.tensor([-1.0, 1.0, 1.0])
    assert pa_mpjpe(mirrored, target).item() > 0.1


def test_batches_are_independent() -> None:
    predicted = torch.cat([CROSS + 1.0, CROSS * torch.tensor([2.0, 1.0, 1.0])])
    targets = torch.cat([CROSS, CROSS])
    torch.testing.assert_close(pa_mpjpe(predicted, targets), torch.tensor([0.0, 0.3]), atol=1e-5, rtol=0)


def test_pve_and_root_alignment() -> None:
    vertices = torch.zeros(1, 6, 3)
    shifted = vertices + torch.tensor([0.0, 0.0, 1.0])
    assert pve(shifted, vertices).item() == pytest.approx(1.0)
    torch.testing.assert_close(root_align(shifted), vertices)


def test_the_14_evaluation_joints() -> None:
    assert len(H36M_EVAL_JOINTS) == 14 and len(set(H36M_EVAL_JOINTS)) == 14
    assert 0 not in H36M_EVAL_JOINTS and 7 not in H36M_EVAL_JOINTS and 9 not in H36M_EVAL_JOINTS
