"""What an estimator is: the protocol the pipeline relies on and the data it is handed.

An estimator turns a batch of prepared frames (person crops, crop boxes, detections) into the
per-frame arrays of the results schema. Two exist: `propose` (the ProPose network and its
analytical posterior, propose_backend.network_estimator) and `keypoints`, the instant mode built on BlazePose
landmarks (propose_backend.instant); propose_backend.estimators chooses and opens them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..geometry import flip_pixels, side_swap
from ..request import DEFAULT_SEED
from .crop import ImageCamera
from .detect import Detection
from .model_files import ModelFiles

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
    mirrored: bool = False  # mirrored footage: estimators give the real scene (propose_backend.mirrored)
    # (B,) person number of each row when several people are followed; -n: person n read out of their
    # sequence (backwards in time, or a second look at a frame): a body fit takes n, a frame-to-frame
    # tracker (video-mode BlazePose, the hand landmarker) keeps out of it
    person: np.ndarray | None = None
    images: list[np.ndarray] | None = None  # the full BGR frames (hand crops are cut from them)
    still: bool = False  # a photo, not a clip's frame: its hands are read as a still (hands/landmarks.py)


@dataclass
class EstimatorSettings:
    """Everything needed to build an estimator; shared by both kinds."""

    files: ModelFiles
    device: str = "cpu"
    batch_size: int = 1  # the batch size runs will use (CUDA graphs are captured for it)
    bf16: bool = True  # CUDA only
    cuda_graphs: bool = False  # CUDA only
    seed: int = DEFAULT_SEED


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

    def rest_geometry(self, betas: np.ndarray, person: int | None = None) -> dict[str, np.ndarray]:
        """The rig's clip fields for one set of betas (10,): rest_joints, rest_vertices, faces, lbs_weights.

        `person`: whose body, when the estimator fits each person's body as it goes (batch.person)."""
        ...

    # Optional: forget(person: int) -> None. An estimator that follows each person inside their crop
    # from frame to frame (instant mode's BlazePose in video mode) is told when that person's crop
    # did not show them, so it searches the next crop afresh (everyone.py).

    def reseed(self) -> None:
        """Restart the sample generator, so an input's samples depend on the seed alone (not on
        the inputs run before it by the same service or command)."""
        ...

    def close(self) -> None:
        """Release what the estimator holds beyond memory (MediaPipe graphs and their threads)."""
        ...


def as_seen(estimated: dict[str, np.ndarray], camera: ImageCamera) -> dict[str, np.ndarray]:
    """A mirrored run's estimate with its overlay (`joints2d`) back on the footage as it is, sides as
    seen (propose_backend.mirrored puts it on the flipped footage): what the trackers follow."""
    points = estimated["joints2d"]
    return {**estimated, "joints2d": flip_pixels(points[..., side_swap(points.shape[-2]), :], float(camera.principal_pt[0]))}
