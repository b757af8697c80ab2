"""Each person's own picture of a frame: the other people followed painted grey.

A person's crop often takes in someone else: a walker passing close behind them, or one passing in
front. BlazePose reads one body per crop and is pulled towards the other body's limbs (on the
crossing benchmark, the arms of the walker in front were read 20-30 px off while another walked
behind them, and stayed off for a dozen frames after, as the video-mode reader carries its state).
The single-person run does not have this problem on a clip with one person in it, so it is the
crowd, not the crop, that costs: the same walker read in their crop with nobody else in the
picture is as accurate as the full-frame read.

The tracker knows where every followed person stood on the frame before and how far from the
camera. On each person's picture the others are painted over (people.paint_body, their outline):
a person farther away only outside the person's own outline (behind them, the person's body is
what the camera sees), a nearer one wherever they stand (there the camera sees them, not the
person). A person not seen on the frame before, or not overlapped by anyone, gets the frame itself
(no copy is made).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..skeleton import PARENTS
from .crop import CropBox
from .crowd import CrowdTracker, body_box
from .people import MASK_GREY, paint_body

# A body's silhouette: every bone of its 2D skeleton drawn this thick (share of the body's size),
# the torso filled, the head a disc. Thicker than a limb: the body moved since the frame before.
LIMB_WIDTH = 0.12
HEAD_RADIUS = 0.08
TORSO = (0, 1, 2, 3, 6, 9, 12, 13, 14, 16, 17)  # pelvis, hips, spine, neck, collars, shoulders
HEAD = 15


def _bounds(points: np.ndarray) -> tuple[float, float, float, float]:
    return (*points.min(axis=0), *points.max(axis=0))


def _overlaps(points: np.ndarray, box: CropBox) -> bool:
    x0, y0, x1, y1 = _bounds(points)
    half = box.side / 2.0
    return x1 > box.cx - half and x0 < box.cx + half and y1 > box.cy - half and y0 < box.cy + half


def silhouette(mask: np.ndarray, points: np.ndarray) -> None:
    """Mark (in place, non-zero) where a body stands: its 2D skeleton (skeleton.POINT_NAMES
    order) drawn with thick bones, filled torso and head. Tighter than its hull (people.paint_body),
    which takes in the space between the legs and an arm's swing."""
    size = float(np.ptp(points, axis=0).max())
    width = max(2, int(round(LIMB_WIDTH * size)))
    pixels = np.round(points).astype(np.int32)
    for child, parent in enumerate(PARENTS[:len(pixels)]):
        if parent >= 0:
            cv2.line(mask, tuple(map(int, pixels[parent])), tuple(map(int, pixels[child])), 255, width)
    cv2.fillConvexPoly(mask, cv2.convexHull(pixels[list(TORSO)]), 255)
    cv2.circle(mask, tuple(map(int, pixels[HEAD])), max(2, int(round(HEAD_RADIUS * size))), 255, -1)


def own_picture(image: np.ndarray, box: CropBox, own: tuple[np.ndarray | None, float] | None,
                others: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """The BGR frame as one person's crop `box` should see it: `others` (each (2D points on the
    frame, depth m)) painted over, nearer ones where they stand (silhouette), farther ones (their
    hull) outside the person's own silhouette. `own`: the person's (2D points or None, depth m);
    without points only the nearer people go, without a depth nobody. With nobody in the crop,
    the frame itself (no copy)."""
    if own is None or not np.isfinite(own[1]):
        return image
    mine, depth = own
    mine = mine if mine is not None and np.isfinite(mine).all() else None
    near = [p for p, d in others if np.isfinite(p).all() and d < depth and _overlaps(p, box)]
    far = [p for p, d in others if mine is not None and np.isfinite(p).all() and d >= depth and _overlaps(p, box)]
    if not near and not far:
        return image
    picture = image.copy()
    if far:
        behind = np.zeros(image.shape[:2], np.uint8)
        for points in far:
            paint_body(behind, points)
        keep = np.zeros_like(behind)
        silhouette(keep, mine)
        picture[(behind > 0) & (keep == 0)] = MASK_GREY
    if near:
        front = np.zeros(image.shape[:2], np.uint8)
        for points in near:
            silhouette(front, points)
        picture[front > 0] = MASK_GREY
    return picture


def own_pictures(image: np.ndarray, placements, bodies: dict[int, tuple[np.ndarray | None, float]]) -> list[np.ndarray]:  # noqa: ANN001
    """Each placed person's picture (own_picture) for a frame, in the order of `placements`
    (crowd.Placement: person number and crop); `bodies` the (2D points or None, depth) of everyone
    followed, where they stand on this frame (standing)."""
    return [own_picture(image, p.box, bodies.get(p.number),
                        [body for other, body in bodies.items() if other != p.number and body[0] is not None])
            for p in placements]


def standing(tracker: CrowdTracker, before, frame_index: int) -> dict[int, tuple[np.ndarray | None, float]]:  # noqa: ANN001
    """Where everyone followed stands on frame `frame_index`, for own_pictures: each body held on the
    frame before (`before`, a rewind.Past: 2D points and depth m; None at the start) moved on as the
    tracker predicts its person's crop moves; a person not seen there has only the depth the tracker
    predicts. Older bodies are not used: one hidden for a while may have gone anywhere (painting
    bodies last seen up to 5 frames ago made the crossing benchmark worse: 2 switches)."""
    bodies = before.bodies if before is not None and before.frame.index == frame_index - 1 else {}
    out: dict[int, tuple[np.ndarray | None, float]] = {}
    for track in tracker.live():
        if track.number in bodies and track.boxes:
            last, ahead = track.boxes[-1][1], track.predict_box(frame_index)
            out[track.number] = (bodies[track.number] + (ahead.cx - last.cx, ahead.cy - last.cy),
                                 before.depths[track.number])
        elif (position := track.predict_position(frame_index)) is not None:
            out[track.number] = (None, float(position[2]))
    return out


def past_picture(image: np.ndarray, box: CropBox, number: int, past, later) -> np.ndarray:  # noqa: ANN001 - rewind.Past
    """Person `number`'s picture of a kept frame `past` read back (rewind.py) in crop `box`: the
    others held on it painted over as own_picture does, with the person's own body where it was
    read on the frame after (`later`), moved into the crop. Without that, the frame itself."""
    if past is None or later is None or number not in later.bodies:
        return image
    own = later.bodies[number]
    ahead = body_box(own)
    if ahead is not None:
        own = own + (box.cx - ahead.cx, box.cy - ahead.cy)
    return own_picture(image, box, (own, later.depths[number]),
                       [(points, past.depths[n]) for n, points in past.bodies.items() if n != number])


__all__ = ["past_picture", "standing", "HEAD_RADIUS", "LIMB_WIDTH", "own_picture", "own_pictures", "silhouette"]
