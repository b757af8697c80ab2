"""A multi-person run on disk: one results file per person beside one clip index.

Layout (docs/results-schema.md, "Several people"): a run asked for `OUT.npz` with everyone
followed writes `OUT.people.json`, the clip index, and `OUT.person-N.npz` for person N, each an
ordinary results file (schema 3, with the clip field `person` and the per-frame field
`identity_confidence`). One file per person keeps every single-person tool (smoothing, re-solve,
import, exports) working on a person unchanged; the index says who is in the clip, where, and
how sure the tracker is of each stretch of their track.

numpy + stdlib only: the add-on loads this file by path (bridge.py), as it does results.py,
and merges or splits people with the very functions the backend would use.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

INDEX_KIND = "propose-people"
INDEX_SUFFIX = ".people.json"
# A stretch of a track whose identity confidence is below this is flagged for the animator.
DOUBTFUL_IDENTITY = 0.6


class PeopleFileError(RuntimeError):
    """A clip index is missing, unreadable or names files that are not there."""


def index_path(output: str | Path) -> Path:
    """`OUT.npz` -> `OUT.people.json` (the clip index of a run asked to write OUT.npz)."""
    output = Path(output)
    stem = output.name[:-4] if output.name.endswith(".npz") else output.name
    return output.with_name(stem + INDEX_SUFFIX)


def person_path(output: str | Path, number: int) -> Path:
    """`OUT.npz` -> `OUT.person-N.npz`."""
    output = Path(output)
    stem = output.name[:-4] if output.name.endswith(".npz") else output.name
    return output.with_name(f"{stem}.person-{number}.npz")


def track_path(output: str | Path, track: int) -> Path:
    """`OUT.npz` -> `OUT.track-K.npz`: where an everyone run writes tracker track K while it runs
    (as chunks, `OUT.track-K.npz.chunks/`), before the kept tracks are numbered as people."""
    output = Path(output)
    stem = output.name[:-4] if output.name.endswith(".npz") else output.name
    return output.with_name(f"{stem}.track-{track}.npz")


def track_paths(output: str | Path) -> dict[int, Path]:
    """The tracks a run writing `OUT.npz` left on disk (chunk folders), by track number."""
    first = track_path(output, 0)
    prefix, found = first.name[:-len("0.npz")], {}
    folders = first.parent.iterdir() if first.parent.is_dir() else ()
    for folder in folders:
        number = folder.name[len(prefix):-len(".npz.chunks")]
        if folder.name.startswith(prefix) and folder.name.endswith(".npz.chunks") and number.isdigit():
            found[int(number)] = first.with_name(f"{prefix}{number}.npz")
    return dict(sorted(found.items()))


def is_index(path: str | Path) -> bool:
    return str(path).endswith(INDEX_SUFFIX)


def segments(frame_index: np.ndarray, valid: np.ndarray, confidence: np.ndarray) -> list[dict[str, Any]]:
    """Runs of frames with a person and one identity confidence: [{first, last, frames, identity_confidence}].

    A new segment starts where the person was not seen (a gap) or where the confidence changes
    (the tracker re-decided who this is).
    """
    out: list[dict[str, Any]] = []
    frames = np.asarray(frame_index, np.int64)
    valid = np.asarray(valid, bool)
    conf = np.round(np.asarray(confidence, np.float64), 3)
    for row in np.flatnonzero(valid):
        last = out[-1] if out else None
        if last is not None and last["_row"] == row - 1 and last["identity_confidence"] == conf[row]:
            last.update(last=int(frames[row]), frames=last["frames"] + 1, _row=row)
        else:
            out.append({"first": int(frames[row]), "last": int(frames[row]), "frames": 1,
                        "identity_confidence": float(conf[row]), "_row": row})
    for seg in out:
        seg.pop("_row")
    return out


def describe_person(number: int, data: Mapping[str, Any], file_name: str) -> dict[str, Any]:
    """The index entry of one person's results."""
    # Frames the person was seen on: in a smoothed file, bridged gaps are valid but were not seen.
    valid = np.asarray(data.get("raw_valid", data["valid"]), bool)
    frames = np.asarray(data["frame_index"], np.int64)
    conf = np.asarray(data.get("identity_confidence", valid.astype(np.float32)))
    seen = frames[valid]
    segs = segments(frames, valid, conf)
    return {"number": int(number), "file": file_name,
            "first_frame": int(seen.min()) if len(seen) else None,
            "last_frame": int(seen.max()) if len(seen) else None,
            "valid_frames": int(valid.sum()),
            "min_identity_confidence": round(min((s["identity_confidence"] for s in segs), default=1.0), 3),
            "segments": segs}


def write_index(path: str | Path, clip: Mapping[str, Any], people: list[dict[str, Any]]) -> Path:
    """Write the clip index atomically; `clip` holds source, fps, image_size, estimator, ..."""
    path = Path(path)
    body = {"kind": INDEX_KIND, "schema_version": 3, **clip,
            "people": sorted(people, key=lambda p: p["number"])}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(body, handle, indent=1)
    os.replace(tmp, path)
    return path


def read_index(path: str | Path) -> dict[str, Any]:
    """The clip index, with each person's `path` resolved beside it; raises PeopleFileError."""
    path = Path(path)
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PeopleFileError(f"{path} is not a readable clip index ({exc}); run the estimate again.") from exc
    if not isinstance(index, dict) or index.get("kind") != INDEX_KIND or not isinstance(index.get("people"), list):
        raise PeopleFileError(f"{path} is not a ProPose clip index (it lists no people).")
    for person in index["people"]:
        person["path"] = str(path.parent / person["file"])
    return index


def pick(index: Mapping[str, Any], wanted: str | list[int] | None) -> list[dict[str, Any]]:
    """The people `wanted` names: "all" / None, "1,3", or a list of numbers; raises PeopleFileError."""
    people = index["people"]
    if wanted is None or wanted == "all":
        return list(people)
    numbers = wanted if isinstance(wanted, list) else parse_numbers(wanted)
    known = {p["number"]: p for p in people}
    missing = [n for n in numbers if n not in known]
    if missing:
        raise PeopleFileError(f"person {', '.join(map(str, missing))} is not in this clip; it has "
                              f"{', '.join(str(n) for n in sorted(known)) or 'nobody'}.")
    return [known[n] for n in numbers]


def parse_numbers(text: str) -> list[int]:
    """"1,3,4" -> [1, 3, 4]; raises ValueError with a usable message."""
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"'{text}' is not 'all' or person numbers such as 1,3") from None
    if not numbers or min(numbers) < 1:
        raise ValueError(f"'{text}' is not 'all' or person numbers (1 or more) such as 1,3")
    return numbers


# --- merging and splitting people --------------------------------------------------------------

def _per_frame_names(data: Mapping[str, Any], schema: Any) -> list[str]:
    return [n for n in list(schema.PER_FRAME_FIELDS) + list(schema.OPTIONAL_PER_FRAME_FIELDS) if n in data]


def merge_people(first: Mapping[str, Any], second: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    """One person from two tracks of the same person: the union of their frames.

    On a frame both hold, the row with the higher identity confidence wins (`first` on a tie).
    Clip fields (rest body, floor) come from the track with more frames with a person. `schema`
    is the results module (the backend's, or the add-on's copy of it).
    """
    names = [n for n in _per_frame_names(first, schema) if n in second]
    fa, fb = np.asarray(first["frame_index"]), np.asarray(second["frame_index"])
    frames = np.union1d(fa, fb)
    va, vb = np.asarray(first["valid"], bool), np.asarray(second["valid"], bool)
    ca = np.asarray(first.get("identity_confidence", va.astype(np.float32)), np.float64)
    cb = np.asarray(second.get("identity_confidence", vb.astype(np.float32)), np.float64)
    base = first if va.sum() >= vb.sum() else second
    out = {k: v for k, v in base.items() if k not in schema.PER_FRAME_FIELDS and k not in schema.OPTIONAL_PER_FRAME_FIELDS}
    ia, ib = np.searchsorted(frames, fa), np.searchsorted(frames, fb)
    score_a = np.full(len(frames), -1.0)
    score_b = np.full(len(frames), -1.0)
    score_a[ia] = np.where(va, ca, -0.5)
    score_b[ib] = np.where(vb, cb, -0.5)
    take_b = score_b > score_a
    for name in names:
        a, b = np.asarray(first[name]), np.asarray(second[name])
        merged = np.zeros((len(frames),) + a.shape[1:], a.dtype)
        merged[ia] = a
        rows_b = take_b[ib]
        merged[ib[rows_b]] = b[rows_b]
        out[name] = merged
    out["frame_index"] = frames.astype(np.int64)
    meta = dict(base.get("meta", {}))
    meta["merged_from"] = [int(np.asarray(first.get("person", 0))), int(np.asarray(second.get("person", 0)))]
    out["meta"] = meta
    return out


def split_person(data: Mapping[str, Any], frame: int, schema: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two people from one track: source frames before `frame`, and from `frame` on.

    Raises PeopleFileError when either side would hold no frame with a person.
    """
    frames = np.asarray(data["frame_index"], np.int64)
    valid = np.asarray(data["valid"], bool)
    before = frames < frame
    if not (valid & before).any() or not (valid & ~before).any():
        raise PeopleFileError(f"splitting at source frame {frame} leaves one side without a frame with a person; "
                              "choose a frame inside the track.")
    names = _per_frame_names(data, schema)
    halves = []
    for rows in (before, ~before):
        half = {k: v for k, v in data.items() if k not in names}
        half.update({n: np.asarray(data[n])[rows] for n in names})
        halves.append(half)
    return halves[0], halves[1]
