"""The skinning layer against smplx's own SMPL class, and the 35-point rest skeleton."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import smplx
import torch

from propose_backend.body import demo_body, save_plain_pkl
from propose_backend.body.layer import BodyLayer
from propose_backend.skeleton import EXTRA_VERTEX_IDS


def _random_rotmats(n: int, scale: float, seed: int) -> torch.Tensor:
    aa = torch.randn(n, 24, 3, generator=torch.Generator().manual_seed(seed)) * scale
    return smplx.lbs.batch_rodrigues(aa.reshape(-1, 3)).reshape(n, 24, 3, 3)


def test_matches_smplx_smpl_and_is_root_relative(tmp_path: Path) -> None:
    body = demo_body()
    layer = BodyLayer(body)
    reference = smplx.SMPL(model_path=str(save_plain_pkl(body, tmp_path / "SMPL_NEUTRAL.pkl")))
    betas = torch.randn(3, 10, generator=torch.Generator().manual_seed(1))
    rot = _random_rotmats(3, 0.4, seed=2)
    vertices, joints, points35 = layer(betas, rot)
    ref = reference(betas=betas, global_orient=rot[:, :1], body_pose=rot[:, 1:], pose2rot=False)
    root = ref.joints[:, :1]
    torch.testing.assert_close(vertices, ref.vertices - root, atol=1e-5, rtol=0)
    torch.testing.assert_close(joints, ref.joints[:, :24] - root, atol=1e-5, rtol=0)
    assert joints[:, 0].abs().max() == 0
    torch.testing.assert_close(points35[:, 24:], vertices[:, list(EXTRA_VERTEX_IDS)])


def test_rest_points_come_from_the_shaped_template() -> None:
    body = demo_body()
    layer = BodyLayer(body)
    betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(3))
    rest = layer.rest_points(betas)
    shaped = torch.from_numpy(body.v_template) + torch.einsum("vkl,bl->bvk", torch.from_numpy(body.shapedirs), betas)
    torch.testing.assert_close(rest[:, :24], torch.einsum("jv,bvk->bjk", torch.from_numpy(body.J_regressor), shaped))
    torch.testing.assert_close(rest[:, 24:], shaped[:, list(EXTRA_VERTEX_IDS)])
    assert not np.allclose(rest[0].numpy(), rest[1].numpy())
