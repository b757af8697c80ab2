"""Skinning only the 35 supervised points gives exactly BodyLayer's points."""
from __future__ import annotations

import torch
from smplx.lbs import batch_rodrigues

from propose_backend.body import demo_body
from propose_backend.body.layer import BodyLayer
from propose_backend.train.skinning import SupervisedPoints


def test_matches_full_body_layer() -> None:
    body = demo_body()
    full, sparse = BodyLayer(body), SupervisedPoints(body)
    torch.manual_seed(0)
    betas = torch.randn(5, 10)
    rotmats = batch_rodrigues(torch.randn(5 * 24, 3) * 0.6).view(5, 24, 3, 3)
    _, _, expected = full(betas, rotmats)
    torch.testing.assert_close(sparse(betas, rotmats), expected, atol=2e-6, rtol=0)
    torch.testing.assert_close(sparse.rest_points(betas), full.rest_points(betas), atol=2e-6, rtol=0)


def test_gradients_reach_shape_and_pose() -> None:
    sparse = SupervisedPoints(demo_body())
    betas = torch.zeros(2, 10, requires_grad=True)
    rotmats = torch.eye(3).repeat(2, 24, 1, 1).requires_grad_()
    sparse(betas, rotmats).square().sum().backward()
    assert betas.grad.abs().sum() > 0 and rotmats.grad.abs().sum() > 0
