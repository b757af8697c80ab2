"""Losses of docs/training.md, Model and losses on hand-made predictions, and the sampled training forward."""
from __future__ import annotations

import pytest
import torch
from smplx.lbs import batch_rodrigues

from propose_backend import posterior as post
from propose_backend.body import demo_body
from propose_backend.geometry import local_from_world, world_from_local
from propose_backend.model import NetworkOutput, camera_translation, root_relative_joints
from propose_backend.train.config import LossConfig
from propose_backend.train.forward import SampledPosterior, TrainingOutputs
from propose_backend.train.losses import (
    betas_loss,
    fisher_nll,
    heatmap_loss,
    theta_loss,
    training_losses,
    uv_loss,
)
from propose_backend.train.skinning import SupervisedPoints

B, S = 2, 3


def rotations(n: int, scale: float = 0.5, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return batch_rodrigues(torch.randn(n, 3, generator=generator) * scale).view(n, 3, 3)


def targets() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    t = {
        "target_xyz_24": torch.rand(B, 72, generator=generator) - 0.5,
        "target_weight_24": torch.ones(B, 72),
        "target_xyz_11": torch.rand(B, 33, generator=generator) - 0.5,
        "target_weight_11_xyz": torch.ones(B, 33),
        "target_uvd_29": torch.rand(B, 87, generator=generator) - 0.5,
        "target_weight_29": torch.ones(B, 87),
        "target_uvd_11": torch.rand(B, 33, generator=generator) - 0.5,
        "target_weight_11": torch.ones(B, 33),
        "target_theta": rotations(B * 24).reshape(B, 216),
        "target_theta_weight": torch.ones(B, 216),
        "target_beta": torch.randn(B, 10, generator=generator),
        "target_smpl_weight": torch.ones(B, 1),
    }
    t["target_xyz_24"].view(B, 24, 3)[:, 0] = 0.0
    return t


def perfect(t: dict[str, torch.Tensor]) -> TrainingOutputs:
    """Outputs that match the targets exactly, in the layout the forward produces."""
    coords = torch.cat([t["target_xyz_24"].view(B, 24, 3)[:, 1:], t["target_xyz_11"].view(B, 11, 3)], dim=1)
    cam = torch.tensor([[0.9, 0.0, 0.0]]).repeat(B, 1)
    net = NetworkOutput(heatmap_coords=coords, heatmap_joints=root_relative_joints(coords),
                        betas=t["target_beta"].clone(), prior_F=torch.zeros(B, 24, 3, 3), cam=cam,
                        transl=camera_translation(cam))
    uv = torch.cat([t["target_uvd_29"].view(B, 29, 3)[:, :24, :2], t["target_uvd_11"].view(B, 11, 3)[:, :, :2]], dim=1)
    rot = t["target_theta"].view(B, 1, 24, 3, 3).repeat(1, S + 1, 1, 1, 1)
    return TrainingOutputs(net=net, posterior=None, rotmats=rot, points=torch.zeros(B, S + 1, 35, 3),
                           uv_heatmap=uv.clone(), uv_posterior=uv[:, None].repeat(1, S + 1, 1, 1))


def test_perfect_predictions_cost_nothing() -> None:
    t = targets()
    losses = training_losses(perfect(t), t, LossConfig())
    assert set(losses) == {"heatmap", "betas", "theta", "uv", "total"}
    for name, value in losses.items():
        assert value.item() == pytest.approx(0.0, abs=1e-10), name


def test_heatmap_is_l1_in_voxels_over_weighted_coordinates() -> None:
    t = targets()
    t["target_weight_11_xyz"][:] = 0.0  # only the 23 SMPL joints count
    out = perfect(t)
    out.net.heatmap_coords[0, 4, 1] += 0.01  # joint 5, y
    out.net.heatmap_coords[1, 30, 0] += 1.0  # an extra point: weight 0
    assert heatmap_loss(out, t).item() == pytest.approx(64 * 0.01 / (B * 23 * 3), rel=1e-5)


def test_uv_weights_heatmap_mode_and_samples() -> None:
    t = targets()
    out = perfect(t)
    out.uv_heatmap += 0.01
    out.uv_posterior[:, 0] += 0.02
    out.uv_posterior[:, 1:] += 0.03
    expected = 64 * 0.01 ** 2 + 64 * 0.02 ** 2 + S * 32 * 0.03 ** 2
    assert uv_loss(out, t).item() == pytest.approx(expected, rel=1e-4)


def test_theta_counts_samples_half() -> None:
    t = targets()
    out = perfect(t)
    out.rotmats[:, 1:] += 0.1  # every entry of every sample off by 0.1
    assert theta_loss(out, t).item() == pytest.approx(0.5 * S * 0.01, rel=1e-5)
    out.rotmats[:, 0] += 0.2
    assert theta_loss(out, t).item() == pytest.approx(0.04 + 0.5 * S * 0.01, rel=1e-5)


def test_samples_without_smpl_only_train_2d_and_heatmap() -> None:
    t = targets()
    t["target_smpl_weight"][:] = 0.0
    t["target_theta_weight"][:] = 0.0
    out = perfect(t)
    out.net.betas.add_(3.0)
    out.rotmats.add_(1.0)
    weights = LossConfig(nll_prior=1.0)
    losses = training_losses(out, t, weights)
    assert losses["betas"].item() == 0 and losses["theta"].item() == 0 and losses["nll_prior"].item() == 0


def test_total_is_the_weighted_sum() -> None:
    t = targets()
    out = perfect(t)
    out.net.betas.add_(1.0)
    out.uv_heatmap.add_(0.1)
    weights = LossConfig(betas=2.0, uv=0.5, theta=0.0)
    losses = training_losses(out, t, weights)
    assert "theta" not in losses
    assert losses["total"].item() == pytest.approx(2.0 * losses["betas"].item() + 0.5 * losses["uv"].item()
                                                   + losses["heatmap"].item())
    assert betas_loss(out, t).item() == pytest.approx(1.0)


def test_fisher_nll_prefers_concentration_on_the_truth() -> None:
    t = targets()
    local = t["target_theta"].view(B, 24, 3, 3)
    world = world_from_local(local)
    torch.testing.assert_close(local_from_world(world), local, atol=1e-5, rtol=0)
    truth = torch.cat([world[:, :1], world[:, 1:] @ world[:, :1].mT], dim=1)
    right = fisher_nll(10.0 * truth, t)
    wrong = fisher_nll(10.0 * truth.mT @ rotations(B * 24, 1.5, seed=5).view(B, 24, 3, 3), t)
    assert torch.isfinite(right) and right.item() < wrong.item()


@pytest.fixture(scope="module")
def head() -> SampledPosterior:
    return SampledPosterior(SupervisedPoints(demo_body()), num_samples=S)


def network_output(seed: int = 0, scale: float = 5.0) -> NetworkOutput:
    generator = torch.Generator().manual_seed(seed)
    coords = (torch.rand(B, 34, 3, generator=generator) - 0.5) * 0.3
    cam = torch.tensor([[0.9, 0.01, -0.02]]).repeat(B, 1)
    prior = (scale * torch.randn(B, 24, 3, 3, generator=generator)).requires_grad_()
    return NetworkOutput(heatmap_coords=coords, heatmap_joints=root_relative_joints(coords),
                         betas=torch.zeros(B, 10), prior_F=prior, cam=cam, transl=camera_translation(cam))


def test_sampled_forward_layout(head: SampledPosterior) -> None:
    out = network_output()
    result = head(out, torch.Generator().manual_seed(0))
    assert result.rotmats.shape == (B, S + 1, 24, 3, 3) and result.points.shape == (B, S + 1, 35, 3)
    assert result.uv_posterior.shape == (B, S + 1, 35, 2) and result.uv_heatmap.shape == (B, 35, 2)
    torch.testing.assert_close(result.rotmats[:, 0], result.posterior.rotmats)
    eye = torch.eye(3).expand(B, S + 1, 24, 3, 3)
    torch.testing.assert_close(result.rotmats @ result.rotmats.mT, eye, atol=1e-4, rtol=0)
    torch.testing.assert_close(result.rotmats[:, 1:, 0], result.rotmats[:, :1, 0].expand(-1, S, 3, 3))  # root = mode
    torch.testing.assert_close(result.points[:, 0], head.points(out.betas, result.posterior.rotmats))
    again = head(out, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again.rotmats, result.rotmats)


def test_sample_terms_train_the_mode_not_the_spread(head: SampledPosterior) -> None:
    out = network_output()
    result = head(out, torch.Generator().manual_seed(0))
    result.rotmats[:, 1:].sum().backward()
    assert out.prior_F.grad is not None and out.prior_F.grad.abs().sum() > 0
