"""The SMPL skinning layer used by the network: rest skeleton from betas, posed mesh from rotations.

Skinning itself is smplx's (`smplx.lbs.lbs`); this layer adds what ProPose needs around it:
the 35-point rest skeleton (24 regressed joints + 11 surface points) for the posterior, and
root-relative outputs (posed pelvis subtracted), as the reference computes them.
"""
from __future__ import annotations

import numpy as np
import torch
from smplx.lbs import blend_shapes, lbs, vertices2joints
from torch import Tensor, nn

from ..skeleton import NUM_SMPL_JOINTS
from .files import BodyModelData
from .smplh import rest_hands


class BodyLayer(nn.Module):
    """An SMPL-format body (SMPL neutral or Anny) with 10 betas; buffers come from the body, never a checkpoint."""

    def __init__(self, body: BodyModelData) -> None:
        super().__init__()
        f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
        self.register_buffer("v_template", f32(body.v_template), persistent=False)
        self.register_buffer("shapedirs", f32(body.shapedirs[:, :, :10]), persistent=False)
        self.register_buffer("posedirs", f32(body.posedirs.reshape(-1, body.posedirs.shape[-1]).T),
                             persistent=False)
        self.register_buffer("J_regressor", f32(body.J_regressor), persistent=False)
        self.register_buffer("lbs_weights", f32(body.weights), persistent=False)
        self.register_buffer("parents", torch.as_tensor(body.parents, dtype=torch.long), persistent=False)
        self.register_buffer("extra_ids", torch.tensor(body.extra_vertex_ids, dtype=torch.long), persistent=False)
        self.faces = np.asarray(body.faces, dtype=np.int64)
        # an SMPL-H / SMPL-X body's finger joints and their skinning over the rig's 54 joints
        self.register_buffer("finger_regressor", None if body.finger_regressor is None else f32(body.finger_regressor),
                             persistent=False)
        self.rig_weights = body.rig_weights

    @property
    def has_fingers(self) -> bool:
        return self.finger_regressor is not None

    def shaped_vertices(self, betas: Tensor) -> Tensor:
        """Rest-pose vertices for the given shape, (B, V, 3)."""
        return self.v_template + blend_shapes(betas, self.shapedirs)

    def rest_points(self, betas: Tensor) -> Tensor:
        """Rest skeleton of 35 points (B, 35, 3): regressed joints, then the 11 surface points."""
        v_shaped = self.shaped_vertices(betas)
        joints = vertices2joints(self.J_regressor, v_shaped)
        return torch.cat([joints, v_shaped[:, self.extra_ids]], dim=1)

    def forward(self, betas: Tensor, rotmats: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Pose the body. rotmats: (B, 24, 3, 3) local rotations; betas (B, 10).

        Returns root-relative (vertices (B, V, 3), joints (B, 24, 3), points35 (B, 35, 3)), the
        posed pelvis subtracted without gradient as the reference does.
        """
        dtype = self.v_template.dtype
        vertices, joints = lbs(betas.to(dtype), rotmats.to(dtype).reshape(-1, NUM_SMPL_JOINTS, 3, 3),
                               self.v_template, self.shapedirs, self.posedirs, self.J_regressor,
                               self.parents, self.lbs_weights, pose2rot=False)
        root = joints[:, :1].detach()
        vertices = vertices - root
        joints = joints - root
        points35 = torch.cat([joints, vertices[:, self.extra_ids]], dim=1)
        return vertices, joints, points35

    @torch.no_grad()
    def rest_geometry(self, betas: np.ndarray) -> dict[str, np.ndarray]:
        """The rig's clip fields for one shape (10,), float32 numpy: rest joints and vertices,
        faces, skinning weights (what every estimator writes once per results file)."""
        dtype, device = self.v_template.dtype, self.v_template.device
        vertices = self.shaped_vertices(torch.as_tensor(betas, dtype=dtype, device=device)[None])[0]
        geometry = {"rest_joints": (self.J_regressor @ vertices).cpu().numpy().astype(np.float32),
                    "rest_vertices": vertices.cpu().numpy().astype(np.float32),
                    "faces": self.faces.astype(np.int32),
                    "lbs_weights": self.lbs_weights.cpu().numpy().astype(np.float32)}
        if self.has_fingers:  # the file's own finger joints and finger skinning
            v64 = vertices.cpu().double()
            geometry["hand_rest_joints"] = (self.finger_regressor.cpu().double() @ v64).numpy().astype(np.float32)
            geometry["rig_lbs_weights"] = self.rig_weights.astype(np.float32)
        return geometry

    def hand_rest(self, betas: np.ndarray) -> np.ndarray | None:
        """(2, 21, 3) rest hand landmarks of an SMPL-H / SMPL-X body for shape `betas` (None for SMPL)."""
        if not self.has_fingers:
            return None
        geometry = self.rest_geometry(betas)
        return rest_hands(geometry["rest_joints"].astype(np.float64), geometry["hand_rest_joints"].astype(np.float64),
                          geometry["rest_vertices"].astype(np.float64), self.rig_weights)
