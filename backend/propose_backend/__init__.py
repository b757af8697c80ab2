"""ProPose backend: the network, its analytical matrix-Fisher posterior, inference and training.

Importing the package reads no files; `load_model` does the loading.
"""
from __future__ import annotations

import os

# OpenMP worker threads that sleep when they run out of work instead of spinning: beside Blender
# and this backend's own decoder threads, spinning workers fight for the cores and the network
# ran 6x slower (docs/performance.md, "Threads"). Set before torch loads its OpenMP runtime;
# an explicit OMP_WAIT_POLICY in the environment still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["load_model", "__version__"]


def load_model(*args, **kwargs):  # noqa: D103 - documented in propose_backend.api.load_model
    from .api import load_model as _load_model

    return _load_model(*args, **kwargs)


load_model.__doc__ = "Build ProPose in eval mode; see propose_backend.api.load_model."
