"""The instant-mode estimator the everyone tests share (one per test module, as each had its own)."""
from __future__ import annotations

import pytest

from propose_backend.estimators import open_estimator
from propose_backend.inference import EstimatorSettings
from propose_backend.inference.model_files import ModelFiles


@pytest.fixture(scope="module")
def instant(tmp_path_factory):
    """Instant mode (BlazePose landmarks) with the Anny body: real poses without model files."""
    files = ModelFiles(None, None, tmp_path_factory.mktemp("no_model_files"))
    loaded, _ = open_estimator("keypoints", EstimatorSettings(files))
    yield loaded
    loaded.close()
