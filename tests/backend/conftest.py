"""Shared footage and a shared random-weights estimator for the inference tests (CPU, Anny body)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend.demo_clip import write_demo_clip
from propose_backend.estimators import open_estimator
from propose_backend.inference import EstimatorSettings, ModelFiles
from tests.backend.stub_estimator import StubEstimator


@pytest.fixture(scope="session")
def estimator(tmp_path_factory):
    """ProPose on random weights with the Anny body: what every test without model files can run."""
    files = ModelFiles(None, None, tmp_path_factory.mktemp("no_model_files"))
    loaded, _ = open_estimator("propose", EstimatorSettings(files, device="cpu", batch_size=2),
                               allow_random_weights=True)
    return loaded


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """Six 320x240 frames of the Anny body moving sideways."""
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


@pytest.fixture
def stub() -> StubEstimator:
    return StubEstimator()

