"""Several inputs in one call: which files, and where each one's results file goes.

Inputs are files, folders (their images and videos, not recursive) or list files (a `.txt`
with one path per line, relative to the list; blank lines and `#` comments are skipped).
Running them is the batch runner's work (propose_backend.batch, on Ray).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .inference.errors import InferenceError
from .inference.footage import is_footage

RESULTS_SUFFIX = ".propose.npz"


@dataclass
class Job:
    input: Path
    output: Path


LIST_SUFFIX = ".txt"


def _listed(path: Path) -> list[Path]:
    """The paths a list file names, relative to the list's folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InferenceError("bad_input", f"the list file {path} cannot be read ({exc}).") from exc
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not entries:
        raise InferenceError("bad_input", f"the list file {path} names no inputs (one path per line).")
    return [(path.parent / Path(entry).expanduser()) for entry in entries]


def plan_jobs(inputs: list[str], output: str | None) -> list[Job]:
    """Expand folders and list files and name the outputs: `output` is a file for one input (unless it
    is a folder or ends with a slash), else a folder.

    Without `output` each results file goes next to its input as NAME.propose.npz.
    """
    paths: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if is_footage(p))
            if not found:
                raise InferenceError("missing_file", f"the folder {path} holds no images or videos.")
            paths.extend(found)
        elif path.suffix.lower() == LIST_SUFFIX:
            paths.extend(_listed(path))
        else:
            paths.append(path)
    single = len(paths) == 1 and not Path(inputs[0]).is_dir() and Path(inputs[0]).suffix.lower() != LIST_SUFFIX
    out = Path(output).expanduser() if output else None
    if single and out is not None and not out.is_dir() and not output.endswith(("/", os.sep)):
        return [Job(paths[0], out)]
    if out is not None and out.suffix == ".npz":
        raise InferenceError("bad_request", f"--output {out} names a file, but there are {len(paths)} inputs; "
                                            "give a folder (one results file per input goes there).")
    jobs = [Job(p, (out or p.parent) / (p.stem + RESULTS_SUFFIX)) for p in paths]
    seen: dict[Path, Path] = {}
    for job in jobs:
        if job.output in seen:
            raise InferenceError("bad_request", f"{seen[job.output]} and {job.input} would both write "
                                                f"{job.output}; run them in separate calls.")
        seen[job.output] = job.input
    return jobs
