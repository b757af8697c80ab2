"""Scoring an everyone run against the rendered truth: where two people overlap on the picture joint
by joint, the row's place in depth says whose it is."""
from __future__ import annotations

import numpy as np

from propose_backend import people_file, results
from propose_backend.crowd_clip import identity_report
from propose_backend.geometry import project
from propose_backend.inference.recorder import ResultsRecorder

FOCAL, FRAMES = 800.0, 4
CENTRE = np.array([480.0, 270.0])


def _standing(depth: float) -> np.ndarray:
    """(24, 3) joints of an upright figure 1.7 m tall, pelvis at (0, 0, depth), camera frame."""
    joints = np.zeros((24, 3))
    joints[:, 1] = np.linspace(-0.8, 0.9, 24)  # head up (image y down), feet 0.9 m under the pelvis
    joints[:, 0] = 0.15 * np.sin(np.arange(24))  # limbs either side of the spine
    joints[0] = 0.0
    return joints + (0.0, 0.0, depth)


def _rest(_betas):  # noqa: ANN001 - the body the file carries (not scored here)
    return {"rest_joints": np.zeros((24, 3), np.float32), "rest_vertices": np.zeros((5, 3), np.float32),
            "faces": np.array([[0, 1, 2], [2, 3, 4]], np.int32), "lbs_weights": np.eye(24, dtype=np.float32)[:5]}


def test_a_row_between_two_overlapping_people_goes_to_the_one_at_its_depth(tmp_path):
    near, far = _standing(4.2), _standing(5.0)
    truth = np.stack([np.repeat(near[None], FRAMES, 0), np.repeat(far[None], FRAMES, 0)])  # (2, T, 24, 3)
    boxes = np.zeros((2, FRAMES, 4))
    for k, body in enumerate((near, far)):
        seen = project(body, FOCAL, CENTRE)
        boxes[k] = (*seen.min(axis=0), *np.ptp(seen, axis=0))
    # The track follows the near person (its body sits at 4.25 m) while its 2D points lie on the far
    # person's outline, as where one walks right in front of the other.
    data = results.empty_frames(FRAMES, 2)
    data["frame_index"][:] = np.arange(FRAMES)
    data["valid"][:] = True
    data["transl"][:] = (0.0, 0.0, 4.25)
    data["joints3d"][:, :24] = near - near[0]
    data["joints2d"][:] = project(far, FOCAL, CENTRE)[np.arange(35) % 24]  # the points past the 24 joints are not scored
    data["bbox"][:] = boxes[1, 0]
    data["principal_pt"][:] = CENTRE
    data["focal_px"][:] = FOCAL
    data["rotmats"][:] = np.eye(3)  # the rest pose, fairly sure of it
    data["samples"][:] = np.eye(3)
    data["posterior_F"][:] = 20.0 * np.eye(3)
    data["uncertainty_deg"][:] = 12.0
    path = tmp_path / "walk.person-1.npz"
    recorder = ResultsRecorder(path, {"fps": 30.0, "image_size": (960, 540)}, {"estimator": "keypoints"}, _rest)
    recorder.add(data)
    recorder.flush()
    index = people_file.write_index(tmp_path / "walk.people.json", {"fps": 30.0},
                                    [people_file.describe_person(1, results.read_results(path), path.name)])

    by_depth = identity_report(index, boxes, joints=truth, focal=FOCAL)
    on_picture = identity_report(index, boxes, joints=truth, focal=FOCAL, depth=False)
    assert by_depth["people"][1]["frames_of"] == [FRAMES, 0]
    assert on_picture["people"][1]["frames_of"] == [0, FRAMES]  # the picture alone takes the far one
    assert by_depth["tracked_share"] == [1.0, 0.0]
