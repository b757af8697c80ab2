"""The add-on's bridge to the backend's source: the stdlib/numpy modules both sides share.

The results schema (`propose_backend/results.py`), the skeleton tables (`skeleton.py`), the
estimate request with its choices and file-name tables (`request.py`) and the run plan that turns
a request into its protocol line (`run_plan.py`) each exist once, in the backend. The installed
extension bundles the backend source under `backend_src/`; a checkout of the repository has it
under `backend/`. We load those files by path under a private package name, so Blender never
imports the backend package (and with it, torch).
"""
from __future__ import annotations

import importlib
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


def _backend_package() -> str:
    """A private, empty package whose path is the backend's package folder: the backend's modules load
    as its submodules (so their relative imports of one another work) without running the backend's
    `__init__` and without the name `propose_backend`, which a backend process may own."""
    name = f"{__package__}._backend"
    if name not in sys.modules:
        package = ModuleType(name)
        package.__path__ = [str(backend_source_dir() / "propose_backend")]
        package.__package__ = name
        sys.modules[name] = package
    return name


def _load_backend_file(name: str) -> ModuleType:
    """Import one self-contained backend module (stdlib + numpy only, and its own kind) by its file."""
    return importlib.import_module(f"{_backend_package()}.{name}")


@lru_cache(maxsize=None)
def schema() -> ModuleType:
    """The backend's `propose_backend.results` module (read_results, ResultsError, ...)."""
    return _load_backend_file("results")


@lru_cache(maxsize=None)
def skeleton() -> ModuleType:
    """The backend's `propose_backend.skeleton` module (SMPL_JOINT_NAMES, SMPL_PARENTS)."""
    return _load_backend_file("skeleton")


@lru_cache(maxsize=None)
def people_file() -> ModuleType:
    """The backend's `propose_backend.people_file` module (the clip index, merging and splitting people)."""
    return _load_backend_file("people_file")


@lru_cache(maxsize=None)
def request() -> ModuleType:
    """The backend's `propose_backend.request` module (EstimateRequest, the choices, file names)."""
    return _load_backend_file("request")


@lru_cache(maxsize=None)
def world_frame() -> ModuleType:
    """The backend's `propose_backend.world_frame` module (the clip's world: z up, floor z = 0)."""
    return _load_backend_file("world_frame")


@lru_cache(maxsize=None)
def run_plan() -> ModuleType:
    """The backend's `propose_backend.run_plan` module (RunPlan: the protocol line of a run)."""
    return _load_backend_file("run_plan")
