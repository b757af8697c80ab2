"""From footage to a results file: reading, finding and following the person, cropping,
estimating in batches, and writing the results (see docs/inference.md).

    estimator, warnings = open_estimator("auto", EstimatorSettings(find_model_files()))
    summary = estimate_file("clip.mp4", "clip.propose.npz", estimator, EstimateOptions(batch_size=4))
"""
from __future__ import annotations

from .errors import InferenceError
from .estimator import Estimator, EstimatorSettings, FrameBatch, open_estimator
from .model_files import ModelFiles, find_model_files
from .pipeline import EstimateOptions, Progress, RunSummary, estimate_file

__all__ = ["EstimateOptions", "Estimator", "EstimatorSettings", "FrameBatch", "InferenceError", "ModelFiles", "Progress",
           "RunSummary", "estimate_file", "find_model_files", "open_estimator"]
