"""Results files on the add-on's side: reading them (with the backend's own schema module, see
bridge.py) and the numpy helpers around them: scene frames, the clip's camera."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .bridge import schema

# Scene frame of source frame 0: Blender counts frames from 1, and so does a movie clip's first frame.
FIRST_SCENE_FRAME = 1


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


def is_mirrored(data: dict[str, Any]) -> bool:
    """Whether the file comes from mirrored footage (meta `mirrored`): it then describes the real
    scene, which the footage shows flipped left-right (the camera background is flipped back)."""
    meta = data.get("meta") or {}
    return bool(meta.get("mirrored", False)) if isinstance(meta, dict) else False
