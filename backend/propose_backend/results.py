"""The results file: the one contract between the backend and the Blender add-on.

numpy + stdlib only, so the add-on (which never imports torch) reads it with this very module.
A results file is an `.npz` for one tracked person over T frames with S posterior samples; a run
that follows everyone writes one such file per person beside a clip index (people_file.py).
Long runs write numbered chunk files next to the target (`NAME.chunks/00000.npz`, ...) as they go,
so a cancelled or crashed run keeps every finished chunk; `read_results` merges them (and the
run's recorder, inference/recorder.py, writes the single file from them). Every write is atomic
(temporary file + rename): a reader never sees half a file.

Field-by-field documentation lives in docs/results-schema.md; keep the two in step.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Callable, Mapping

import numpy as np

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)  # older files (no smoothing, floor, fingers, camera path or people) read as they are


class ResultsError(RuntimeError):
    """A results file is missing, unreadable, of another schema version, or inconsistent."""


# name -> (shape with symbolic T/S, dtype). Per-frame arrays start with T.
PER_FRAME_FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "frame_index": (("T",), "int64"),  # source frame numbers
    "valid": (("T",), "bool"),  # False where no person was found (estimates and bbox hold zeros there)
    "bbox": (("T", 4), "float32"),  # the square crop x, y, w, h in image pixels (person box enlarged x1.25)
    "betas": (("T", 10), "float32"),
    "rotmats": (("T", 24, 3, 3), "float32"),  # local SMPL rotations, posterior mode
    "posterior_F": (("T", 24, 3, 3), "float32"),  # matrix-Fisher posterior; [:, 0] is the root
    "samples": (("T", "S", 24, 3, 3), "float32"),  # local rotations of posterior samples, in rank order (is_coherent)
    "sample_log_density": (("T", "S"), "float32"),  # log posterior density relative to the mode (<= 0)
    "transl": (("T", 3), "float32"),  # pelvis in the full-image camera frame, metres (x right, y down, z fwd)
    "joints3d": (("T", 35, 3), "float32"),  # posterior 35 points, root-relative, camera axes, metres
    "joints2d": (("T", 35, 2), "float32"),  # the same points projected to image pixels
    "uncertainty_deg": (("T", 24), "float32"),  # expected angle sample-vs-mode per joint, degrees
    "focal_px": (("T",), "float32"),  # pinhole focal length in image pixels
    "principal_pt": (("T", 2), "float32"),  # principal point in image pixels
}

# Optional per-frame fields (schema 2): present in smoothed files (temporal fusion, docs/temporal.md),
# where the fields above hold the smoothed values and `raw_NAME` the estimator's per-frame NAME.
RAW_FIELDS = ("valid", "rotmats", "posterior_F", "uncertainty_deg", "transl", "joints3d", "joints2d")
OPTIONAL_PER_FRAME_FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "contacts": (("T", 2), "float32"),  # probability that the [left, right] foot touches the floor
    "transl_std": (("T", 3), "float32"),  # posterior standard deviation of `transl` per axis, metres
    # schema 3: the camera's pose in the world per frame (z up, floor z = 0, metres): p_world = M[t] · [p_cam, 1]
    "world_from_camera": (("T", 4, 4), "float32"),
    **{f"raw_{name}": PER_FRAME_FIELDS[name] for name in RAW_FIELDS},
    # Schema 3, multi-person runs: how sure the tracker is that this row shows this file's person
    # (1 = followed without doubt; lower after a crossing or a re-found track; 0 where the person was not
    # seen: valid False, or in a smoothed file raw_valid False on a bridged gap).
    "identity_confidence": (("T",), "float32"),
}

# Optional per-frame fields (schema 3): the fingers, 15 joints per hand in SMPL-H / MANO order
# (skeleton.FINGER_JOINT_NAMES: left hand first). Absent in files from before fingers: the rig
# then keeps the fingers at rest. Rotations are local (relative to the parent joint: the wrist for
# a finger's first joint); posterior F is wrist-relative like the body's is root-relative.
HAND_FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "hand_valid": (("T", 2), "bool"),  # [left, right] hand seen in the footage on this frame
    "hand_score": (("T", 2), "float32"),  # the landmarker's confidence x size factor, 0 = unseen
    "hand_rotmats": (("T", 30, 3, 3), "float32"),  # finger local rotations, posterior mode
    "hand_posterior_F": (("T", 30, 3, 3), "float32"),  # matrix-Fisher of G_joint G_wristᵀ per finger joint
    "hand_uncertainty_deg": (("T", 30), "float32"),  # expected angle sample-vs-mode, degrees
    "hand_samples": (("T", "S", 30, 3, 3), "float32"),  # finger rotations of the posterior samples (ghosts)
    "hand_landmarks2d": (("T", 2, 21, 2), "float32"),  # the hand landmarks found, image pixels (0 if unseen)
}
OPTIONAL_PER_FRAME_FIELDS.update(HAND_FIELDS)
# smoothed files keep the estimator's per-frame finger values too (as for the body's raw_ fields)
OPTIONAL_PER_FRAME_FIELDS.update({f"raw_{n}": HAND_FIELDS[n] for n in ("hand_rotmats", "hand_posterior_F",
                                                                       "hand_uncertainty_deg")})

# What the six numbers of the `phenotype` field are (Anny's phenotype parameters, in its order).
PHENOTYPE_LABELS = ("gender", "age", "muscle", "weight", "height", "proportions")

# Clip-wide fields.
CLIP_FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "schema_version": ((), "int64"),
    "fps": ((), "float32"),
    "image_size": ((2,), "int64"),  # width, height
    "rest_joints": ((24, 3), "float32"),  # rest skeleton for the clip's robust-average betas, y up
    "rest_vertices": (("V", 3), "float32"),  # rest mesh for those betas
    "faces": (("F", 3), "int32"),
    "lbs_weights": (("V", 24), "float32"),
}

# Clip fields that only some files have, checked when present: absent = unknown / not applicable.
OPTIONAL_CLIP_FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "floor": ((4,), "float32"),  # plane (nx, ny, nz, d), camera frame: n·p + d = 0, n unit, pointing up
    "phenotype": ((6,), "float32"),  # Anny phenotype of the rest body, PHENOTYPE_LABELS in order
    "hand_rest_joints": ((30, 3), "float32"),  # rest finger joints, SMPL-H order, same frame as rest_joints
    "rig_lbs_weights": (("V", 54), "float32"),  # skinning over the 24 joints + 30 finger joints (sums to 1)
    "person": ((), "int64"),  # schema 3, multi-person runs: the person's number in the clip (1, 2, ...)
}

def empty_frames(num_frames: int, num_samples: int, hands: bool = False) -> dict[str, np.ndarray]:
    """Zero-filled per-frame arrays (invalid frames) of the right shapes and dtypes (with the
    finger fields when `hands`)."""
    sizes = {"T": num_frames, "S": num_samples}
    fields = {**PER_FRAME_FIELDS, **(HAND_FIELDS if hands else {})}
    return {name: np.zeros(tuple(sizes.get(d, d) for d in shape), dtype=dtype)
            for name, (shape, dtype) in fields.items()}


def validate(data: Mapping[str, Any], source: str = "results") -> None:
    """Raise ResultsError unless every field exists with consistent shapes, the right version and
    values the schema allows (see check_values)."""
    version = int(np.asarray(data.get("schema_version", -1)))
    if version not in READABLE_VERSIONS:
        raise ResultsError(f"{source}: schema version {version}, this reader understands "
                           f"{', '.join(map(str, READABLE_VERSIONS))}. "
                           "Re-run the backend or update the add-on so both sides match.")
    sizes: dict[str, int] = {}
    optional = {**OPTIONAL_PER_FRAME_FIELDS, **OPTIONAL_CLIP_FIELDS}
    for name, (shape, _dtype) in {**PER_FRAME_FIELDS, **CLIP_FIELDS, **optional}.items():
        if name not in data:
            if name in optional:
                continue
            raise ResultsError(f"{source}: field '{name}' is missing.")
        actual = np.shape(data[name])
        if len(actual) != len(shape):
            raise ResultsError(f"{source}: field '{name}' has shape {actual}, expected {shape}.")
        for dim, n in zip(shape, actual):
            if isinstance(dim, str):
                if sizes.setdefault(dim, n) != n:
                    raise ResultsError(f"{source}: field '{name}' has {dim}={n}, other fields {sizes[dim]}.")
            elif dim != n:
                raise ResultsError(f"{source}: field '{name}' has shape {actual}, expected {shape}.")
    check_values(data, source)


LOG_DENSITY_TOLERANCE = 1e-3  # float32 rounding of a difference of large sums may land just above 0
ROTATION_TOLERANCE = 1e-2  # |RᵀR − I| and |det R − 1| of a stored rotation (float32, re-orthonormalised upstream)
WEIGHT_SUM_TOLERANCE = 1e-3  # skinning weights of a vertex sum to 1


def is_coherent(data: Mapping[str, Any]) -> bool:
    """Smoothed results, whose ghosts are whole motions (sample s is one trajectory over the clip)
    ranked by their motion log density; per-frame results rank every frame's samples on their own."""
    return "raw_rotmats" in data


def motion_log_density(data: Mapping[str, Any]) -> np.ndarray:
    """(S,) each ghost's log density relative to the mode summed over the frames with a person:
    the rank of a coherent ghost (densest motion first)."""
    valid = np.asarray(data["valid"]).astype(bool)
    return np.asarray(data["sample_log_density"], dtype=np.float64)[valid].sum(axis=0)


def _not_rotations(matrices: np.ndarray, rows: np.ndarray, chunk: int = 256) -> bool:
    """Whether any of matrices[rows] (rows of (..., 3, 3)) is not a rotation; in chunks of frames,
    so checking a long clip's samples costs no copy of them."""
    for start in range(0, len(rows), chunk):
        m = np.asarray(matrices[rows[start:start + chunk]], dtype=np.float32).reshape(-1, 3, 3)
        gram_error = np.abs(np.einsum("nji,njk->nik", m, m) - np.eye(3, dtype=np.float32)).max(initial=0.0)
        if gram_error > ROTATION_TOLERANCE or np.abs(np.linalg.det(m) - 1.0).max(initial=0.0) > ROTATION_TOLERANCE:
            return True
    return False


def check_values(data: Mapping[str, Any], source: str = "results") -> None:
    """Raise ResultsError for values no estimator writes. On frames with a person: non-finite
    estimates, rotations (pose or samples) that are not rotations, a posterior without any
    information or an uncertainty outside (0°, 180°], sample log densities above the mode's (> 0) or
    samples out of their rank order (docs/results-schema.md), a focal length or box of no size.
    Clip-wide: frame numbers out of order, contact probabilities outside [0, 1], skinning weights that
    do not sum to 1 per vertex, faces naming vertices that do not exist. Rows without a person
    (valid False) hold zeros and are not checked."""
    def fail(name: str, why: str) -> None:
        raise ResultsError(f"{source}: field '{name}' {why}; the file is damaged or was written by "
                           "something other than the backend. Re-run the estimate.")

    frames = np.asarray(data["frame_index"])
    if frames.size and (frames.min() < 0 or np.any(np.diff(frames) <= 0)):
        fail("frame_index", "must hold source frame numbers >= 0 in increasing order")
    valid = np.asarray(data["valid"]).astype(bool)
    for name in ("rotmats", "posterior_F", "samples", "sample_log_density", "transl", "joints3d", "joints2d",
                 "uncertainty_deg", "focal_px", "principal_pt", "bbox", "betas"):
        if not np.all(np.isfinite(np.asarray(data[name])[valid])):
            fail(name, "holds NaN or infinite values on frames with a person")
    for name in ("rotmats", "samples"):
        if _not_rotations(np.asarray(data[name]), np.flatnonzero(valid)):
            fail(name, "must hold rotation matrices (orthonormal, determinant 1) on frames with a person")
    F = np.asarray(data["posterior_F"], dtype=np.float64)[valid]
    if F.size and np.any(np.abs(F).reshape(*F.shape[:-2], 9).max(-1) == 0):
        fail("posterior_F", "must hold some information about every joint (an all-zero matrix-Fisher "
                            "parameter is a posterior that knows nothing)")
    uncertainty = np.asarray(data["uncertainty_deg"])[valid]
    if np.any(uncertainty <= 0) or np.any(uncertainty > 180):
        fail("uncertainty_deg", "must be above 0 and at most 180 (an expected angle in degrees of a posterior)")
    density = np.asarray(data["sample_log_density"], dtype=np.float64)[valid]
    if np.any(density > LOG_DENSITY_TOLERANCE):
        fail("sample_log_density", "must be <= 0 (log density relative to the posterior mode)")
    if is_coherent(data):
        motion = density.sum(axis=0)
        if np.any(np.diff(motion) > LOG_DENSITY_TOLERANCE * (len(density) + np.abs(motion[1:]))):
            fail("samples", "must be whole motions ordered densest motion first (summed sample_log_density)")
    elif np.any(np.diff(density, axis=1) > LOG_DENSITY_TOLERANCE):
        fail("samples", "must be ordered densest first on every frame (by sample_log_density)")
    if np.any(np.asarray(data["focal_px"])[valid] <= 0):
        fail("focal_px", "must be above 0 on frames with a person")
    if np.any(np.asarray(data["bbox"])[valid][:, 2:] <= 0):
        fail("bbox", "must have a width and height above 0 on frames with a person")
    for name in ("hand_rotmats", "hand_posterior_F", "hand_uncertainty_deg", "hand_samples"):
        if name in data and not np.all(np.isfinite(np.asarray(data[name])[valid])):
            fail(name, "holds NaN or infinite values on frames with a person")
    for name in ("contacts", "identity_confidence"):
        if name in data and np.any((np.asarray(data[name]) < 0) | (np.asarray(data[name]) > 1)):
            fail(name, "must hold probabilities between 0 and 1")
    if "world_from_camera" in data:
        m = np.asarray(data["world_from_camera"], dtype=np.float64)
        rot = m[:, :3, :3]
        if (not np.all(np.isfinite(m)) or np.abs(m[:, 3] - (0, 0, 0, 1)).max(initial=0) > 1e-4
                or np.abs(rot @ np.swapaxes(rot, -1, -2) - np.eye(3)).max(initial=0) > 1e-3
                or np.any(np.linalg.det(rot) < 0)):
            fail("world_from_camera", "must hold rigid camera poses (a rotation and a translation, last row 0 0 0 1)")
    for name in ("lbs_weights", "rig_lbs_weights"):
        weights = np.asarray(data.get(name, np.zeros((0, 1))), dtype=np.float64)
        if weights.size and (weights.min() < 0 or np.abs(weights.sum(axis=1) - 1).max() > WEIGHT_SUM_TOLERANCE):
            fail(name, "must hold skinning weights >= 0 that sum to 1 for every vertex")
    faces = np.asarray(data["faces"])
    if faces.size and (faces.min() < 0 or faces.max() >= len(np.asarray(data["rest_vertices"]))):
        fail("faces", "must name vertices of rest_vertices (0 .. V-1)")


def _creation_mode() -> int:
    """0o666 less the process's umask: the permissions `open(path, "w")` would have given."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | Path, write: Callable[[IO], None], text: bool = False) -> Path:
    """Call `write(handle)` on a temporary file beside `path`, then rename it over `path`.

    A reader (Blender, a resumed batch, another node) sees the old file or the whole new one, never
    half of it; on failure the temporary file goes and `path` stays as it was. The new file gets the
    permissions of any file the user creates (a bare temporary file is private to its owner, which
    locks other users and nodes out of results on shared storage)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _creation_mode())
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _atomic_savez(path: Path, arrays: Mapping[str, Any], compress: bool = True) -> None:
    write_atomically(path, lambda handle: (np.savez_compressed if compress else np.savez)(handle, **arrays))


def _pack(data: Mapping[str, Any]) -> dict[str, Any]:
    """Arrays in their schema dtypes (whatever the producer computed in) plus meta as JSON."""
    schema = {**PER_FRAME_FIELDS, **CLIP_FIELDS, **OPTIONAL_PER_FRAME_FIELDS, **OPTIONAL_CLIP_FIELDS}
    arrays = {k: np.asarray(v, dtype=schema[k][1]) if k in schema else np.asarray(v)
              for k, v in data.items() if k != "meta"}
    arrays["meta"] = np.array(json.dumps(dict(data.get("meta", {}))))
    return arrays


def write_results(path: str | Path, data: Mapping[str, Any], compress: bool = True) -> Path:
    """Validate and write a complete results file atomically."""
    path = Path(path)
    validate(data, str(path))
    _atomic_savez(path, _pack(data), compress)
    return path


def chunk_dir(path: str | Path) -> Path:
    return Path(str(path) + ".chunks")


def write_chunk(path: str | Path, index: int, data: Mapping[str, Any]) -> Path:
    """Write chunk `index` of a run in progress (a complete, valid results file of its own).

    Uncompressed: chunks are short-lived and written on the estimating thread, where zlib would
    cost more time than the network on a GPU.
    """
    target = chunk_dir(path) / f"{index:05d}.npz"
    write_results(target, data, compress=False)
    return target


def _load_one(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
        data["meta"] = json.loads(str(data["meta"])) if "meta" in data else {}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:  # JSON errors are ValueErrors
        raise ResultsError(f"{path} is not a readable results file ({exc}).") from exc
    if not isinstance(data["meta"], dict):
        raise ResultsError(f"{path} is not a readable results file (its meta is not a JSON object).")
    validate(data, str(path))
    return data


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate per-frame fields of consecutive parts; clip fields come from the last part."""
    merged = dict(parts[-1])
    try:
        names = list(PER_FRAME_FIELDS) + [n for n in OPTIONAL_PER_FRAME_FIELDS if all(n in p for p in parts)]
        for n in OPTIONAL_PER_FRAME_FIELDS:
            if n not in names:
                merged.pop(n, None)
        for name in names:
            merged[name] = np.concatenate([p[name] for p in parts], axis=0)
    except ValueError as exc:
        raise ResultsError(f"the chunks do not fit together ({exc}); they come from different runs. "
                           "Delete the .chunks folder and run again.") from exc
    return merged


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a results file, or the finished chunks of an unfinished or interrupted run."""
    path = Path(path)
    if chunk_dir(path).is_dir():  # a run is writing (or was writing) this output: only its frames count
        chunks = sorted(chunk_dir(path).glob("[0-9]*.npz"))
        if not chunks:
            raise ResultsError(f"the run writing {path} has not finished any frame yet (or stopped before it did).")
        return merge([_load_one(c) for c in chunks])
    if not path.is_file():
        raise ResultsError(f"no results at {path}.")
    return _load_one(path)
