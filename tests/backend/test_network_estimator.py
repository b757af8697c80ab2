"""The network estimator (random weights: no released checkpoint here) on a real photo."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from propose_backend import geometry
from propose_backend.inference.crop import CropBox, ImageCamera, cut
from propose_backend.inference.detect import BlazePoseDetector
from propose_backend.inference.model_files import ModelFiles
from propose_backend.inference.protocol import EstimatorSettings, FrameBatch
from propose_backend.temporal import so3

from tests.real_data import photo


@pytest.mark.slow
def test_mirrored_footage_gives_the_body_reflected_in_depth_with_the_persons_sides():
    """--mirrored in network mode: the same photo read with and without it (same weights, same seed)
    gives the plain body reflected in depth with left and right swapped: pose, ghosts, posterior and
    the per-bone uncertainty follow their side, the hands too, and the overlay stays on the footage.
    Before, --mirrored left the network's body as it was (the person's right hand on the rig's left)."""
    from propose_backend.network_estimator import load_propose_estimator

    image = cv2.imread(str(photo(459)))  # a person holding a camera, one hand seen
    h, w = image.shape[:2]
    found = BlazePoseDetector(video=False).detect(image)
    box = CropBox.around(*found[0].box)
    camera = ImageCamera.for_image(w, h)
    torch.manual_seed(0)  # the random weights: the same network whatever ran before
    estimator = load_propose_estimator(EstimatorSettings(ModelFiles(None, None, Path("."))))
    runs = {}
    try:
        for mirrored in (False, True):
            estimator.reseed()
            runs[mirrored] = estimator.estimate(FrameBatch(
                frame_index=np.array([0]), boxes=np.array([[box.cx, box.cy, box.side]]), crops=cut(image, box)[None],
                detections=found[:1], camera=camera, num_samples=3, image_size=(w, h), images=[image],
                mirrored=mirrored))
    finally:
        estimator.close()
    plain, mirrored = runs[False], runs[True]
    swap24, swap35 = geometry.side_swap(24), geometry.side_swap(35)

    def apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return so3.angle_deg(a.astype(np.float64), b.astype(np.float64))

    assert apart(plain["rotmats"], mirrored["rotmats"]).max() > 5.0  # mirrored footage changes the body
    assert apart(geometry.reflect_local_rotations(plain["rotmats"]), mirrored["rotmats"]).max() < 0.01
    assert apart(geometry.reflect_local_rotations(plain["samples"]), mirrored["samples"]).max() < 0.01
    np.testing.assert_allclose(mirrored["posterior_F"], geometry.reflect_posterior(plain["posterior_F"]), atol=1e-3)
    np.testing.assert_allclose(mirrored["uncertainty_deg"], plain["uncertainty_deg"][:, swap24], atol=1e-3)
    np.testing.assert_allclose(mirrored["sample_log_density"], plain["sample_log_density"], atol=1e-3)
    np.testing.assert_allclose(mirrored["joints3d"], geometry.reflect_points(plain["joints3d"]), atol=1e-5)
    np.testing.assert_array_equal(mirrored["betas"], plain["betas"])
    # the overlay: the pelvis keeps its pixel and every point its place across the view (the same
    # metric x, y at its own depth); only the depth-dependent perspective differs
    np.testing.assert_array_equal(mirrored["transl"], plain["transl"])
    np.testing.assert_allclose(mirrored["joints2d"][:, 0], plain["joints2d"][:, 0], atol=1e-3)
    depth = lambda run: (run["joints3d"] + run["transl"][:, None])[..., 2:]  # noqa: E731
    centre = np.asarray(camera.principal_pt)
    np.testing.assert_allclose((mirrored["joints2d"] - centre) * depth(mirrored),
                               ((plain["joints2d"] - centre) * depth(plain))[:, swap35], rtol=1e-4, atol=1e-2)
    # the hand seen goes to the person's side and its fingers are the reflection of the plain run's
    assert plain["hand_valid"].any()
    np.testing.assert_array_equal(mirrored["hand_valid"], plain["hand_valid"][:, ::-1])
    sides = np.r_[15:30, 0:15]
    reflected_fingers = geometry.SIDE_REFLECTION @ plain["hand_rotmats"][:, sides] @ geometry.SIDE_REFLECTION
    seen = np.repeat(mirrored["hand_valid"], 15, axis=1)
    assert apart(reflected_fingers, mirrored["hand_rotmats"])[seen].max() < 1.0
