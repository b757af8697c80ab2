"""Person detectors on rendered footage: BlazePose keeps its landmarks; HOG is the fallback; grey has nobody."""
from __future__ import annotations

import cv2
import numpy as np

from propose_backend.inference.detect import box_from_points, make_detector
from tests import real_data


def _inside(box, x: float, y: float) -> bool:
    return box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]


def test_blazepose_finds_the_body_and_keeps_landmarks(person_image) -> None:
    image = cv2.imread(str(person_image))
    detector = make_detector("blazepose")
    try:
        (found,) = detector.detect(image)
    finally:
        detector.close()
    assert found.source == "blazepose"
    assert found.landmarks.shape == (33, 4) and found.world_landmarks.shape == (33, 4)
    body = np.argwhere((np.abs(image.astype(int) - 96).sum(axis=2)) > 30)  # non-background pixels (y, x)
    centre_y, centre_x = body.mean(axis=0)
    assert _inside(found.box, centre_x, centre_y)
    height = body[:, 0].max() - body[:, 0].min()
    assert 0.6 * height < found.box[3] < 1.6 * height
    assert np.abs(found.world_landmarks[:, :3]).max() < 1.5  # metres around the hips


def test_hog_finds_the_body_and_nobody_is_found_in_grey(person_image, grey_image) -> None:
    image = cv2.imread(str(person_image))
    (found,) = make_detector("hog").detect(image)[:1]
    assert found.source == "hog" and found.landmarks is None
    assert _inside(found.box, 160, 120)
    grey = cv2.imread(str(grey_image))
    for name in ("auto", "blazepose", "hog"):
        detector = make_detector(name)
        assert detector.detect(grey) == [], name
        detector.close()
    assert make_detector("full-frame").detect(grey)[0].box == (0, 0, 320, 240)


def test_point_box_pads_the_extent() -> None:
    x, y, w, h = box_from_points(np.array([[10.0, 20.0], [30.0, 120.0], [np.nan, np.nan]]))
    assert (x, y, w, h) == (0.0, 10.0, 40.0, 120.0)


def test_images_smaller_than_the_hog_window_do_not_crash_it() -> None:
    detector = make_detector("auto")
    for height, width in ((64, 64), (100, 60), (40, 300)):
        assert detector.detect(np.zeros((height, width, 3), np.uint8)) == []
    detector.close()


def test_blazepose_finds_a_close_up_that_fills_the_photo() -> None:
    """A real close-up (a man on the phone, head and chest fill the frame): BlazePose misses him on
    the bare photo; with room around the frame it finds him, and the box is on him, not on a passer-by."""
    image = cv2.imread(str(real_data.photo(395)))
    detector = make_detector("blazepose")
    try:
        (found,) = detector.detect(image)
    finally:
        detector.close()
    x, y, w, h = found.box  # in the 640x580 photo he spans x 120..545 from his cap (y 145) down
    assert _inside(found.box, 330, 450), found.box  # his chest
    assert 100 < x and x + w < 600 and y < 300, found.box  # him, not the passer-by at x 26..114
    shoulders = found.landmarks[[11, 12], :2] * (image.shape[1], image.shape[0])
    assert ((shoulders[:, 0] > 150) & (shoulders[:, 0] < 545) & (shoulders[:, 1] > 250)).all(), shoulders
