"""Temporal fusion: per-frame posteriors -> smoothed animation, coherent ghosts, floor and foot contacts.

`smooth_results(data, strength=DEFAULT_SMOOTH, pins=None, seed=DEFAULT_SEED)` turns a results dict (schema v1 or v2)
into a schema-v2 results dict; `Pins` are rotations the animator fixed. The method and its
maths are in docs/temporal.md.
"""
from .smooth import Pins, raw_frames, smooth_results

__all__ = ["Pins", "raw_frames", "smooth_results"]
