"""A body off the image centre is seen along its ray: instant mode turns BlazePose's crop view into the camera's axes."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from propose_backend.geometry import axis_angle_to_matrix

SIZE, FOCAL, DEPTH = (960, 540), 800.0, 4.5


@pytest.fixture(scope="module")
def estimates(tmp_path_factory: pytest.TempPathFactory) -> dict[float, tuple[np.ndarray, ...]]:
    """{sideways offset (m): (true root rotation, estimated root rotation, estimated pelvis position,
    true and estimated root-relative joints (24, 3) in the camera)}: one pose, turned 35° from the
    camera, rendered at the image centre and 1.9 m to either side (rays 23° off the axis)."""
    import smplx

    from propose_backend.body import load_body
    from propose_backend.body.layer import BodyLayer
    from propose_backend.estimators import open_estimator
    from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files
    from propose_backend.render import render_mesh
    from propose_backend.results import read_results

    body, _ = load_body(None)
    layer = BodyLayer(body)
    axis_angle = torch.zeros(24, 3, dtype=torch.float64)
    axis_angle[1], axis_angle[2] = torch.tensor([0.4, 0.0, 0.0]), torch.tensor([-0.3, 0.0, 0.0])  # mid-stride
    axis_angle[16], axis_angle[17] = torch.tensor([0.0, 0.0, -1.1]), torch.tensor([0.0, 0.0, 1.1])
    local = smplx.lbs.batch_rodrigues(axis_angle).numpy()
    # y-up body → camera y-down, then turned 35° about the camera's vertical
    turn = axis_angle_to_matrix(np.array([0.0, np.radians(35.0), 0.0])) @ axis_angle_to_matrix(np.array([np.pi, 0, 0]))
    local[0] = turn
    with torch.no_grad():
        vertices, _, points = layer(torch.zeros(1, 10, dtype=torch.float64), torch.from_numpy(local)[None])
    vertices, joints = vertices[0].numpy(), points[0, :24].numpy() - points[0, :1].numpy()
    folder = tmp_path_factory.mktemp("seen")
    estimator, _ = open_estimator("keypoints", EstimatorSettings(find_model_files()))
    out = {}
    try:
        for offset in (0.0, 1.9, -1.9):
            image = render_mesh(vertices + np.array([offset, 0.0, DEPTH]), body.faces, size=SIZE[::-1], focal=FOCAL)
            path = folder / f"at_{offset:+.1f}.png"
            cv2.imwrite(str(path), image)
            estimate_file(path, folder / f"at_{offset:+.1f}.npz", estimator,
                          EstimateOptions(focal_px=FOCAL, smooth=0.0, samples=0))
            r = read_results(folder / f"at_{offset:+.1f}.npz")
            assert r["valid"][0]
            seen = np.asarray(r["joints3d"][0, :24], np.float64)
            out[offset] = (turn, np.asarray(r["rotmats"][0, 0], np.float64), np.asarray(r["transl"][0], np.float64),
                           joints, seen - seen[:1])
    finally:
        estimator.close()
    return out


def _heading_deg(root: np.ndarray) -> float:
    """Where the body faces, seen from above: its forward axis' angle in the camera's x-z plane."""
    forward = root @ np.array([0.0, 0.0, 1.0])
    return float(np.degrees(np.arctan2(forward[0], forward[2])))


def test_the_same_body_off_centre_keeps_its_heading_in_the_camera(estimates) -> None:
    # the body faces the same way in the camera wherever it stands; BlazePose alone sees it turned by
    # the 23° between the optical axis and its ray (one way on the left, the other on the right)
    truth = _heading_deg(estimates[0.0][0])
    error = {k: (_heading_deg(est) - truth + 180) % 360 - 180 for k, (_, est, *_) in estimates.items()}
    for offset in (1.9, -1.9):
        assert abs(error[offset] - error[0.0]) < 6.0, error
    assert abs(error[1.9] - error[-1.9]) < 6.0, error


def test_the_same_body_off_centre_comes_back_at_the_same_depth(estimates) -> None:
    # the translation is solved with the turned landmarks: seen unturned, the body off-centre is
    # misread (80 and 170 mm nearer than at the centre when this was written); turned, the three
    # depths agree within a few centimetres. What is left is BlazePose's own sense of the body's
    # size (~1.5 % small on this body: the same shortfall everywhere) and the crop's off-axis
    # stretch, which the turn does not undo (docs/instant-mode.md).
    depth = {k: float(transl[2]) for k, (_, _, transl, *_) in estimates.items()}
    assert abs(depth[0.0] - DEPTH) < 0.15, depth
    for offset in (1.9, -1.9):
        assert abs(depth[offset] - depth[0.0]) < 0.05, depth


def test_the_legs_depth_is_held_to_the_picture(estimates) -> None:
    # BlazePose's world landmarks guess the legs' depth; its image landmarks and the bones' lengths
    # bound it (instant/foreshortening.py). Knees and ankles, root-relative depth error against
    # the rendered truth, mean over the three copies: 110 / 106 / 69 mm when this was written,
    # 125 / 134 / 69 mm (109 mean) with BlazePose's depth as it comes.
    legs = [4, 5, 7, 8]
    error = [np.abs(est[legs, 2] - true[legs, 2]).mean() for *_, true, est in estimates.values()]
    assert np.mean(error) < 0.100, np.round(np.array(error) * 1000)
