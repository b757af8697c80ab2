"""What an estimator is, and which one runs.

An estimator turns a batch of prepared frames (person crops, crop boxes, detections) into the
per-frame arrays of the results schema. Two exist: `propose` (the ProPose network and its
analytical posterior, propose_estimator.py) and `keypoints`, the instant mode built on BlazePose
landmarks, which lives in the optional module `propose_backend.keypoints` and is found through
its `create_estimator(settings)` function.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from ..request import ESTIMATORS, EstimateRequest
from .crop import ImageCamera
from .detect import Detection
from .errors import InferenceError
from .model_files import ModelFiles

KEYPOINTS_MODULE = "propose_backend.keypoints"
# Per-frame results fields an estimator fills; the pipeline adds frame_index, valid, bbox and the camera.
ESTIMATED_FIELDS = ("betas", "rotmats", "posterior_F", "samples", "sample_log_density", "transl",
                    "joints3d", "joints2d", "uncertainty_deg")


@dataclass
class FrameBatch:
    """Frames that hold a person, ready for an estimator (B frames)."""

    frame_index: np.ndarray  # (B,) source frame numbers
    boxes: np.ndarray  # (B, 3) crop boxes (cx, cy, side), image pixels
    crops: np.ndarray | None  # (B, 256, 256, 3) uint8 RGB, when the estimator needs crops
    detections: list[Detection | None]  # the detection of each frame, where the detector ran
    camera: ImageCamera  # the clip's full-image camera
    num_samples: int  # S, posterior samples wanted per frame
    image_size: tuple[int, int]  # width, height of the source frames
    mirrored: bool = False  # mirrored footage: detectors' left/right labels are swapped


@dataclass
class EstimatorSettings:
    """Everything needed to build an estimator; shared by both kinds."""

    files: ModelFiles
    device: str = "cpu"
    batch_size: int = 1  # the batch size runs will use (CUDA graphs are captured for it)
    bf16: bool = True  # CUDA only
    cuda_graphs: bool = False  # CUDA only
    seed: int = 0

    @classmethod
    def from_request(cls, request: EstimateRequest, files: ModelFiles, batch_size: int) -> "EstimatorSettings":
        return cls(files, device=request.device, batch_size=batch_size, bf16=not request.fp32,
                   cuda_graphs=request.cuda_graphs, seed=request.seed)


class Estimator(Protocol):
    """The contract the pipeline relies on."""

    name: str  # recorded as meta.estimator
    needs_crops: bool  # cut 256×256 person crops for it
    needs_landmarks: bool  # run the detector (BlazePose) on every frame for it

    def describe(self) -> dict[str, str]:
        """Results metadata: at least "weights" and "body_model"."""
        ...

    def estimate(self, batch: FrameBatch) -> dict[str, np.ndarray]:
        """ESTIMATED_FIELDS for every frame of the batch, shapes as in propose_backend.results.

        May add "valid" (B,) bool: False marks a frame the estimator could not handle (it is then
        stored as a frame without a person).
        """
        ...

    def rest_geometry(self, betas: np.ndarray) -> dict[str, np.ndarray]:
        """The rig's clip fields for one set of betas (10,): rest_joints, rest_vertices, faces, lbs_weights."""
        ...

    def reseed(self) -> None:
        """Restart the sample generator, so an input's samples depend on the seed alone (not on
        the inputs run before it by the same service or command)."""
        ...

    def close(self) -> None:
        """Release what the estimator holds beyond memory (MediaPipe graphs and their threads)."""
        ...


def _keypoints_factory() -> Callable[[EstimatorSettings], Estimator] | None:
    """`propose_backend.keypoints.create_estimator`, or None while that module does not provide it."""
    if importlib.util.find_spec(KEYPOINTS_MODULE) is None:
        return None
    return getattr(importlib.import_module(KEYPOINTS_MODULE), "create_estimator", None)


def keypoints_available() -> bool:
    return _keypoints_factory() is not None


def choose_estimator(requested: str, files: ModelFiles, allow_random_weights: bool) -> str:
    """Resolve auto|propose|keypoints to the estimator that will run, or explain why none can.

    auto: ProPose when its checkpoint is present, else the keypoints estimator when installed,
    else ProPose on random weights if explicitly allowed.
    """
    if requested not in ESTIMATORS:
        raise InferenceError("bad_request", f"unknown estimator '{requested}'; choose one of {', '.join(ESTIMATORS)}.")
    if requested == "keypoints" or (requested == "auto" and files.checkpoint is None and keypoints_available()):
        if not keypoints_available():
            raise InferenceError("bad_request", "The keypoints (instant mode) estimator is not part of this "
                                                "backend version; use --estimator propose.")
        return "keypoints"
    if files.checkpoint is None and not allow_random_weights:
        raise InferenceError("missing_file", files.missing_checkpoint_message())
    return "propose"


RANDOM_WEIGHTS_WARNING = ("ProPose ran on RANDOMLY INITIALISED weights (no checkpoint): the poses are "
                          "meaningless. Put propose_hr48_xyz.pth into model_files/ for real results.")


def startup_warnings(name: str, files: ModelFiles) -> list[str]:
    """What the user must hear before trusting the results of estimator `name` (random weights, demo body)."""
    random = [RANDOM_WEIGHTS_WARNING] if name == "propose" and files.checkpoint is None else []
    return random + list(files.warnings)


def open_estimator(requested: str, settings: EstimatorSettings,
                   allow_random_weights: bool = False) -> tuple[Estimator, list[str]]:
    """Choose and load the estimator (slow: reads model files onto the device), with its startup warnings."""
    name = choose_estimator(requested, settings.files, allow_random_weights)
    if name == "keypoints":
        estimator = _keypoints_factory()(settings)
    else:
        from .propose_estimator import load_propose_estimator

        estimator = load_propose_estimator(settings)
    return estimator, startup_warnings(name, settings.files)
