"""The network estimator reads the fingers too: hand crops from BlazePose or from its own wrists."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.detect import BlazePoseDetector, Detection
from propose_backend.inference.model_files import ModelFiles
from propose_backend.inference.protocol import EstimatorSettings, FrameBatch
from propose_backend.network_estimator import _GUIDES, hand_guides

from hand_scene import arms_forward


def test_guides_fall_back_to_the_network_joints():
    joints2d = np.arange(35 * 2, dtype=np.float64).reshape(1, 35, 2)
    batch = FrameBatch(frame_index=np.array([0]), boxes=np.zeros((1, 3)), crops=None, detections=[None],
                       camera=ImageCamera(100.0, (50, 50)), num_samples=0, image_size=(100, 100))
    guides = hand_guides(batch, joints2d)
    for point, joint in _GUIDES.items():
        np.testing.assert_array_equal(guides[0, point], [*joints2d[0, joint], 1.0])
    landmarks = np.full((33, 4), 0.5)
    batch.detections = [Detection((0, 0, 1, 1), 1.0, "blazepose", landmarks, landmarks)]
    np.testing.assert_allclose(hand_guides(batch, joints2d)[0, 15], (50.0, 50.0, 0.5))


@pytest.mark.slow
def test_random_weight_network_reads_the_visible_hands():
    from hand_scene import Scene, render
    from propose_backend.inference.crop import CropBox, cut
    from propose_backend.network_estimator import load_propose_estimator

    image, _ = render(arms_forward(0.9, -1.3, 1.3), 2.2)
    h, w = image.shape[:2]
    found = BlazePoseDetector(video=False).detect(image)
    box = CropBox.around(*found[0].box)
    estimator = load_propose_estimator(EstimatorSettings(ModelFiles(None, None, Path("."))))
    try:
        out = estimator.estimate(FrameBatch(
            frame_index=np.array([0]), boxes=np.array([[box.cx, box.cy, box.side]]),
            crops=cut(image, box)[None], detections=found, camera=ImageCamera(Scene().focal, (w / 2, h / 2)),
            num_samples=2, image_size=(w, h), images=[image]))
        geometry = estimator.rest_geometry(np.zeros(10))
    finally:
        estimator.close()
    assert out["hand_valid"][0].all()
    assert out["hand_samples"].shape == (1, 2, 30, 3, 3)
    assert geometry["hand_rest_joints"].shape == (30, 3) and geometry["rig_lbs_weights"].shape[1] == 54
