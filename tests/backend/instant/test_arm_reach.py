"""A hand the still's wider look finds away from BlazePose's wrist takes the body's arm with it."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.detect import BlazePoseDetector
from propose_backend.inference.model_files import ModelFiles
from propose_backend.inference.protocol import EstimatorSettings, FrameBatch
from propose_backend.instant.landmark_estimator import KeypointEstimator
from tests.real_data import photo

LEFT_WRIST, LEFT_ELBOW = 20, 18  # SMPL joints in joints2d


def test_the_body_reaches_for_the_hand_found_at_the_ear():
    """Photo 395: BlazePose puts the man's left wrist on his chest, about 140 px below the hand he holds
    to his ear. Read as a still, the hand is found there (hands/landmarks.py look_wider), and the
    body's left wrist, projected into the photo, now lies within half a hand's length of the found
    wrist (the forearm turned up from the elbow BlazePose placed), where it stayed on the chest
    before. Read as a clip's frame (no wider look) the body is BlazePose's, wrist on the chest."""
    image = cv2.imread(str(photo(395)))
    height, width = image.shape[:2]
    detector = BlazePoseDetector(video=False)
    try:
        found = detector.detect(image)[0]
    finally:
        detector.close()
    estimator = KeypointEstimator(EstimatorSettings(ModelFiles(None, None, Path("."))))
    runs = []
    try:
        for still in (False, True):
            estimator.reseed()
            runs.append(estimator.estimate(FrameBatch(
                frame_index=np.array([0]), boxes=np.array([[width / 2, height / 2, height]]), crops=None,
                detections=[found], camera=ImageCamera(1.2 * width, (width / 2, height / 2)), num_samples=2,
                image_size=(width, height), images=[image], still=still)))
    finally:
        estimator.close()
    clip, still = runs
    assert clip["hand_valid"][0].tolist() == [False, False]
    assert still["hand_valid"][0].tolist() == [True, False]
    hand = still["hand_landmarks2d"][0, 0]
    length = 2.0 * np.linalg.norm(hand[9] - hand[0])
    assert np.linalg.norm(still["joints2d"][0, LEFT_WRIST] - hand[0]) < 0.5 * length
    assert np.linalg.norm(clip["joints2d"][0, LEFT_WRIST] - hand[0]) > length  # BlazePose's wrist, on the chest
    # the elbow stays where BlazePose put it: the forearm turns, the upper arm barely moves
    assert np.linalg.norm(still["joints2d"][0, LEFT_ELBOW] - clip["joints2d"][0, LEFT_ELBOW]) < 0.25 * length
