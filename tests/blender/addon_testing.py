"""Test data for the add-on tests: results files made with the real backend pieces.

Results come from the licence-free Anny body (13,718 vertices, so nothing may assume SMPL's 6,890)
and the analytical posterior (random prior, posed
skeleton as the observation), written with `propose_backend.results.write_results`, so every
array is the real thing in the real schema, only without a network in front.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from propose_backend import geometry, posterior as post
from functools import lru_cache

from propose_backend.body import load_body
from propose_backend.body.layer import BodyLayer
from propose_backend.results import SCHEMA_VERSION, empty_frames
from propose_backend.skeleton import SMPL_JOINT_NAMES
from propose_blender import axes, motion, rig as rig_module


@lru_cache(maxsize=1)
def test_layer() -> BodyLayer:
    """The body the add-on sees when no SMPL file is given (built once per test session)."""
    return BodyLayer(load_body(None)[0]).double()

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
EXTENSION_MODULE = "bl_ext.user_default.propose_blender"  # once installed by the tests
IMAGE_SIZE = (320, 240)
FOCAL_PX = 300.0
PRINCIPAL_PT = (166.0, 117.0)  # off-centre on purpose, so camera shift is exercised


def _rotations(shape: tuple[int, ...], scale: float, generator: torch.Generator) -> torch.Tensor:
    from smplx.lbs import batch_rodrigues

    axis_angle = torch.randn(*shape, 3, generator=generator, dtype=torch.float64) * scale
    return batch_rodrigues(axis_angle.reshape(-1, 3)).reshape(*shape, 3, 3)


def make_results(num_frames: int = 6, num_samples: int = 4, invalid: tuple[int, ...] = (), seed: int = 0,
                 frame_step: int = 1, layer: BodyLayer | None = None) -> dict[str, Any]:
    """A complete results dict for a moving body (`layer`, float64; default the Anny body)."""
    g = torch.Generator().manual_seed(seed)
    T, S = num_frames, num_samples
    layer = layer if layer is not None else test_layer()
    betas = torch.randn(T, 10, generator=g, dtype=torch.float64) * 0.3
    rest = layer.rest_points(betas)
    local = _rotations((T, 24), 0.3, g)
    # an upright person facing the camera: a half turn about x maps SMPL's y-up into camera y-down
    upright = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    local[:, 0] = upright @ _rotations((T,), 0.2, g)
    _, _, observed = layer(betas, local)  # the posed body's 35 points, root-relative: the observation
    prior_F = torch.eye(3, dtype=torch.float64) * 5 + torch.randn(T, 24, 3, 3, generator=g, dtype=torch.float64)
    posterior = post.analytical_posterior(prior_F, observed, rest, kappa=100.0)
    if S:
        samples, log_density = post.sorted_samples(posterior, S, g)  # densest first, log densities <= 0
    else:
        samples, log_density = torch.zeros(T, 0, 24, 3, 3), torch.zeros(T, 0)
    _, joints, points35 = layer(betas, posterior.rotmats)

    data = empty_frames(T, S)
    t = np.arange(T)
    transl = np.stack([0.1 * np.sin(t), 0.05 * np.cos(t), 3.0 + 0.1 * t], axis=1)
    data.update(
        frame_index=np.arange(T) * frame_step, valid=np.ones(T, bool),
        bbox=np.tile([100.0, 50.0, 120.0, 120.0], (T, 1)), betas=betas.numpy(),
        rotmats=posterior.rotmats.numpy(), posterior_F=posterior.F.numpy(),
        samples=samples.numpy(), sample_log_density=log_density.numpy(), transl=transl,
        joints3d=points35.numpy(), uncertainty_deg=post.uncertainty_deg(posterior).numpy(),
        focal_px=np.full(T, FOCAL_PX), principal_pt=np.tile(PRINCIPAL_PT, (T, 1)),
    )
    data["joints2d"] = (data["joints3d"] + transl[:, None])[..., :2] / (data["joints3d"] + transl[:, None])[..., 2:] \
        * FOCAL_PX + np.asarray(PRINCIPAL_PT)
    for name in data:
        data[name] = np.asarray(data[name]).astype(empty_frames(1, 1)[name].dtype)
    for i in invalid:
        for name, array in data.items():
            if name != "frame_index":
                array[i] = 0
    mean = layer.rest_points(betas.mean(0, keepdim=True))
    data.update(
        schema_version=np.int64(SCHEMA_VERSION), fps=np.float32(25.0), image_size=np.array(IMAGE_SIZE),
        rest_joints=mean[0, :24].numpy().astype(np.float32),
        rest_vertices=layer.shaped_vertices(betas.mean(0, keepdim=True))[0].numpy().astype(np.float32),
        faces=layer.faces.astype(np.int32), lbs_weights=layer.lbs_weights.numpy().astype(np.float32),
        meta={"estimator": "test", "weights": "none", "source": "", "body_model": "anny", "created_by": "tests"},
    )
    return data


def backend_python_env() -> dict[str, str]:
    """Environment for running the backend from this test interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "backend"), str(ROOT), env.get("PYTHONPATH", "")])
    return env


BACKEND_PYTHON = sys.executable


def evaluated_smpl_rotations(rig) -> np.ndarray:
    """The rig's current pose as SMPL local rotations, undoing the add-on's axis conversion."""
    rest = rig_module.rest_orientations(rig)
    posed = np.array([np.array(rig.pose.bones[n].matrix.to_3x3()) for n in SMPL_JOINT_NAMES])
    # posed = D_j B_j with D_j = W G_j A^T (root and children alike, see axes.py)
    G = motion.world_of(rig)[0].T @ (posed @ np.transpose(rest, (0, 2, 1))) @ axes.ARMATURE_FROM_SMPL
    return geometry.local_from_world(G)


def posed_vertices(data: dict[str, Any], row: int) -> np.ndarray:
    """Camera-frame vertices of results row `row`, skinned by the backend's own body layer (mean betas)."""
    layer = test_layer()
    betas = torch.as_tensor(data["betas"][data["valid"]], dtype=torch.float64).mean(0, keepdim=True)
    rotmats = torch.as_tensor(data["rotmats"][row:row + 1], dtype=torch.float64)
    vertices, _, _ = layer(betas, rotmats)
    return vertices[0].numpy() + data["transl"][row]


def footage_frame(data: dict[str, Any], row: int) -> np.ndarray:
    """The footage a camera with the results' intrinsics would have filmed: the body on grey (BGR)."""
    from propose_backend.render import render_mesh

    width, height = (int(v) for v in data["image_size"])
    return render_mesh(posed_vertices(data, row), np.asarray(data["faces"]), size=(height, width),
                       focal=float(data["focal_px"][row]), center=tuple(float(v) for v in data["principal_pt"][row]))


def write_clip(path: Path, num_frames: int, size: tuple[int, int] = IMAGE_SIZE, distinct: int = 6,
               fps: float = 25.0) -> Path:
    """An .mp4 of the demo body moving on grey, `distinct` rendered poses cycled over `num_frames`."""
    import cv2

    data = make_results(num_frames=distinct, num_samples=0, seed=3)
    data["image_size"] = np.array(size)
    data["principal_pt"][:] = (size[0] / 2, size[1] / 2)
    frames = [footage_frame(data, i) for i in range(distinct)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(num_frames):
        writer.write(frames[i % distinct])
    writer.release()
    return path


def clip_bbox(size: tuple[int, int] = IMAGE_SIZE) -> str:
    """A generous person box (x,y,w,h) for write_clip's footage, as the batch's --bbox takes it."""
    width, height = size
    return f"{width * 0.2:.0f},{height * 0.02:.0f},{width * 0.6:.0f},{height * 0.96:.0f}"
