"""From footage to a results file: reading, finding and following the person, cropping,
estimating in batches, and writing the results (see docs/inference.md).

    estimator, warnings = open_estimator("auto", EstimatorSettings(find_model_files()))  # propose_backend.estimators
    summary = estimate_file("clip.mp4", "clip.propose.npz", estimator, EstimateOptions(batch_size=4))

The names below load on first use, so importing one light submodule (errors, model_files) does
not pull in torch, OpenCV and MediaPipe with the pipeline.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_SOURCES = {
    "InferenceError": "errors",
    "Estimator": "protocol", "EstimatorSettings": "protocol", "FrameBatch": "protocol",
    "ModelFiles": "model_files", "find_model_files": "model_files",
    "EstimateOptions": "pipeline", "Progress": "pipeline", "RunSummary": "pipeline", "estimate_file": "pipeline",
}
__all__ = sorted(_SOURCES)

if TYPE_CHECKING:
    from .errors import InferenceError
    from .protocol import Estimator, EstimatorSettings, FrameBatch
    from .model_files import ModelFiles, find_model_files
    from .pipeline import EstimateOptions, Progress, RunSummary, estimate_file


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
    globals()[name] = value
    return value
