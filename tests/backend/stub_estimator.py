"""A trivially fast estimator for pipeline and service tests: the protocol, nothing more.

It returns a fixed upright skeleton five metres in front of the camera, so long clips and
service round trips cost no network time. Shared by tests/backend/inference and test_serve.py.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from propose_backend import results
from propose_backend.inference.protocol import ESTIMATED_FIELDS


class StubEstimator:
    name = "stub"
    needs_landmarks = False

    def __init__(self, needs_crops: bool = True, delay_s: float = 0.0,
                 started: threading.Event | None = None, rejects: set[int] | None = None) -> None:
        self.needs_crops, self.delay_s, self.started = needs_crops, delay_s, started
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
        frames["rotmats"][:] = np.eye(3)
        frames["transl"][:] = (0, 0, 5)
        frames["joints3d"][:, :, 1] = np.linspace(-0.8, 0.8, 35)
        frames["joints2d"][:] = batch.camera.project(frames["joints3d"] + frames["transl"][:, None])
        out = {name: frames[name] for name in ESTIMATED_FIELDS}
        if self.rejects:
            out["valid"] = np.array([int(i) not in self.rejects for i in batch.frame_index])
        return out

    def rest_geometry(self, betas: np.ndarray, person: int | None = None) -> dict[str, np.ndarray]:
        return {"rest_joints": np.zeros((24, 3)), "rest_vertices": np.zeros((8, 3)),
                "faces": np.zeros((4, 3), np.int32), "lbs_weights": np.zeros((8, 24))}

    def reseed(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
