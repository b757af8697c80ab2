"""Where the add-on gets the results schema, and the numpy helpers it needs around it.

The schema lives in exactly one module, `propose_backend/results.py` (numpy + stdlib only).
The installed extension bundles the backend source under `backend_src/`; a checkout of the
repository has it under `backend/`. We load that one file by path under a private module name,
so Blender never imports the backend package (and with it, torch).
"""
from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent
# Scene frame of source frame 0: Blender counts frames from 1, and so does a movie clip's first frame.
FIRST_SCENE_FRAME = 1


def backend_source_dir() -> Path:
    """The folder that holds the `propose_backend` package: bundled copy first, then the repository's."""
    for candidate in (PACKAGE_DIR / "backend_src", PACKAGE_DIR.parent / "backend"):
        if (candidate / "propose_backend" / "results.py").is_file():
            return candidate
    raise RuntimeError(
        f"The ProPose backend source is missing next to the add-on ({PACKAGE_DIR}). "
        "Reinstall the add-on from a zip made by build_addon.py.")


def _load_backend_file(name: str) -> ModuleType:
    """Import one self-contained backend module (stdlib + numpy only) by its file path."""
    module_name = f"{__package__}.backend_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = backend_source_dir() / "propose_backend" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and typing look the module up while it runs
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def schema() -> ModuleType:
    """The backend's `propose_backend.results` module (read_results, ResultsError, ...)."""
    return _load_backend_file("results")


@lru_cache(maxsize=None)
def skeleton() -> ModuleType:
    """The backend's `propose_backend.skeleton` module (SMPL_JOINT_NAMES, SMPL_PARENTS)."""
    return _load_backend_file("skeleton")


def read(path: str | Path) -> dict[str, Any]:
    """A results file, or the finished chunks of an unfinished run; raises schema().ResultsError."""
    return schema().read_results(path)


def scene_frames(data: dict[str, Any]) -> np.ndarray:
    """Scene frame number of every results row (source frame 0 lands on scene frame 1)."""
    return np.asarray(data["frame_index"], dtype=np.int64) + FIRST_SCENE_FRAME


def clip_camera(data: dict[str, Any]) -> tuple[float, tuple[float, float]]:
    """One focal length and principal point for the clip: the median over frames with a person.

    The backend estimates one full-image camera per clip, so per-frame values agree; the median
    only guards against stray rows.
    """
    valid = np.asarray(data["valid"], dtype=bool)
    rows = valid if valid.any() else np.ones_like(valid)
    focal = float(np.median(np.asarray(data["focal_px"])[rows]))
    cx, cy = np.median(np.asarray(data["principal_pt"])[rows], axis=0)
    return focal, (float(cx), float(cy))
