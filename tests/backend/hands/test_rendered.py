"""A rendered known hand pose comes back through the whole instant-mode path (BlazePose, the hand
crops, MediaPipe's landmarker, the finger posterior), as the rendered benchmark runs it
(benchmarks/bench_hands_rendered.py; docs/hands.md). The tolerances are the benchmark's figures
for these poses with room: open hands come back at 9-12 deg there, while the landmarker reads fists
towards a middling curl (31 deg), so a fist is held to coming back clearly more curled than an open
hand rather than to its exact angles."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.hands.fingers import HandAnatomy
from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.detect import BlazePoseDetector
from propose_backend.inference.model_files import ModelFiles
from propose_backend.inference.protocol import EstimatorSettings, FrameBatch
from propose_backend.instant.landmark_estimator import KeypointEstimator


@pytest.fixture(scope="module")
def recovered():
    """{pose name: [(true, recovered) finger rotations (15, 3, 3) of each hand read]}, 2 frames each."""
    from bench_hands_rendered import FOCAL, HEIGHT, WIDTH, pose  # benchmark support code (see conftest.py)
    from hand_scene import Scene, render

    hands_rest, _ = anny_body().hand_rest(DEFAULT_PHENOTYPE)
    anatomy = HandAnatomy.from_rest(hands_rest)
    estimator = KeypointEstimator(EstimatorSettings(ModelFiles(None, None, Path("."))))
    estimator.fingers.video = False  # each frame an unrelated still, as the benchmark reads them
    blazepose, scene = BlazePoseDetector(video=False), Scene(WIDTH, HEIGHT, FOCAL)
    camera = ImageCamera(FOCAL, (WIDTH / 2, HEIGHT / 2))
    rng = np.random.default_rng(7)
    out: dict[str, list] = {}
    try:
        for name in ("relaxed", "spread", "fist"):
            for k in range(2):
                body, fingers = pose(rng, anatomy, name)
                image, _ = render(np.concatenate([body, fingers]), 2.0, scene, (120, 150, 170))
                found = blazepose.detect(image)
                assert found, "BlazePose should find the rendered body"
                batch = FrameBatch(frame_index=np.array([k]), boxes=np.array([[WIDTH / 2, HEIGHT / 2, HEIGHT]]),
                                   crops=None, detections=[found[0]], camera=camera, num_samples=2,
                                   image_size=(WIDTH, HEIGHT), images=[image])
                result = estimator.estimate(batch)
                for side in np.flatnonzero(result["hand_valid"][0]):
                    cols = slice(15 * side, 15 * side + 15)
                    out.setdefault(name, []).append((fingers[cols], result["hand_rotmats"][0, cols]))
    finally:
        blazepose.close()
        estimator.close()
    return out


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip((np.einsum("...ij,...ij->...", a, b) - 1) / 2, -1, 1)))


def _curl_deg(local: np.ndarray) -> float:
    """Mean rotation angle of the 15 finger joints away from the straight hand (identity)."""
    return float(_angle_deg(local, np.eye(3)).mean())


def test_rendered_open_hands_are_recovered_within_tolerance(recovered):
    for name in ("relaxed", "spread"):
        assert len(recovered.get(name, [])) >= 3, f"{name}: too few hands read"
        errors = [float(_angle_deg(mine, truth).mean()) for truth, mine in recovered[name]]
        assert np.mean(errors) < 16.0, (name, errors)


def test_a_rendered_fist_comes_back_more_curled_than_an_open_hand(recovered):
    assert len(recovered.get("fist", [])) >= 2
    fist = [_curl_deg(mine) for _, mine in recovered["fist"]]
    open_ = [_curl_deg(mine) for _, mine in recovered["relaxed"] + recovered["spread"]]
    true_fist = [_curl_deg(truth) for truth, _ in recovered["fist"]]
    true_open = [_curl_deg(truth) for truth, _ in recovered["relaxed"] + recovered["spread"]]
    assert min(fist) > max(open_), (fist, open_)
