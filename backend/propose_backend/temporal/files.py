"""Smoothing results: in memory (the estimate's last step, before its one write) or a file on disk
(`propose-backend smooth`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import results
from ..request import DEFAULT_SEED, DEFAULT_SMOOTH
from . import world
from .smooth import raw_frames, smooth_results


def unsmoothed(data: dict) -> dict:
    """The per-frame (raw) results of a file, as schema 2 without any temporal fields.

    The raw per-frame samples are not kept in a smoothed file, so its ghosts stay, ranked again the
    per-frame way (densest first on every frame) instead of as whole motions.
    """
    out = {k: v for k, v in data.items() if not k.startswith("raw_") and k not in ("contacts", "transl_std", "floor")}
    out.update(raw_frames(data))
    density = np.asarray(data["sample_log_density"])
    order = np.argsort(-density, axis=1, kind="stable")
    out["sample_log_density"] = np.take_along_axis(density, order, axis=1)
    out["samples"] = np.take_along_axis(np.asarray(data["samples"]), order[:, :, None, None, None], axis=1)
    meta = dict(out.get("meta", {}))
    meta.pop("temporal", None)
    out.update(meta=meta, schema_version=results.SCHEMA_VERSION)
    return world.align_unsmoothed(out)


def smoothed(data: dict, strength: float, seed: int, source: str = "the results") -> dict:
    """`data` smoothed (strength 0: the per-frame values restored); ResultsError when it cannot be."""
    if not strength > 0:
        return unsmoothed(data)
    try:
        return smooth_results(data, strength=strength, seed=seed)
    except ValueError as exc:
        raise results.ResultsError(f"{source}: cannot smooth these results ({exc}).") from exc


def smooth_file(source: str | Path, target: str | Path, strength: float = DEFAULT_SMOOTH,
                seed: int = DEFAULT_SEED) -> Path:
    """Read `source`, smooth it (strength 0: restore the per-frame values) and write `target` atomically."""
    return results.write_results(target, smoothed(results.read_results(source), strength, seed, str(source)))
