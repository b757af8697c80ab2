"""A trivially fast estimator for pipeline and service tests: the protocol, nothing more.

It returns a fixed upright skeleton five metres in front of the camera, so long clips and
service round trips cost no network time, but only data an estimator could write: a real
matrix-Fisher posterior around that pose (every joint known to a few degrees), the uncertainty
computed from it, samples drawn from it densest first (seeded like the real estimators), and the
demo body's rest geometry. Shared by the backend tests (pipeline, jobs, service).
"""
from __future__ import annotations

import threading
import time

import numpy as np
import torch

from propose_backend import posterior as post
from propose_backend import results
from propose_backend.body.demo import demo_body
from propose_backend.inference.protocol import ESTIMATED_FIELDS

CONCENTRATION = 30.0  # matrix-Fisher F = 30·I per joint: samples within a few degrees of the pose


class StubEstimator:
    name = "stub"
    needs_landmarks = False

    def __init__(self, needs_crops: bool = True, delay_s: float = 0.0,
                 started: threading.Event | None = None, rejects: set[int] | None = None, seed: int = 0) -> None:
        self.needs_crops, self.delay_s, self.started = needs_crops, delay_s, started
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.rejects = rejects or set()  # source frames it marks invalid, as BlazePose does when it sees nobody
        self.batches = 0
        self.closed = False

    def describe(self) -> dict[str, str]:
        return {"weights": "none", "body_model": "none"}

    def estimate(self, batch) -> dict[str, np.ndarray]:
        if self.started is not None:
            self.started.set()
        time.sleep(self.delay_s)
        self.batches += 1
        count = len(batch.frame_index)
        frames = results.empty_frames(count, batch.num_samples)
        pose = torch.eye(3, dtype=torch.float64).expand(count, 24, 3, 3)
        posterior = post.Posterior(F=CONCENTRATION * pose, root=pose[:, 0], global_rotmats=pose, rotmats=pose)
        samples, density = post.sorted_samples(posterior, batch.num_samples, self.generator)
        frames["rotmats"][:] = pose.numpy()
        frames["posterior_F"][:] = posterior.F.numpy()
        frames["uncertainty_deg"][:] = post.uncertainty_deg(posterior).numpy()
        frames["samples"][:], frames["sample_log_density"][:] = samples.numpy(), density.numpy()
        frames["transl"][:] = (0, 0, 5)
        frames["joints3d"][:, :, 1] = np.linspace(-0.8, 0.8, 35)
        frames["joints2d"][:] = batch.camera.project(frames["joints3d"] + frames["transl"][:, None])
        out = {name: frames[name] for name in ESTIMATED_FIELDS}
        if self.rejects:
            out["valid"] = np.array([int(i) not in self.rejects for i in batch.frame_index])
        return out

    def rest_geometry(self, betas: np.ndarray, person: int | None = None) -> dict[str, np.ndarray]:
        body = demo_body()  # its mean shape whatever the betas: the stub's pose carries no shape
        return {"rest_joints": body.J_regressor @ body.v_template, "rest_vertices": body.v_template,
                "faces": body.faces, "lbs_weights": body.weights}

    def reseed(self) -> None:
        self.generator.manual_seed(self.seed)

    def close(self) -> None:
        self.closed = True
