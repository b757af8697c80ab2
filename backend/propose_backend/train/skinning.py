"""SMPL skinning of just the 35 supervised points (24 joints + 11 surface vertices).

Training poses the body once for the posterior mode and once per sample (9× the batch), but the
losses only look at 35 points. Skinning those instead of all 6890 vertices gives the same points
(checked against `BodyLayer` in the tests) at a small fraction of the cost, on CPU and GPU alike.
The data loaders use it as well, to place the 11 extra points from ground-truth SMPL parameters.
"""
from __future__ import annotations

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform
from torch import Tensor, nn

from ..body import BodyModelData
from ..skeleton import EXTRA_VERTEX_IDS, NUM_SMPL_JOINTS

NUM_BETAS = 10


class SupervisedPoints(nn.Module):
    """Rest and posed 35-point skeleton of an SMPL-format body, root-relative like `BodyLayer`."""

    def __init__(self, body: BodyModelData) -> None:
        super().__init__()
        f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
        ids = list(EXTRA_VERTEX_IDS)
        regressor = f32(body.J_regressor)
        shapedirs = f32(body.shapedirs[:, :, :NUM_BETAS])
        # Joints are linear in the shaped vertices, so regress the template and blend shapes once.
        self.register_buffer("joint_template", regressor @ f32(body.v_template), persistent=False)
        self.register_buffer("joint_shapedirs", torch.einsum("jv,vcb->jcb", regressor, shapedirs),
                             persistent=False)
        self.register_buffer("point_template", f32(body.v_template[ids]), persistent=False)
        self.register_buffer("point_shapedirs", shapedirs[ids], persistent=False)
        posedirs = f32(body.posedirs[ids])  # (11, 3, 207)
        self.register_buffer("point_posedirs", posedirs.reshape(-1, posedirs.shape[-1]).T.contiguous(),
                             persistent=False)
        self.register_buffer("point_weights", f32(body.weights[ids]), persistent=False)
        self.register_buffer("parents", torch.as_tensor(body.parents, dtype=torch.long), persistent=False)

    def rest_points(self, betas: Tensor) -> Tensor:
        """(B, 35, 3) rest skeleton for the posterior's template directions (= BodyLayer.rest_points)."""
        joints = self.joint_template + torch.einsum("bk,jck->bjc", betas, self.joint_shapedirs)
        points = self.point_template + torch.einsum("bk,pck->bpc", betas, self.point_shapedirs)
        return torch.cat([joints, points], dim=1)

    def forward(self, betas: Tensor, rotmats: Tensor) -> Tensor:
        """Posed points (N, 35, 3) for local rotations (N, 24, 3, 3), posed pelvis subtracted."""
        rest = self.rest_points(betas)
        joints, points = rest[:, :NUM_SMPL_JOINTS], rest[:, NUM_SMPL_JOINTS:]
        eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
        pose_feature = (rotmats[:, 1:] - eye).flatten(1)
        points = points + (pose_feature @ self.point_posedirs).view_as(points)
        posed_joints, transforms = batch_rigid_transform(rotmats, joints, self.parents, dtype=rotmats.dtype)
        blended = torch.einsum("pj,njab->npab", self.point_weights, transforms)
        posed_points = (blended[..., :3, :3] @ points.unsqueeze(-1)).squeeze(-1) + blended[..., :3, 3]
        posed = torch.cat([posed_joints, posed_points], dim=1)
        return posed - posed_joints[:, :1].detach()
