"""Shared footage and a shared random-weights estimator for the inference tests (CPU, demo body)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend.bench import write_demo_clip
from propose_backend import results
from propose_backend.inference import EstimatorSettings, ModelFiles, open_estimator
from propose_backend.inference.estimator import ESTIMATED_FIELDS


@pytest.fixture(scope="session")
def estimator(tmp_path_factory):
    """ProPose on random weights with the demo body: what every test without model files can run."""
    files = ModelFiles(None, None, tmp_path_factory.mktemp("no_model_files"))
    loaded, _ = open_estimator("propose", EstimatorSettings(files, device="cpu", batch_size=2),
                               allow_random_weights=True)
    return loaded


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """Six 320x240 frames of the demo body moving sideways."""
    return write_demo_clip(tmp_path_factory.mktemp("clip") / "walk.mp4", 6, size=(320, 240))


@pytest.fixture(scope="session")
def person_image(clip, tmp_path_factory) -> Path:
    capture = cv2.VideoCapture(str(clip))
    ok, frame = capture.read()
    capture.release()
    assert ok
    path = tmp_path_factory.mktemp("image") / "person.png"
    cv2.imwrite(str(path), frame)
    return path


@pytest.fixture
def grey_image(tmp_path) -> Path:
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((240, 320, 3), 128, np.uint8))
    return path


class InstantStub:
    """A trivially fast estimator (the protocol, nothing more) so that long clips cost no network time."""

    name = "stub"
    needs_crops = True
    needs_landmarks = False

    def __init__(self) -> None:
        self.batches = 0
        self.closed = False

    def describe(self) -> dict[str, str]:
        return {"weights": "none", "body_model": "none"}

    def estimate(self, batch) -> dict[str, np.ndarray]:
        self.batches += 1
        count = len(batch.frame_index)
        frames = results.empty_frames(count, batch.num_samples)
        frames["rotmats"][:] = np.eye(3)
        joints3d = np.zeros((count, 35, 3))
        joints3d[:, :, 1] = np.linspace(-0.8, 0.8, 35)
        frames["transl"][:] = (0, 0, 5)
        frames["joints3d"][:] = joints3d
        frames["joints2d"][:] = batch.camera.project(joints3d + frames["transl"][:, None])
        return {name: frames[name] for name in ESTIMATED_FIELDS}

    def rest_geometry(self, betas: np.ndarray) -> dict[str, np.ndarray]:
        return {"rest_joints": np.zeros((24, 3)), "rest_vertices": np.zeros((8, 3)),
                "faces": np.zeros((4, 3), np.int32), "lbs_weights": np.zeros((8, 24))}

    def reseed(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def stub() -> InstantStub:
    return InstantStub()

