"""Mirrored footage (--mirrored): each hand goes with the body's side and keeps that side's shape."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.detect import BlazePoseDetector, Detection
from propose_backend.inference.model_files import ModelFiles
from propose_backend.inference.protocol import EstimatorSettings, FrameBatch
from propose_backend.network_estimator import hand_guides
from propose_backend.temporal import so3

from tests.real_data import photo


def _instant(image: np.ndarray, mirrored: bool) -> dict:
    from propose_backend.instant.landmark_estimator import KeypointEstimator

    estimator = KeypointEstimator(EstimatorSettings(ModelFiles(None, None, Path("."))))
    found = BlazePoseDetector(video=False).detect(image)
    h, w = image.shape[:2]
    try:
        return estimator.estimate(FrameBatch(
            frame_index=np.array([0]), boxes=np.array([[w / 2, h / 2, h]]), crops=None, detections=[found[0]],
            camera=ImageCamera(1.2 * max(w, h), (w / 2, h / 2)), num_samples=0, image_size=(w, h), images=[image],
            mirrored=mirrored))
    finally:
        estimator.close()


def test_a_mirrored_photo_gives_the_fingers_of_the_plain_one():
    """Photo 459 (the hand on a camera) and its mirror image read with --mirrored: the body there
    is the plain photo's turned about the vertical, so its local finger rotations should agree.
    Fitting the reflected hand as seen (a left hand's shape on the right side) put them 51° apart."""
    image = cv2.imread(str(photo(459)))
    plain = _instant(image, False)
    mirrored = _instant(np.ascontiguousarray(image[:, ::-1]), True)
    assert plain["hand_valid"][0, 0] and mirrored["hand_valid"][0, 0]
    apart = so3.angle_deg(plain["hand_rotmats"][0, :15].astype(np.float64),
                          mirrored["hand_rotmats"][0, :15].astype(np.float64))
    assert apart.mean() < 25.0, apart.mean()


def test_network_hand_crops_take_the_persons_sides_on_mirrored_footage():
    """On mirrored footage the network's body is reflected to the person's sides (reflect_estimate),
    so the hand crops swap BlazePose's labels, which name the figure as seen; the network's own
    joints (the fallback) are already the person's."""
    from propose_backend.instant.mapping import swap_left_right

    landmarks = np.zeros((33, 4))
    landmarks[:, 0] = np.linspace(0.1, 0.9, 33)
    landmarks[:, 3] = 1.0
    joints2d = np.arange(35 * 2, dtype=np.float64).reshape(1, 35, 2)
    for mirrored in (False, True):
        batch = FrameBatch(frame_index=np.array([0]), boxes=np.zeros((1, 3)), crops=None,
                           detections=[Detection((0, 0, 1, 1), 1.0, "blazepose", landmarks, landmarks)],
                           camera=ImageCamera(100.0, (50, 50)), num_samples=0, image_size=(100, 100), mirrored=mirrored)
        seen = swap_left_right(landmarks) if mirrored else landmarks
        np.testing.assert_allclose(hand_guides(batch, joints2d)[0, :, 0], seen[:, 0] * 100)
        batch.detections = [None]
        np.testing.assert_array_equal(hand_guides(batch, joints2d)[0, 15, :2], joints2d[0, 20])
