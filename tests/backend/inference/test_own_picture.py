"""Each person's own picture (own_picture.py), on drawn stick people: the others are painted
over where the camera sees them and the person is not, the person's own pixels stay. Fast: no
rendering, no network."""
from __future__ import annotations

import cv2
import numpy as np

from propose_backend.inference.crop import CropBox
from propose_backend.inference.crowd import Placement
from propose_backend.inference.own_picture import own_picture, own_pictures
from propose_backend.skeleton import PARENTS

SIZE = (400, 300)  # width, height
RED, GREEN, GREY = (40, 40, 200), (60, 170, 40), (110, 110, 110)  # BGR

# A standing person's 35 points (skeleton.POINT_NAMES order) as shares of their height, from the head's top.
_SHAPE = np.array([
    (0.0, .53), (.05, .53), (-.05, .53), (0.0, .47), (.05, .75), (-.05, .75), (0.0, .40), (.05, .95), (-.05, .95),
    (0.0, .33), (.08, .98), (-.08, .98), (0.0, .18), (.04, .20), (-.04, .20), (0.0, .10), (.10, .20), (-.10, .20),
    (.12, .35), (-.12, .35), (.13, .48), (-.13, .48), (.13, .52), (-.13, .52),
    (0.0, .08), (.02, .07), (-.02, .07), (.04, .08), (-.04, .08),
    (.08, .98), (.03, .99), (.06, .97), (-.08, .98), (-.03, .99), (-.06, .97)])


def person(cx: float, top: float, height: float) -> np.ndarray:
    return _SHAPE * height + (cx, top)


def draw(image: np.ndarray, points: np.ndarray, colour) -> None:
    """A stick person a little thinner than own_picture's silhouette (as a real body is)."""
    size = float(np.ptp(points, axis=0).max())
    pixels = np.round(points).astype(np.int32)
    for child, parent in enumerate(PARENTS):
        if parent >= 0:
            cv2.line(image, tuple(map(int, pixels[parent])), tuple(map(int, pixels[child])), colour,
                     max(2, int(0.06 * size)))
    cv2.circle(image, tuple(map(int, pixels[15])), int(0.06 * size), colour, -1)


def count(image: np.ndarray, colour) -> int:
    return int(np.all(image == colour, axis=-1).sum())


def scene():
    """Green walks 7 m away, half behind red at 5 m (drawn far to near, as a camera sees them)."""
    image = np.full((SIZE[1], SIZE[0], 3), GREY, np.uint8)
    far, near = person(220.0, 60.0, 170.0), person(180.0, 40.0, 220.0)
    draw(image, far, GREEN)
    draw(image, near, RED)
    return image, near, far


def test_the_person_behind_is_painted_out_of_the_front_persons_picture_but_not_their_own_body():
    image, near, far = scene()
    green_seen = count(image, GREEN)
    assert green_seen > 500  # the one behind shows beside the one in front
    picture = own_picture(image, CropBox(180.0, 150.0, 280.0), (near, 5.0), [(far, 7.0)])
    assert count(picture, RED) == count(image, RED)  # the front person is all there
    assert count(picture, GREEN) < 0.2 * green_seen  # the one behind is gone but where they touch
    assert count(image, GREEN) == green_seen  # the frame itself is left as it was


def test_the_person_in_front_is_painted_out_of_the_picture_of_the_one_behind():
    image, near, far = scene()
    picture = own_picture(image, CropBox(220.0, 145.0, 220.0), (far, 7.0), [(near, 5.0)])
    assert count(picture, RED) == 0
    assert count(picture, GREEN) > 0.5 * count(image, GREEN)  # what the camera saw of them stays
    # a person the tracker has no body for on the frame before (just found again) still gets the
    # people in front painted over; the people behind stay (nothing says where their own body ends)
    only_depth = own_picture(image, CropBox(220.0, 145.0, 220.0), (None, 7.0), [(near, 5.0)])
    assert count(only_depth, RED) == 0
    unknown = own_picture(image, CropBox(180.0, 150.0, 280.0), (None, 5.0), [(far, 7.0)])
    assert unknown is image


def test_a_person_nobody_comes_near_gets_the_frame_itself():
    image, near, far = scene()
    pictures = own_pictures(image, [Placement(1, CropBox(60.0, 150.0, 80.0)), Placement(2, CropBox(180.0, 150.0, 280.0))],
                            {1: (person(60.0, 100.0, 80.0), 9.0), 2: (near, 5.0), 3: (far, 7.0)})
    assert pictures[0] is image  # no copy where nobody else is in the crop
    assert pictures[1] is not image and count(pictures[1], RED) == count(image, RED)
