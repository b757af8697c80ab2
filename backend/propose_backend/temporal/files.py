"""Smoothing a results file on disk (what `propose-backend smooth` and the estimate's last step run)."""
from __future__ import annotations

from pathlib import Path

from .. import results
from . import world
from .smooth import raw_frames, smooth_results


def unsmoothed(data: dict) -> dict:
    """The per-frame (raw) results of a file, as schema 2 without any temporal fields."""
    out = {k: v for k, v in data.items() if not k.startswith("raw_") and k not in ("contacts", "transl_std", "floor")}
    out.update(raw_frames(data))
    meta = dict(out.get("meta", {}))
    meta.pop("temporal", None)
    out.update(meta=meta, schema_version=results.SCHEMA_VERSION)
    return world.align_unsmoothed(out)


def smooth_file(source: str | Path, target: str | Path, strength: float = 1.0, seed: int = 0) -> Path:
    """Read `source`, smooth it (strength 0: restore the per-frame values) and write `target` atomically."""
    data = results.read_results(source)
    if strength > 0:
        try:
            smoothed = smooth_results(data, strength=strength, seed=seed)
        except ValueError as exc:
            raise results.ResultsError(f"{source}: cannot smooth these results ({exc}).") from exc
    else:
        smoothed = unsmoothed(data)
    return results.write_results(target, smoothed)
