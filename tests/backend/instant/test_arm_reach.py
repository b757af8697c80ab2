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


def test_the_wrist_goes_on_the_found_wrists_ray_at_the_forearms_length():
    """The geometry alone: a forearm that can reach the found wrist's ray puts the wrist on it, at its
    own length from the elbow (the point nearer BlazePose's wrist in depth), the hand points keep the
    read hand's shape round it, and BlazePose's crop-view landmarks move by the same shift turned back
    by the crop's turn; one that cannot reach points straight at the ray. Hands not found wide stay."""
    from scipy.spatial.transform import Rotation

    from propose_backend.hands.solve import HandBatch
    from propose_backend.instant.arm_reach import arms_to_found_hands

    focal, principal = 1000.0, (500.0, 400.0)
    turn = Rotation.from_rotvec([0.0, 0.1, 0.05]).as_matrix()[None]
    placed = np.zeros((1, 33, 3))
    placed[0, :, 2] = 3.0
    placed[0, 13] = (0.20, 0.10, 3.0)  # left elbow
    placed[0, [15, 17, 19, 21]] = (0.25, 0.35, 3.0)  # left wrist and hand points, on the belly
    world = np.einsum("ji,nkj->nki", turn[0], placed)  # any crop-view points whose turn gives `placed`
    read = np.zeros((1, 2, 21, 3))
    read[0, 0, 17], read[0, 0, 5], read[0, 0, 2] = (0.03, -0.08, 0.0), (-0.01, -0.09, 0.0), (-0.04, -0.03, 0.01)
    pixels = np.zeros((1, 2, 21, 2))
    pixels[0, 0, 0] = (500.0 + focal * 0.2 / 3.0, 400.0 - focal * 0.15 / 3.0)  # a hand up by the shoulder
    hands = HandBatch(read, pixels, np.array([[0.9, 0.8]]), wide=np.array([[True, False]]))
    before_world, before_placed = world.copy(), placed.copy()
    arms_to_found_hands(world, placed, hands, turn, focal, principal)
    wrist = placed[0, 15]
    ray = np.array([(pixels[0, 0, 0, 0] - 500.0) / focal, (pixels[0, 0, 0, 1] - 400.0) / focal, 1.0])
    assert np.linalg.norm(np.cross(wrist, ray)) / np.linalg.norm(ray) < 1e-9  # on the ray
    assert np.isclose(np.linalg.norm(wrist - placed[0, 13]), np.linalg.norm(before_placed[0, 15] - before_placed[0, 13]))
    assert np.allclose(placed[0, [17, 19, 21]] - wrist, read[0, 0, [17, 5, 2]])
    assert np.allclose(np.einsum("ij,kj->ki", turn[0], world[0] - before_world[0]), placed[0] - before_placed[0])
    unmoved = [k for k in range(33) if k not in (15, 17, 19, 21)]
    assert np.array_equal(placed[0, unmoved], before_placed[0, unmoved])  # the right arm's hand was not wide
    # a ray the forearm cannot reach: the wrist points from the elbow straight at it
    placed, world = before_placed.copy(), before_world.copy()
    pixels[0, 0, 0] = (500.0 - focal * 0.5 / 3.0, 400.0 - focal * 0.5 / 3.0)
    arms_to_found_hands(world, placed, HandBatch(read, pixels, np.array([[0.9, 0.0]]), wide=np.array([[True, True]])),
                        turn, focal, principal)
    ray = np.array([(pixels[0, 0, 0, 0] - 500.0) / focal, (pixels[0, 0, 0, 1] - 400.0) / focal, 1.0])
    ray /= np.linalg.norm(ray)
    elbow = placed[0, 13]
    nearest = (ray @ elbow) * ray
    towards = (placed[0, 15] - elbow) / np.linalg.norm(placed[0, 15] - elbow)
    assert np.allclose(towards, (nearest - elbow) / np.linalg.norm(nearest - elbow))
