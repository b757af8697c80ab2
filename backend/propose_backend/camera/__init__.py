"""The camera's own motion through a clip: its rotation (solve.py) from the background (people.py
masked out), then its travel in metres (travel.py) from tracks on the floor the feet stand on.

`solve_results_footage` runs it over the footage a results file came from and returns the path
the results file stores (`with_camera` adds it to the results in memory) (`world_from_camera`, after temporal fusion puts it in a gravity-aligned
world, docs/temporal.md) and what goes into `meta["camera"]`.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import cv2
import numpy as np

from .people import PeopleMasks
from .solve import STILL_DEG, CameraPath, kabsch, solve_camera, work_size  # noqa: F401 (the package's API)
from .travel import solve_travel  # noqa: F401 (the package's API)


def relative_transforms(path: CameraPath, rows: int) -> np.ndarray:
    """(rows, 4, 4) float32 camera-t → camera-0 transforms (translation zero where not solved).

    Rows past the solved frames (a video that ends before its results do) hold the last solved
    pose: the camera stays where it was last seen rather than jumping back to the first frame's.
    """
    out = np.tile(np.eye(4, dtype=np.float32), (rows, 1, 1))
    solved = min(len(path.rotations), rows)
    out[:solved, :3, :3] = path.rotations[:solved]
    if path.centres is not None:
        out[:solved, :3, 3] = path.centres[:solved]
    if 0 < solved < rows:
        out[solved:] = out[solved - 1]
    return out


# The travel pass's feet floor keeps the soles' own tilt (the body's up held as if the soles spread
# 2 cm across it, not temporal/ground.py's 20 cm): the smoother's stronger pull to the body's up,
# applied here too, moved the dolly's solved path off (travel 1.18 -> 1.23 of 1.20 m, the end
# 14 cm deeper than the truth; WA-MPJPE 72 -> 80 mm), so it is kept to the smoother's floor.
TRAVEL_FLOOR_UP_PRIOR_M2 = 0.02**2


def reference_floor(data: Mapping[str, Any], path: CameraPath) -> np.ndarray | None:
    """Floor plane (n up, metres) in the first camera, fitted to the per-frame feet carried there by the path."""
    from ..temporal.smooth import raw_frames
    from ..temporal.world import floor_of_points, to_reference

    raw = raw_frames(data)
    valid = np.asarray(raw["valid"], bool)
    if valid.sum() < 3:
        return None
    ref = to_reference(raw, relative_transforms(path, len(valid)).astype(np.float64))
    floor = floor_of_points(ref["joints3d"][valid].astype(np.float64), ref["transl"][valid].astype(np.float64),
                            up_prior_m2=TRAVEL_FLOOR_UP_PRIOR_M2)
    return floor if floor is not None and np.all(np.isfinite(floor)) and np.linalg.norm(floor[:3]) > 0.5 else None


def with_travel(data: Mapping[str, Any], path: CameraPath) -> CameraPath:
    """`path` with the camera's travel solved against the floor of the body's feet (in place), when
    the clip shows it (travel.py); a still path, or one without a floor, is left as it is."""
    if path.still or not path.tracks:
        return path
    # The feet's floor, seen along the rotation-only path (a camera sliding along the floor shifts
    # them sideways, which leaves the plane where it is), only picks the homography's solution and
    # gives the camera's height in metres: the image gives the floor's tilt (travel.py).
    floor = reference_floor(data, path)
    if floor is not None:
        path.rotations, path.centres, path.travel = solve_travel(path, floor)
        if path.travel["translation"].startswith("none"):
            path.centres = None
    return path


def solve_results_footage(data: Mapping[str, Any], footage: Any,
                          progress: Callable[[int], None] | None = None,
                          segmentation: bool = True, travel: bool = True,
                          people: Mapping[int, list[tuple[float, float, float, float]]] | None = None) -> CameraPath:
    """The camera path over exactly the frames of a results file (its `frame_index`), people masked.

    footage: the opened footage (`image_size`, `frames()` of `.index` / `.image`), e.g.
    `inference.footage.open_rows(data, path)`. `people`: every followed person's box (x, y, w, h)
    by frame, masked out besides the segmentation (a multi-person run); else the file's own `bbox`.
    Mirrored footage (meta `mirrored`) is solved flipped left-right, as the file's body and boxes
    are: the real camera's path (a pan right in the mirror is a pan left in reality).
    """
    index = np.asarray(data["frame_index"], dtype=np.int64)
    boxes = {int(f): [tuple(b)] for f, b, ok in zip(index, np.asarray(data["bbox"]), np.asarray(data["valid"])) if ok} \
        if people is None else people
    wanted = set(int(f) for f in index)
    masks = PeopleMasks(segmentation)
    focal = float(np.median(np.asarray(data["focal_px"])))
    principal = tuple(float(v) for v in np.median(np.asarray(data["principal_pt"]), axis=0))

    meta = data.get("meta") or {}
    flip = bool(meta.get("mirrored", False)) if isinstance(meta, Mapping) else False
    size = work_size(footage.image_size)
    scale = size[0] / footage.image_size[0]

    def frames():
        for frame in footage.frames():
            if frame.index in wanted:
                image = np.ascontiguousarray(frame.image[:, ::-1]) if flip else frame.image
                small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                yield small, masks.mask(small, [tuple(scale * np.asarray(b)) for b in boxes.get(frame.index, [])])

    try:
        path = solve_camera(frames(), focal, principal, footage.image_size, progress)
    finally:
        masks.close()
    return with_travel(data, path) if travel else path


def with_camera(data: dict[str, Any], footage: Any,
                progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """`data` with the camera of its footage solved (the estimate's step before smoothing):
    `world_from_camera` relative to the first frame's camera (temporal fusion then puts it in the
    gravity-aligned world) and the solve's figures in `meta["camera"]`."""
    path = solve_results_footage(data, footage, progress)
    out = dict(data, world_from_camera=relative_transforms(path, len(np.asarray(data["frame_index"]))))
    out["meta"] = {**data.get("meta", {}), "camera": path.describe()}
    return out
