"""The add-on's bridge to the backend's source: the stdlib/numpy modules both sides share.

The results schema (`propose_backend/results.py`), the skeleton tables (`skeleton.py`) and the
estimate request with its choices and file-name tables (`request.py`) each exist once, in the
backend. The installed extension bundles the backend source under `backend_src/`; a checkout of
the repository has it under `backend/`. We load those files by path under private module names,
so Blender never imports the backend package (and with it, torch).
"""
from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent


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


@lru_cache(maxsize=None)
def request() -> ModuleType:
    """The backend's `propose_backend.request` module (EstimateRequest, the choices, file names)."""
    return _load_backend_file("request")


@lru_cache(maxsize=None)
def world_frame() -> ModuleType:
    """The backend's `propose_backend.world_frame` module (the clip's world: z up, floor z = 0)."""
    return _load_backend_file("world_frame")
