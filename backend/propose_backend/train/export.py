"""Writing the released checkpoint format (docs/model.md, The released checkpoint), which `propose_backend.load_model` reads.

A flat state dict in the release's order: init_shape, init_cam, the SMPL layer's buffers under
`smpl.` (ignored on load, kept so the file matches the original layout), then the network.
No wrapper, no `module.` prefix.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..body import BodyModelData
from ..model import ProPoseNet
from ..skeleton import PARENTS

NUM_H36M = 17


def smpl_buffers(body: BodyModelData, h36m_regressor: np.ndarray | None) -> dict[str, Tensor]:
    """The reference's SMPL layer buffers; a zero X_regressor stands in when none is supplied."""
    f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    vertices = body.num_vertices
    regressor = np.zeros((NUM_H36M, vertices), np.float32) if h36m_regressor is None else h36m_regressor
    return {
        "smpl.faces_tensor": torch.as_tensor(body.faces, dtype=torch.int64),
        "smpl.v_template": f32(body.v_template),
        "smpl.shapedirs": f32(body.shapedirs[:, :, :10]),
        "smpl.posedirs": f32(body.posedirs.reshape(-1, body.posedirs.shape[-1]).T),
        "smpl.lbs_weights": f32(body.weights),
        "smpl.J_regressor": f32(body.J_regressor),
        "smpl.X_regressor": f32(regressor),
        "smpl.parents": torch.tensor(PARENTS, dtype=torch.int64),
    }


def released_state_dict(net: ProPoseNet, body: BodyModelData,
                        h36m_regressor: np.ndarray | None = None) -> dict[str, Tensor]:
    weights = {key: value.detach().cpu().clone() for key, value in net.state_dict().items()}
    ordered = {"init_shape": weights.pop("init_shape"), "init_cam": weights.pop("init_cam")}
    ordered.update(smpl_buffers(body, h36m_regressor))
    ordered.update(weights)
    return ordered


def export_released(net: ProPoseNet, body: BodyModelData, path: str | Path,
                    h36m_regressor: np.ndarray | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(released_state_dict(net, body, h36m_regressor), path)
    return path
