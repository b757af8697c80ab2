"""What one estimate asks for: the request every front end builds and the backend validates.

The command line (`propose-backend estimate`), the service (`estimate` requests, docs/protocol.md),
the add-on's runs and its headless batch all make an `EstimateRequest`, so the defaults, the
choices and the checks exist once. Stdlib only: the add-on loads this very file by path (as it
does results.py) without importing the backend package, torch or numpy. The tables the two sides
share (model-file names, footage suffixes) live here for the same reason.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

# --- the choices and defaults ------------------------------------------------------------------

ESTIMATORS: dict[str, str] = {
    "auto": "ProPose when its checkpoint is in the model files folder, else instant mode",
    "propose": "The ProPose network with its posterior (needs the checkpoint)",
    "keypoints": "Instant mode: BlazePose landmarks through the same posterior, without the network",
}
DETECTORS: dict[str, str] = {
    "auto": "BlazePose, HOG where it finds nobody",
    "blazepose": "BlazePose only",
    "hog": "OpenCV's HOG people detector only",
    "full-frame": "No detection: the footage is already cropped to the person",
}
DEVICES: dict[str, str] = {  # the usual choices; "cuda:N" is accepted too
    "auto": "The GPU if the backend finds one, else the CPU",
    "cuda": "Fail if no CUDA GPU is available",
    "cpu": "Slow, but works everywhere",
}
DEFAULT_SAMPLES = 8  # posterior samples (ghosts) per frame
DEFAULT_SMOOTH = 1.0  # temporal smoothing strength of videos (docs/temporal.md); 0 = off
CHUNK_FRAMES = 256  # frames per chunk file written while running (kept if the run stops)
REDETECT_EVERY = 30  # frames between detector checks that the person is still there (1 s at 30 fps)
BATCH_SIZE = {"cuda": 32}  # frames per network pass by device type; 1 elsewhere

# --- the files a request can name --------------------------------------------------------------

CHECKPOINT_NAME = "propose_hr48_xyz.pth"
# The converted .npz loads fastest; the last name is the official SMPL download's.
BODY_MODEL_NAMES = ("SMPL_NEUTRAL.npz", "SMPL_NEUTRAL.pkl", "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl")
MODEL_FILES_ENV = "PROPOSE_MODEL_FILES"  # the folder both of them are looked for in
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".ogv"})


class RequestError(ValueError):
    """A request field with a value the backend cannot use; `field` names it as the protocol does."""

    kind = "bad_request"  # the protocol's error kind

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"'{field}' {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FrameRange:
    """Frames start, start+step, ... before stop (Python slice rules; stop None = to the end)."""

    start: int = 0
    stop: int | None = None
    step: int = 1

    def __post_init__(self) -> None:
        if self.stop is not None and self.stop <= self.start:
            raise RequestError("", f"frame range {self.start}:{self.stop} selects no frames; "
                                   "STOP must be greater than START.")

    @classmethod
    def parse(cls, text: str) -> "FrameRange":
        """Parse "A:B:STEP" (each part optional: "100:", ":500", "::2", "10:20"; "7" is frame 7 alone)."""
        parts = text.split(":")
        if not 1 <= len(parts) <= 3:
            raise RequestError("", f"frame range '{text}' is not of the form START:STOP:STEP.")
        try:
            values = [int(p) if p.strip() else None for p in parts] + [None] * (3 - len(parts))
        except ValueError:
            raise RequestError("", f"frame range '{text}' must hold whole numbers, e.g. 0:300:2.") from None
        start, stop, step = values
        if (start or 0) < 0 or (stop is not None and stop < 0) or (step is not None and step < 1):
            raise RequestError("", f"frame range '{text}': START and STOP must be >= 0 and STEP >= 1.")
        if len(parts) == 1:
            stop = (start or 0) + 1
        return cls(start or 0, stop, step or 1)

    def count(self, total: int | None) -> int | None:
        """How many frames this range selects from a clip of `total` frames (None if unknown)."""
        end = total if self.stop is None else (self.stop if total is None else min(self.stop, total))
        return None if end is None else len(range(self.start, end, self.step))


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """"x,y,w,h" (image pixels) as four floats."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise RequestError("bbox", f"'{text}' is not x,y,w,h (four numbers, e.g. 100,50,300,600)") from None
    return _checked_bbox((x, y, w, h))


def _checked_bbox(values: Any) -> tuple[float, float, float, float]:
    if (not isinstance(values, (list, tuple)) or len(values) != 4
            or not all(_is_number(v) and math.isfinite(v) for v in values) or min(values[2:]) <= 0):
        raise RequestError("bbox", "must be [x, y, w, h]: four finite numbers in image pixels with w and h above 0")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # JSON true is no number


# JSON type of every field; the protocol's names are the field names.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "input": (str,), "output": (str,), "checkpoint": (str,), "body_model": (str,), "device": (str,),
    "fp32": (bool,), "cuda_graphs": (bool,), "seed": (int,), "estimator": (str,),
    "allow_random_weights": (bool,), "samples": (int,), "batch_size": (int,), "frames": (str,),
    "bbox": (list,), "person": (int,), "detector": (str,), "focal_px": (int, float), "mirrored": (bool,),
    "smooth": (int, float), "chunk_frames": (int,), "redetect_every": (int,), "everyone": (bool,),
}


@dataclass
class EstimateRequest:
    """One input to estimate and how; every front end's options map onto these fields."""

    input: str = ""
    output: str | None = None  # None: the front end picks (the CLI: NAME.propose.npz beside the input)
    checkpoint: str | None = None  # None: looked for in the model files folder
    body_model: str | None = None
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    fp32: bool = False  # on CUDA, the network in fp32 instead of bf16
    cuda_graphs: bool = False  # on CUDA, capture the network as a graph for the batch size
    seed: int = 0  # random seed of the posterior samples
    estimator: str = "auto"
    allow_random_weights: bool = False  # ProPose without a checkpoint (plumbing tests only)
    samples: int = DEFAULT_SAMPLES
    batch_size: int | None = None  # None: BATCH_SIZE for the device
    frames: str | None = None  # "A:B:STEP", see FrameRange
    bbox: tuple[float, float, float, float] | None = None  # the person in the first frame, x, y, w, h px
    person: int | None = None  # follow the N-th (0-based, left to right) person found in the first frame
    detector: str = "auto"
    focal_px: float | None = None  # None: the image diagonal (~53° diagonal field of view)
    mirrored: bool = False  # selfie footage: swap the landmarks' left/right labels
    smooth: float = DEFAULT_SMOOTH
    chunk_frames: int = CHUNK_FRAMES
    redetect_every: int = REDETECT_EVERY
    everyone: bool = False  # follow everyone: one results file per person beside a clip index (people_file.py)

    def validate(self) -> "EstimateRequest":
        """Raise RequestError naming the first field with a value the backend cannot use."""
        if self.samples < 0:
            raise RequestError("samples", "must be 0 or more")
        for name in ("batch_size", "chunk_frames", "redetect_every"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise RequestError(name, "must be at least 1")
        if self.frames is not None:
            self.frame_range()
        if self.bbox is not None:
            self.bbox = _checked_bbox(self.bbox)
        if self.person is not None and self.person < 0:
            raise RequestError("person", "must be 0 or more (0 = the leftmost person)")
        if self.person is not None and self.bbox is not None:
            raise RequestError("person", "and 'bbox' both choose the person; give one or the other")
        if self.everyone and (self.person is not None or self.bbox is not None):
            raise RequestError("everyone", "follows every person; leave out 'person' and 'bbox'")
        if self.focal_px is not None and not (math.isfinite(self.focal_px) and self.focal_px > 0):
            raise RequestError("focal_px", "must be a number of pixels above 0")
        if not (math.isfinite(self.smooth) and self.smooth >= 0):
            raise RequestError("smooth", "must be a smoothing strength of 0 (off) or more")
        for name, choices in (("estimator", ESTIMATORS), ("detector", DETECTORS)):
            if getattr(self, name) not in choices:
                raise RequestError(name, f"must be one of {', '.join(choices)}")
        return self

    def frame_range(self) -> FrameRange | None:
        if self.frames is None:
            return None
        try:
            return FrameRange.parse(self.frames)
        except RequestError as exc:
            raise RequestError("frames", exc.message) from None

    def batch_size_for(self, device_type: str) -> int:
        """The batch size asked for, else the default of the device type the run resolved to."""
        return self.batch_size or BATCH_SIZE.get(device_type, 1)

    # --- conversions ---------------------------------------------------------------------------

    @classmethod
    def from_json(cls, message: Mapping[str, Any], required: tuple[str, ...] = ("input", "output")) -> "EstimateRequest":
        """The request in a protocol `estimate` message (unknown keys such as type and id are ignored)."""
        values: dict[str, Any] = {}
        for name, kinds in _JSON_TYPES.items():
            value = message.get(name)
            if value is None:
                if name in required:
                    raise RequestError(name, "is missing")
                continue
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise RequestError(name, f"must be {' or '.join(k.__name__ for k in kinds)}, "
                                         f"got {type(value).__name__}")
            values[name] = value
        if "bbox" in values:
            values["bbox"] = _checked_bbox(values["bbox"])
        return cls(**values).validate()

    def to_json(self) -> dict[str, Any]:
        """The protocol fields of this request (None fields left out: the backend's defaults apply)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if fields["bbox"] is not None:
            fields["bbox"] = [float(v) for v in fields["bbox"]]
        return {name: value for name, value in fields.items() if value is not None}

    @classmethod
    def from_args(cls, args: argparse.Namespace, defaults: Mapping[str, Any] | None = None,
                  **overrides: Any) -> "EstimateRequest":
        """The request in parsed command-line flags named like the fields (--body-model -> body_model).
        A flag absent from `args` or None takes its value from `defaults` (e.g. the add-on's
        preferences), else the field's default; `overrides` win over both. --person counts from 1."""
        values = dict(defaults or {})
        values.update({f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                       if getattr(args, f.name, None) is not None})
        if "person" in values:
            if values["person"] < 1:
                raise RequestError("person", f"counts from 1 (the leftmost person found), got {values['person']}")
            values["person"] -= 1
        if "samples" in values:
            values["samples"] = max(0, values["samples"])  # --samples -1 has always meant none
        values.update(overrides)
        return cls(**values).validate()


def argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type=` that turns RequestError into argparse's one-line usage error."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except RequestError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = parse.__name__  # argparse names the type in its messages
    return convert


def parse_frames(text: str) -> str:
    """A frame range flag, checked now and kept as its text (the request's form)."""
    FrameRange.parse(text)
    return text


def parse_positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise RequestError("", f"'{text}' is not a whole number") from None
    if value < 1:
        raise RequestError("", "must be at least 1")
    return value


def _finite(text: str) -> float:
    """`text` as a float; NaN (refused by every caller's check) when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def parse_focal(text: str) -> float:
    value = _finite(text)
    if not (math.isfinite(value) and value > 0):
        raise RequestError("focal_px", "the focal length must be a number of pixels above 0")
    return value


def parse_strength(text: str) -> float:
    value = _finite(text)
    if not (math.isfinite(value) and value >= 0):
        raise RequestError("smooth", "the smoothing strength must be a number of 0 (off) or more")
    return value
