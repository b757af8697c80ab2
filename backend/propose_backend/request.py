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
    "mps": "Apple's GPU (Metal)",
    "cpu": "Slow, but works everywhere",
}
LABELS = {"auto": "Auto", "cuda": "GPU (CUDA)", "mps": "GPU (Apple)", "cpu": "CPU", "propose": "ProPose",
          "keypoints": "Instant (keypoints)", "blazepose": "BlazePose", "hog": "HOG", "full-frame": "Full Frame"}


def choice_items(choices: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, label, description) of each choice: the add-on's menus of ESTIMATORS, DETECTORS, DEVICES."""
    return [(name, LABELS.get(name, name), text) for name, text in choices.items()]


DEFAULT_SAMPLES = 8  # posterior samples (ghosts) per frame
DEFAULT_SMOOTH = 1.0  # temporal smoothing strength of videos and re-solves (docs/temporal.md); 0 = off
SMOOTH_RANGE = (0.05, 10.0)  # the strengths the add-on's sliders offer (1 default, 2 smoother, 0.5 closer)
DEFAULT_SEED = 0  # random seed of the posterior samples and the smoothed ghosts
CHUNK_FRAMES = 256  # frames per chunk file written while running (kept if the run stops)
REDETECT_EVERY = 30  # frames between detector checks that the person is still there (1 s at 30 fps)
BATCH_SIZE = {"cuda": 32}  # frames per network pass by device type; 1 elsewhere

# --- the files a request can name --------------------------------------------------------------

CHECKPOINT_NAME = "propose_hr48_xyz.pth"
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


def check_strength(value: Any, field: str = "smooth", off_allowed: bool = True) -> float:
    """The smoothing strength as a float, or RequestError: every front end's one check (estimate:
    0 turns smoothing off; a re-solve always smooths, so it needs a strength above 0)."""
    if not (_is_number(value) and math.isfinite(value) and (value >= 0 if off_allowed else value > 0)):
        raise RequestError(field, "must be a smoothing strength of 0 (off) or more" if off_allowed else
                           "must be a smoothing strength above 0 (1 default, 2 smoother)")
    return float(value)


def check_device(value: str) -> str:
    """auto, cpu, cuda, cuda:N or mps, else RequestError naming the choices."""
    index = value[5:] if value.startswith("cuda:") else ""
    if value not in DEVICES and not (index.isdigit() and index.isascii()):
        raise RequestError("device", f"'{value}' is not a device; choose {', '.join(DEVICES)} or cuda:N")
    return value


# JSON type of every field; the protocol's names are the field names.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "input": (str,), "output": (str,), "checkpoint": (str,), "body_model": (str,), "device": (str,),
    "fp32": (bool,), "cuda_graphs": (bool,), "seed": (int,), "estimator": (str,), "everyone": (bool,),
    "allow_random_weights": (bool,), "samples": (int,), "batch_size": (int,), "frames": (str,),
    "bbox": (list,), "person": (int,), "detector": (str,), "focal_px": (int, float), "mirrored": (bool,),
    "smooth": (int, float), "chunk_frames": (int,), "redetect_every": (int,), "still_camera": (bool,),
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
    seed: int = DEFAULT_SEED  # random seed of the posterior samples and of a smoothed video's ghosts
    estimator: str = "auto"
    allow_random_weights: bool = False  # ProPose without a checkpoint (plumbing tests only)
    samples: int = DEFAULT_SAMPLES
    batch_size: int | None = None  # None: BATCH_SIZE for the device
    frames: str | None = None  # "A:B:STEP", see FrameRange
    bbox: tuple[float, float, float, float] | None = None  # the person in the first frame, x, y, w, h px
    person: int | None = None  # follow the N-th (0-based, left to right) person found in the first frame
    detector: str = "auto"
    focal_px: float | None = None  # None: the image diagonal (~53° diagonal field of view)
    mirrored: bool = False  # selfie footage: the real scene (the person's own left/right), on the footage flipped
    smooth: float = DEFAULT_SMOOTH
    chunk_frames: int = CHUNK_FRAMES
    redetect_every: int = REDETECT_EVERY
    everyone: bool = False  # follow everyone: one results file per person beside a clip index (people_file.py)
    still_camera: bool = False  # tripod footage: no camera solve (videos are solved by default)

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
        if len(chosen := [n for n, v in (("everyone", self.everyone or None), ("person", self.person), ("bbox", self.bbox)) if v is not None]) > 1:
            raise RequestError(chosen[0], f"and '{chosen[1]}' both choose whom to follow; give one or the other")
        if self.focal_px is not None and not (math.isfinite(self.focal_px) and self.focal_px > 0):
            raise RequestError("focal_px", "must be a number of pixels above 0")
        self.smooth = check_strength(self.smooth)
        check_device(self.device)
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
    return check_strength(_finite(text))


def parse_resolve_strength(text: str) -> float:
    return check_strength(_finite(text), "strength", off_allowed=False)


@dataclass
class ResolveRequest:
    """Re-solve a results file around the animator's pins (docs/protocol.md, `resolve`): the service,
    `propose-backend resolve` and the add-on build this one type."""

    input: str
    output: str
    pins: list  # {"frame_index", "joint" (index or SMPL name), "rotmat" (3x3)} each; resolve.pins_from_json reads them
    strength: float = DEFAULT_SMOOTH
    seed: int = DEFAULT_SEED

    def validate(self) -> "ResolveRequest":
        self.strength = check_strength(self.strength, "strength", off_allowed=False)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise RequestError("seed", "must be a whole number")
        if not isinstance(self.pins, list):
            raise RequestError("pins", "must be a list of {\"frame_index\", \"joint\", \"rotmat\"} objects")
        return self

    @classmethod
    def from_json(cls, message: Mapping[str, Any]) -> "ResolveRequest":
        """The request in a protocol `resolve` message (unknown keys such as type and id are ignored)."""
        for name in ("input", "output", "pins"):
            if message.get(name) is None:
                raise RequestError(name, "is missing")
        for name in ("input", "output"):
            if not isinstance(message[name], str):
                raise RequestError(name, f"must be str, got {type(message[name]).__name__}")
        values = {k: message[k] for k in ("strength", "seed") if message.get(k) is not None}
        return cls(message["input"], message["output"], message["pins"], **values).validate()

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output, "pins": self.pins, "strength": float(self.strength),
                "seed": int(self.seed)}


# --- the command-line flags of a request: one table for `propose-backend estimate` and the add-on's batch

def _flag_table(with_defaults: bool) -> dict[str, tuple[tuple[str, ...], dict[str, Any]]]:
    given = (lambda value: value) if with_defaults else (lambda value: None)  # None: another source fills it
    return {
        "device": (("--device",), {"type": argument_type(check_device), "default": given("auto"),
                                   "help": "auto (the GPU if found, else the CPU), cuda, cuda:N, mps or cpu"}),
        "seed": (("--seed",), {"type": int, "default": given(DEFAULT_SEED),
                               "help": "random seed of the posterior samples and of a smoothed video's ghosts"}),
        "estimator": (("--estimator",), {"choices": ESTIMATORS, "default": given("auto"),
                                         "help": "propose (the network, needs the checkpoint), keypoints (instant "
                                                 "mode), or auto: propose when its checkpoint is present"}),
        "allow_random_weights": (("--allow-random-weights",), {"action": "store_true", "help": "run ProPose "
                                 "without a checkpoint on random weights (plumbing tests only)"}),
        "samples": (("--samples",), {"type": int, "default": given(DEFAULT_SAMPLES),
                                     "help": f"posterior samples (ghost poses) per frame (default {DEFAULT_SAMPLES}; 0 = none)"}),
        "frames": (("--frames",), {"type": argument_type(parse_frames), "metavar": "A:B:STEP",
                                   "help": "video frame range, 0-based, Python slice rules (e.g. 0:300:2)"}),
        "bbox": (("--bbox",), {"type": argument_type(parse_bbox), "metavar": "X,Y,W,H",
                               "help": "the person's box in the (first) frame, image pixels"}),
        "person": (("--person",), {"type": argument_type(parse_positive), "metavar": "N",
                                   "help": "follow person N (1 = leftmost) of those found in the first frame; list "
                                           "them with 'propose-backend people --input FILE'"}),
        "detector": (("--detector",), {"choices": DETECTORS, "default": given("auto"),
                                       "help": "auto: BlazePose, HOG where it finds nobody; full-frame: no detection"}),
        "mirrored": (("--mirrored",), {"action": "store_true", "help": "the footage is mirrored (selfie camera): the real "
                                                                        "scene, the person's own left/right facing the camera, "
                                                                        "over the footage flipped left-right"}),
        "focal_px": (("--focal-px",), {"type": argument_type(parse_focal), "default": None,
                                       "help": "focal length of the footage in pixels (default: the image diagonal)"}),
        "smooth": (("--smooth",), {"type": argument_type(parse_strength), "default": given(DEFAULT_SMOOTH),
                                   "metavar": "STRENGTH", "help": "temporal smoothing of videos (docs/temporal.md): "
                                   f"{DEFAULT_SMOOTH:g} default, 2 smoother, 0.5 closer to the per-frame poses, 0 off"}),
        "still_camera": (("--still-camera",), {"action": "store_true", "default": None, "help": "tripod footage: "
                         "no camera solve, the clip placed as filmed from one spot (docs/camera.md)"}),
    }


def add_request_flags(parser: argparse.ArgumentParser, names: tuple[str, ...], with_defaults: bool = True) -> None:
    """Add the flags of these request fields to `parser`. Without defaults, an absent flag is None, so
    that EstimateRequest.from_args fills it from elsewhere (the add-on's preferences)."""
    table = _flag_table(with_defaults)
    for name in names:
        flags, options = table[name]
        parser.add_argument(*flags, **options)
        if name == "smooth":
            parser.add_argument("--no-smooth", dest="smooth", action="store_const", const=0.0,
                                help="keep the per-frame poses of videos (same as --smooth 0)")
