"""A synthetic results clip with a known smooth motion and noisy per-frame posteriors."""
from __future__ import annotations

import numpy as np

from propose_backend import geometry, results
from propose_backend.posterior import SAMPLE_SHARPNESS
from propose_backend.temporal import kinematics

# A rough human rest skeleton (SMPL model frame: y up, facing +z, x to the body's left), metres.
REST_JOINTS = np.array([
    [0, 0, 0], [0.09, -0.08, 0], [-0.09, -0.08, 0], [0, 0.1, 0], [0.1, -0.48, 0], [-0.1, -0.48, 0],
    [0, 0.23, 0], [0.1, -0.88, -0.03], [-0.1, -0.88, -0.03], [0, 0.28, 0], [0.11, -0.93, 0.1],
    [-0.11, -0.93, 0.1], [0, 0.5, 0], [0.08, 0.42, 0], [-0.08, 0.42, 0], [0, 0.6, 0.03],
    [0.18, 0.42, 0], [-0.18, 0.42, 0], [0.44, 0.42, 0], [-0.44, 0.42, 0], [0.68, 0.42, 0],
    [-0.68, 0.42, 0], [0.76, 0.42, 0], [-0.76, 0.42, 0]], dtype=np.float64)
# surface points in their parent's frame: face points by the head, toes and heel by each ankle
SURFACE_OFFSETS = np.array([
    [0, 0.05, 0.1], [-0.03, 0.08, 0.08], [0.03, 0.08, 0.08], [-0.07, 0.06, 0], [0.07, 0.06, 0],
    [0.02, -0.07, 0.16], [0.06, -0.07, 0.14], [0, -0.08, -0.05],
    [-0.02, -0.07, 0.16], [-0.06, -0.07, 0.14], [0, -0.08, -0.05]], dtype=np.float64)
UPRIGHT = np.diag([1.0, -1.0, -1.0])  # model frame -> camera frame of a person facing the camera


def true_motion(T: int, fps: float = 30.0, seed: int = 1) -> np.ndarray:
    """(T, 24, 3, 3) smooth local rotations: every joint swings on its own slow sinusoids."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None, None] / fps
    freq = rng.uniform(0.3, 1.2, (1, 24, 3))
    phase = rng.uniform(0, 2 * np.pi, (1, 24, 3))
    amp = rng.uniform(0.1, 0.5, (1, 24, 3))
    local = geometry.axis_angle_to_matrix(amp * np.sin(2 * np.pi * freq * t + phase))
    local[:, 0] = UPRIGHT @ local[:, 0]
    return local


def clip(local: np.ndarray, noise_deg: float = 10.0, fps: float = 30.0, seed: int = 2,
         samples: int = 2, transl: np.ndarray | None = None) -> dict:
    """A v1 results dict whose per-frame posteriors are centred on noisy versions of `local`."""
    rng = np.random.default_rng(seed)
    T = len(local)
    world_true = kinematics.world_from_local(local)
    world = world_true @ geometry.axis_angle_to_matrix(rng.normal(0, np.radians(noise_deg) / np.sqrt(3), (T, 24, 3)))
    kappa = 1.0 / np.radians(noise_deg) ** 2  # isotropic MF(κM) has tangent information 2κ·I/… ≈ 1/σ²
    F = np.empty_like(world)
    F[:, 0] = 0.5 * kappa * world[:, 0]
    F[:, 1:] = 0.5 * kappa * world[:, 1:] @ np.swapaxes(world[:, :1], -1, -2)
    data = results.empty_frames(T, samples)
    data["frame_index"][:] = np.arange(T)
    data["valid"][:] = True
    data["rotmats"][:] = kinematics.local_from_world(world)
    data["posterior_F"][:] = F / SAMPLE_SHARPNESS
    data["uncertainty_deg"][:] = noise_deg
    path = np.tile([0.0, 0.0, 4.0], (T, 1)) if transl is None else transl
    data["transl"][:] = path
    points = kinematics.points35(world, REST_JOINTS, SURFACE_OFFSETS)
    data["joints3d"][:] = points
    focal, principal = np.full(T, 1000.0), np.tile([640.0, 360.0], (T, 1))
    data["joints2d"][:] = kinematics.project(points, path, focal, principal)
    data["focal_px"][:], data["principal_pt"][:] = focal, principal
    data["bbox"][:] = [500, 200, 300, 300]
    data["samples"][:] = data["rotmats"][:, None]
    data.update(schema_version=np.int64(1), fps=np.float32(fps), image_size=np.array([1280, 720]),
                rest_joints=REST_JOINTS.astype(np.float32), rest_vertices=np.zeros((6, 3), np.float32),
                faces=np.zeros((2, 3), np.int32), lbs_weights=np.full((6, 24), 1 / 24, np.float32),
                meta={"estimator": "test", "weights": "synthetic"})
    return data, world_true
