"""Re-solve a clip around the animator's pins: results file + pins in, re-smoothed results file out.

The temporal smoother (`propose_backend.temporal`) does the work, with each pin as a near-hard
observation; this module only reads and checks the pins, runs it, and writes the file. It always
starts from the input file's raw per-frame values, so the same pins and seed give the same output
however often it runs. Used by the `resolve` request of `serve` and by `propose-backend resolve`.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .request import DEFAULT_SEED, DEFAULT_SMOOTH, RequestError, ResolveRequest, check_strength
from .results import ResultsError, read_results, write_results
from .skeleton import NUM_SMPL_JOINTS, SMPL_JOINT_NAMES


class ResolveError(ValueError):
    """Pins or settings the re-solve cannot use; the message says what to fix."""


@dataclass
class ResolveSummary:
    output: Path
    frames: int
    pins: int
    seconds: float


def _temporal():
    """The temporal smoother package, or a ResolveError saying this backend predates it."""
    try:
        from . import temporal
    except ImportError as exc:
        raise ResolveError(f"this backend has no temporal smoother ({exc}); update the backend to re-solve "
                           "around pins") from None
    return temporal


def pins_from_json(entries: Any):
    """`temporal.Pins` from a list of {"frame_index", "joint" (index or SMPL name), "rotmat" (3x3)}
    (or {"pins": [...]}, the file form)."""
    Pins = _temporal().Pins
    if isinstance(entries, dict):
        entries = entries.get("pins")
    if not isinstance(entries, list):
        raise ResolveError("pins must be a list of {\"frame_index\", \"joint\", \"rotmat\"} objects")
    frames, joints, rotmats = [], [], []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"frame_index", "joint", "rotmat"} <= entry.keys():
            raise ResolveError(f"pin {k} needs 'frame_index', 'joint' and 'rotmat'")
        joint = entry["joint"]
        if isinstance(joint, str):
            if joint not in SMPL_JOINT_NAMES:
                raise ResolveError(f"pin {k}: '{joint}' is not an SMPL joint name (e.g. left_elbow)")
            joint = SMPL_JOINT_NAMES.index(joint)
        if isinstance(joint, bool) or not isinstance(joint, int) or not 0 <= joint < NUM_SMPL_JOINTS:
            raise ResolveError(f"pin {k}: 'joint' must be an SMPL joint index 0..{NUM_SMPL_JOINTS - 1} or name")
        frame = entry["frame_index"]
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise ResolveError(f"pin {k}: 'frame_index' must be a whole source frame number")
        rotmat = np.asarray(entry["rotmat"], dtype=np.float64) if _numbers(entry["rotmat"]) else None
        if rotmat is None or rotmat.shape != (3, 3) or not np.all(np.isfinite(rotmat)):
            raise ResolveError(f"pin {k}: 'rotmat' must be a 3x3 rotation matrix of numbers")
        if abs(np.linalg.det(rotmat) - 1.0) > 1e-2 or not np.allclose(rotmat @ rotmat.T, np.eye(3), atol=1e-2):
            raise ResolveError(f"pin {k}: 'rotmat' is not a rotation (it must be orthonormal with determinant 1)")
        frames.append(frame), joints.append(joint), rotmats.append(rotmat)
    return Pins(np.array(frames, np.int64), np.array(joints, np.int64), np.array(rotmats).reshape(-1, 3, 3))


def _numbers(value: Any) -> bool:
    rows = value if isinstance(value, list) else []
    return len(rows) == 3 and all(isinstance(r, list) and len(r) == 3 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in r) for r in rows)


def read_pins(path: str | Path) -> list:
    """The pin entries of a JSON file, checked (see `pins_from_json`), as a request carries them."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        pins_from_json(entries)
        return entries.get("pins") if isinstance(entries, dict) else entries
    except FileNotFoundError:
        raise ResolveError(f"{path}: no such pins file") from None
    except json.JSONDecodeError as exc:
        raise ResolveError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def resolve(data: dict[str, Any], pins, strength: float = DEFAULT_SMOOTH, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The temporal posterior of `data` with `pins` held (near-)exactly; deterministic for a seed."""
    smooth_results = _temporal().smooth_results
    try:
        strength = check_strength(strength, "strength", off_allowed=False)
    except RequestError as exc:
        raise ResolveError(str(exc)) from None
    known = set(np.asarray(data["frame_index"])[np.asarray(data["valid"], bool)].tolist())
    missing = sorted({int(f) for f in pins.frame_index} - known)
    if missing:
        raise ResolveError(f"cannot pin source frame(s) {missing[:5]}: the results have no pose there")
    try:
        return smooth_results(data, strength=float(strength), pins=pins, seed=int(seed))
    except ValueError as exc:
        raise ResolveError(str(exc)) from exc


def run_request(wanted: ResolveRequest) -> ResolveSummary:
    """Run a validated ResolveRequest (the service's and the command line's)."""
    return resolve_file(wanted.input, wanted.output, pins_from_json(wanted.pins), wanted.strength, wanted.seed)


def resolve_file(source: str | Path, output: str | Path, pins, strength: float = DEFAULT_SMOOTH,
                 seed: int = DEFAULT_SEED) -> ResolveSummary:
    """Read `source`, re-solve it with `pins`, write `output` (atomically); raises ResolveError/ResultsError."""
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve():
        raise ResolveError(f"{output}: write the re-solved results to a new file, not over the input "
                           "(the next re-solve starts from the input again)")
    data = read_results(source)
    solved = resolve(data, pins, strength, seed)
    write_results(output, solved)
    return ResolveSummary(output, int(np.asarray(solved["valid"]).sum()), len(pins.joint),
                          time.perf_counter() - started)


__all__ = ["ResolveError", "ResolveSummary", "ResultsError", "pins_from_json", "read_pins", "resolve",
           "resolve_file", "run_request"]
