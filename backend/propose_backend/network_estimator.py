"""The ProPose estimator: network → analytical posterior → mode, samples and camera, per frame.

The network runs through `NetworkRunner` (bf16/channels-last/CUDA graphs on a GPU); the
posterior, the body model and sampling run outside autocast in fp32 (fp64 inside the sampler),
so the fast path changes nothing that the rotations or the uncertainty depend on numerically
beyond the backbone's own precision.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .api import ProPose, load_model
from .body import BodyModelError
from .hands.rest import hand_joints, template_hands
from .hands.solve import FingerSolver
from .geometry import ray_rotation
from .inference.crop import image_translation, normalize
from .inference.device import NetworkRunner, resolve_device
from .inference.errors import InferenceError
from .mirrored import mirror_estimate
from .inference.protocol import EstimatorSettings, FrameBatch
from .model import CheckpointError, NetworkOutput
from .skeleton import CROP_SIZE


class ProPoseEstimator:
    """Estimator protocol implementation for the ProPose network (see inference.protocol.Estimator)."""

    name = "propose"
    needs_crops = True
    needs_landmarks = False

    def __init__(self, model: ProPose, settings: EstimatorSettings, body_label: str) -> None:
        self.model = model
        self.device = model.device
        graph_batch = settings.batch_size if settings.cuda_graphs else None
        self.network = NetworkRunner(model.net, self.device, bf16=settings.bf16, graph_batch=graph_batch)
        self.seed = settings.seed
        self.generator = torch.Generator(self.device).manual_seed(self.seed)
        self._body_label = body_label
        self._staging: Tensor | None = None  # pinned host buffer for crops, reused across batches
        self._hands_rest, self._finger_weights = self._rest_hands()
        self.fingers = FingerSolver(self._hands_rest)
        self.hands = True  # the results carry the finger fields
        self.hand_generator = torch.Generator().manual_seed(self.seed)  # fingers are solved on the CPU

    def _rest_hands(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(rest hand landmarks (2, 21, 3), 54-joint skinning or None): Anny's own fingers, an SMPL-H /
        SMPL-X file's, else an average hand on the body's wrists (SMPL has no finger bones)."""
        if self.model.phenotype is not None:
            from .body.anny_body import anny_body

            return anny_body().hand_rest(self.model.phenotype)
        if self.model.body.has_fingers:  # (rest_geometry reads its skinning per shape)
            return self.model.body.hand_rest(np.zeros(10)), None
        return template_hands(self.model.body.rest_geometry(np.zeros(10))["rest_joints"]), None

    def describe(self) -> dict[str, str]:
        return {"weights": self.model.weights, "body_model": self._body_label}

    def _to_device(self, crops: np.ndarray) -> Tensor:
        """Crops as a uint8 tensor on the device; on CUDA via a reused pinned buffer (asynchronous copy).

        The buffer is free again by the next call: every batch ends with its results copied back.
        """
        pixels = torch.from_numpy(crops)
        if self.device.type != "cuda":
            return pixels
        if self._staging is None or self._staging.shape[0] < len(crops):
            self._staging = torch.empty(pixels.shape, dtype=torch.uint8).pin_memory()
        staging = self._staging[:len(crops)]
        staging.copy_(pixels)
        return staging.to(self.device, non_blocking=True)

    @torch.inference_mode()
    def forward(self, crops: np.ndarray) -> NetworkOutput:
        """The network on (B, 256, 256, 3) uint8 RGB crops; only bytes are copied to the device."""
        return self.network(normalize(self._to_device(crops)))

    @torch.inference_mode()
    def decode(self, out: NetworkOutput, num_samples: int) -> dict[str, Tensor]:
        """`ProPose.decode` (posterior, posed skeleton, uncertainty, sorted samples) as results fields."""
        pred = self.model.decode(out, num_samples, self.generator)
        return {"betas": pred.betas, "rotmats": pred.rotmats, "posterior_F": pred.posterior_F,
                "crop_transl": pred.transl, "joints3d": pred.points35, "uncertainty_deg": pred.uncertainty_deg,
                "samples": pred.samples, "sample_log_density": pred.sample_log_density}

    def warm_up(self, batch_size: int, num_samples: int = 8) -> None:
        """One full pass on blank crops, so that one-off costs (CPU kernel selection, cuDNN autotuning,
        CUDA-graph capture) are paid while loading rather than on the user's first frame."""
        crops = np.zeros((batch_size, CROP_SIZE, CROP_SIZE, 3), np.uint8)
        result = self.decode(self.forward(crops), num_samples)
        result["rotmats"].cpu()
        self.reseed()  # runs draw the same samples with or without a warm-up

    def estimate(self, batch: FrameBatch) -> dict[str, np.ndarray]:
        predicted = self.decode(self.forward(batch.crops), batch.num_samples)
        arrays = {k: v.float().cpu().numpy() for k, v in predicted.items()}
        transl = image_translation(arrays.pop("crop_transl"), batch.boxes, batch.camera)
        arrays["transl"] = transl.astype(np.float32)
        arrays["joints2d"] = batch.camera.project(arrays["joints3d"] + transl[:, None]).astype(np.float32)
        hands = self.fingers.observe(batch.images or [None] * len(batch.boxes), hand_guides(batch, arrays["joints2d"]),
                                     batch.person, batch.frame_index, batch.still)
        # the network reads the body in its crop's view (along the ray through the box's centre)
        camera = batch.camera
        hands.seen_along_rays(camera.focal_px, camera.principal_pt,
                              ray_rotation(np.asarray(batch.boxes)[:, :2], camera.focal_px, camera.principal_pt))
        self.fingers.refine_wrists(hands, arrays["rotmats"], arrays["posterior_F"], arrays["uncertainty_deg"])
        if batch.mirrored:  # the figure read so far is reflected to the person's own sides
            mirror_estimate(arrays, hands, batch.camera)
        arrays.update(self.fingers.solve_on_body(hands, arrays, batch.num_samples, self.hand_generator))
        return arrays

    def rest_geometry(self, betas: np.ndarray, person: int | None = None) -> dict[str, np.ndarray]:
        geometry = self.model.body.rest_geometry(betas)
        if self._finger_weights is not None:  # Anny: the fitted rest hand and its finger skinning
            geometry["hand_rest_joints"] = hand_joints(self._hands_rest).astype(np.float32)
            geometry["rig_lbs_weights"] = self._finger_weights.astype(np.float32)
        elif "hand_rest_joints" not in geometry:  # SMPL: template hands (SMPL-H / SMPL-X bring their own)
            geometry["hand_rest_joints"] = hand_joints(template_hands(geometry["rest_joints"])).astype(np.float32)
        return geometry

    def reseed(self) -> None:
        self.generator.manual_seed(self.seed)
        self.hand_generator.manual_seed(self.seed)
        self.fingers.reset()

    def close(self) -> None:
        self.fingers.close()  # MediaPipe's hand graphs; the rest is memory, freed with the estimator


def load_propose_estimator(settings: EstimatorSettings) -> ProPoseEstimator:
    """Load the network and body model onto the device, with user-facing errors for bad files."""
    files = settings.files
    device = resolve_device(settings.device)
    try:
        model = load_model(files.checkpoint, files.body_model, device=device)
    except CheckpointError as exc:
        raise InferenceError("bad_model", str(exc)) from exc
    except BodyModelError as exc:
        raise InferenceError("bad_model", str(exc)) from exc
    estimator = ProPoseEstimator(model, settings, model.body_label)
    estimator.warm_up(settings.batch_size)
    return estimator


# SMPL joints standing in for BlazePose's arm and hand points where a frame has no BlazePose pass:
# BlazePose index <- SMPL joint (elbow, wrist; the hand joint for pinky, index and thumb).
_GUIDES = {13: 18, 14: 19, 15: 20, 16: 21, 17: 22, 18: 23, 19: 22, 20: 23, 21: 22, 22: 23}


def hand_guides(batch: FrameBatch, joints2d: np.ndarray) -> np.ndarray:
    """(B, 33, 3) pixels and visibility that place the hand crops: BlazePose's landmarks where the
    detector ran BlazePose, else the network's elbows, wrists and hands.

    Sides are the figure's as seen, also on mirrored footage, as the network's body's are (both
    go to the person's sides together afterwards, propose_backend.mirrored)."""
    width, height = batch.image_size
    out = np.zeros((len(joints2d), 33, 3))
    for k, det in enumerate(batch.detections):
        if det is not None and det.landmarks is not None:
            out[k] = np.c_[det.landmarks[:, :2] * (width, height), det.landmarks[:, 3]]
        else:
            for point, joint in _GUIDES.items():
                out[k, point] = (*joints2d[k, joint], 1.0)
    return out
