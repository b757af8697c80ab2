"""Everyone in one frame, numbered, so the animator can say whom to follow.

BlazePose sees one person per pass, so a frame is searched repeatedly: each person found is
painted over with grey and the frame searched again, until nobody more is found. OpenCV's HOG
people detector adds upright people BlazePose missed. People are numbered left to right (by box
centre), the order in which they are drawn in the camera view and listed in the panel.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .detect import BlazePoseDetector, Detection, HogDetector, clip_box
from .errors import InferenceError
from ..request import FrameRange
from .footage import open_footage

MAX_PEOPLE = 8  # BlazePose passes per frame; a crowd beyond this is picked with a box instead
SAME_PERSON_IOU = 0.3  # a HOG box overlapping a BlazePose person this much is that person
MASK_MARGIN = 0.1  # the painted-over box is this much larger than the person's box on each side
MASK_GREY = 128
PAINT_GROW = 0.06  # a painted-over body's hull grows by this share of its size (clothes, hair)


@dataclass
class FramePeople:
    """The people found in one frame of a file."""

    frame: int  # source frame number
    image_size: tuple[int, int]  # width, height
    people: list[Detection]  # left to right

    def as_json(self) -> dict:
        return {"frame": self.frame, "image_size": list(self.image_size),
                "people": [{"number": i + 1, "box": [round(float(v), 1) for v in p.box],
                            "score": round(float(p.score), 3), "source": p.source}
                           for i, p in enumerate(self.people)]}


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box: a box inside another counts as the same person."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def _paint_over(image: np.ndarray, box: tuple[float, ...]) -> None:
    x, y, w, h = box
    height, width = image.shape[:2]
    x0, y0 = int(max(0, x - MASK_MARGIN * w)), int(max(0, y - MASK_MARGIN * h))
    x1, y1 = int(min(width, x + (1 + MASK_MARGIN) * w)), int(min(height, y + (1 + MASK_MARGIN) * h))
    image[y0:y1, x0:x1] = MASK_GREY


def paint_body(image: np.ndarray, points: np.ndarray) -> None:
    """Paint a body grey where it stands (in place): the hull of its 2D points, grown a little so
    the outline of clothes and hair goes too. Tighter than its box, so a person beside or behind
    it keeps what the camera saw of them."""
    points = np.asarray(points, np.float64)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < 3:
        return
    centre = points.mean(axis=0)
    size = float(np.ptp(points, axis=0).max())
    away = points - centre
    grown = centre + away + PAINT_GROW * size * away / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6)
    hull = cv2.convexHull(np.round(grown).astype(np.int32))
    cv2.fillConvexPoly(image, hull, (MASK_GREY, MASK_GREY, MASK_GREY))


def find_people(image_bgr: np.ndarray, max_people: int = MAX_PEOPLE,
                blazepose: BlazePoseDetector | None = None) -> list[Detection]:
    """Everyone found in a BGR frame, left to right (empty: nobody). `blazepose`: a still-image
    BlazePose to search with, kept by a caller that searches many frames (a new one costs about
    as much as a search); else one is made and closed here."""
    height, width = image_bgr.shape[:2]
    searched = image_bgr.copy()
    found: list[Detection] = []
    own = blazepose is None
    blazepose = BlazePoseDetector(video=False) if own else blazepose
    try:
        for _ in range(max_people):
            hits = blazepose.detect(searched)
            if not hits:
                break
            box = clip_box(hits[0].box, width, height)
            if any(_overlap(box, p.box) > 0.8 for p in found):
                break  # painting over did not hide them: the same person again
            found.append(Detection(box, hits[0].score, hits[0].source, hits[0].landmarks, hits[0].world_landmarks))
            if hits[0].landmarks is not None:  # their outline only: someone just beside or behind stays findable
                paint_body(searched, hits[0].landmarks[:, :2] * (width, height))
            else:
                _paint_over(searched, box)
    finally:
        if own:
            blazepose.close()
    for hog in HogDetector().detect(image_bgr):
        if len(found) < max_people and all(_overlap(hog.box, p.box) < SAME_PERSON_IOU for p in found):
            found.append(hog)
    return sorted(found, key=lambda d: d.box[0] + d.box[2] / 2)


def people_in_file(path: str, frame: int = 0) -> FramePeople:
    """The people in one frame of an image or video (raises InferenceError for unreadable input)."""
    footage = open_footage(path, FrameRange(frame, frame + 1) if frame else None)
    first = next(iter(footage.frames()), None)
    if first is None:
        raise InferenceError("bad_input", f"{path}: frame {frame} could not be read.")
    return FramePeople(first.index, footage.image_size, find_people(first.image))


def pick(people: FramePeople, number: int, path: str) -> Detection:
    """Person `number` (0-based) of those found, or an error that lists what there is."""
    if not people.people:
        raise InferenceError("no_person", f"No person was found in frame {people.frame} of {path}, so there "
                                          f"is no person {number + 1} to follow.")
    if not 0 <= number < len(people.people):
        raise InferenceError("bad_request", f"Person {number + 1} was asked for, but {len(people.people)} "
                                            f"{'person was' if len(people.people) == 1 else 'people were'} "
                                            f"found in frame {people.frame} of {path}; choose 1 to "
                                            f"{len(people.people)}.")
    return people.people[number]
