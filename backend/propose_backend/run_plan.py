"""One request, one run plan: what a run does, decided once for every front end.

The command line (`propose-backend estimate`), the service (`serve`), the batch runner
(`propose_backend.batch`) and the add-on's runner all turn a request into a `RunPlan` and take
what they need from it: the protocol line the add-on sends (`message`), the request the service
reads back (`from_message`), the batch size for the device the run got (`batch_size`), the
estimator's settings and the run's options (`estimator_settings`, `estimate_options`). So the way
a request field reaches the code that uses it is written here only.

Like request.py this module needs only the standard library at import time: the add-on loads it
through its bridge (propose_blender/bridge.py). The conversions into the inference package's types
import it when called, which only the backend does.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from .request import BATCH_SIZE, EstimateRequest, RequestError, ResolveRequest

if TYPE_CHECKING:
    from .inference.model_files import ModelFiles
    from .inference.pipeline import EstimateOptions
    from .inference.protocol import EstimatorSettings

KINDS = {"estimate": EstimateRequest, "resolve": ResolveRequest}  # protocol request type -> its request


def batch_size_for(asked: int | None, device_type: str | None) -> int:
    """The batch size asked for, else the default of the device type the run resolved to;
    0 while the device is not known yet (a batch's workers each decide on their own device)."""
    if asked:
        return asked
    return BATCH_SIZE.get(device_type, 1) if device_type else 0


@dataclass(frozen=True)
class RunPlan:
    """A checked request and the device type it runs on (None: not resolved here)."""

    request: EstimateRequest | ResolveRequest
    device_type: str | None = None  # "cpu", "cuda", "mps" once resolved on the machine that runs it

    @property
    def kind(self) -> str:
        """The protocol request type: "estimate" or "resolve"."""
        return next(kind for kind, cls in KINDS.items() if isinstance(self.request, cls))

    @property
    def batch_size(self) -> int:
        """Frames per network pass (0: left to the device of each worker, see batch_size_for)."""
        return batch_size_for(getattr(self.request, "batch_size", None), self.device_type)

    # --- the wire: the add-on sends a plan, the service reads it back ----------------------------

    def message(self, job_id: str) -> dict[str, Any]:
        """The request line that asks the service for this run (docs/protocol.md)."""
        return {"type": self.kind, "id": job_id, **self.request.to_json()}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> "RunPlan":
        """The plan in an `estimate` or `resolve` line (raises RequestError naming a bad field)."""
        kind = message.get("type")
        if kind not in KINDS:
            raise RequestError("type", f"must be one of {', '.join(KINDS)} for a run")
        return cls(KINDS[kind].from_json(message))

    # --- the backend's side: the device, then the estimator and the pipeline ---------------------

    def resolved(self) -> "RunPlan":
        """The plan on this machine's device ("auto" becomes what is there; imports torch)."""
        from .inference.device import resolve_device

        return dataclasses.replace(self, device_type=resolve_device(self.request.device).type)

    def for_workers(self) -> "RunPlan":
        """The plan handed to a batch's workers: each resolves the device it got, unless the batch
        size was asked for."""
        return dataclasses.replace(self, device_type=None)

    def estimator_settings(self, files: "ModelFiles") -> "EstimatorSettings":
        """What building the estimator needs: the model files, the device, the batch size its CUDA
        graphs are captured for, the precision and the seed of its posterior samples."""
        from .inference.protocol import EstimatorSettings

        wanted = self._estimate()
        return EstimatorSettings(files, device=wanted.device, batch_size=self.batch_size, bf16=not wanted.fp32,
                                 cuda_graphs=wanted.cuda_graphs, seed=wanted.seed)

    def estimate_options(self) -> "EstimateOptions":
        """How the pipeline runs the input: frames, the person, detector, samples, smoothing, seed."""
        from .inference.pipeline import EstimateOptions

        wanted = self._estimate()
        return EstimateOptions(frames=wanted.frame_range(), bbox=wanted.bbox, person=wanted.person,
                               detector=wanted.detector, samples=wanted.samples, batch_size=self.batch_size,
                               focal_px=wanted.focal_px, chunk_frames=wanted.chunk_frames,
                               redetect_every=wanted.redetect_every, mirrored=wanted.mirrored,
                               smooth=float(wanted.smooth), everyone=wanted.everyone, still_camera=wanted.still_camera,
                               seed=wanted.seed)

    def _estimate(self) -> EstimateRequest:
        if not isinstance(self.request, EstimateRequest):
            raise TypeError(f"a {self.kind} run has no estimator; only an estimate does")
        return self.request
