"""Which estimator runs: the registry of the two implementations, the choice `auto` makes, and
what the user must hear before trusting the results.

The implementations load lazily (the network needs torch, instant mode MediaPipe too), so the
choice itself, e.g. for the service's `version` reply, costs nothing.
"""
from __future__ import annotations

from typing import Callable

from .inference.errors import InferenceError
from .inference.model_files import ModelFiles
from .inference.protocol import Estimator, EstimatorSettings
from .request import ESTIMATORS

RANDOM_WEIGHTS_WARNING = ("ProPose ran on RANDOMLY INITIALISED weights (no checkpoint): the poses are "
                          "meaningless. Put propose_hr48_xyz.pth into model_files/ for real results.")


def _open_propose(settings: EstimatorSettings) -> Estimator:
    from .network_estimator import load_propose_estimator

    return load_propose_estimator(settings)


def _open_keypoints(settings: EstimatorSettings) -> Estimator:
    from .instant.landmark_estimator import create_estimator

    return create_estimator(settings)


FACTORIES: dict[str, Callable[[EstimatorSettings], Estimator]] = {"propose": _open_propose,
                                                                   "keypoints": _open_keypoints}


def choose_estimator(requested: str, files: ModelFiles, allow_random_weights: bool) -> str:
    """Resolve auto|propose|keypoints to the estimator that will run, or explain why none can.

    auto: ProPose when its checkpoint is present, else the keypoints estimator (instant mode).
    propose without a checkpoint runs only when random weights are explicitly allowed.
    """
    if requested not in ESTIMATORS:
        raise InferenceError("bad_request", f"unknown estimator '{requested}'; choose one of {', '.join(ESTIMATORS)}.")
    if requested == "keypoints" or (requested == "auto" and files.checkpoint is None):
        return "keypoints"
    if files.checkpoint is None and not allow_random_weights:
        raise InferenceError("missing_file", files.missing_checkpoint_message())
    return "propose"


def startup_warnings(name: str, files: ModelFiles) -> list[str]:
    """What the user must hear before trusting the results of estimator `name` (random weights, demo body)."""
    random = [RANDOM_WEIGHTS_WARNING] if name == "propose" and files.checkpoint is None else []
    return random + list(files.warnings)


def open_estimator(requested: str, settings: EstimatorSettings,
                   allow_random_weights: bool = False) -> tuple[Estimator, list[str]]:
    """Choose and load the estimator (slow: reads model files onto the device), with its startup warnings."""
    name = choose_estimator(requested, settings.files, allow_random_weights)
    return FACTORIES[name](settings), startup_warnings(name, settings.files)
