"""Rows of an everyone run where a person stood mostly behind someone nearer become rows they were
not seen on; a person beside another, or in front, or only partly covered keeps every row."""
from __future__ import annotations

import numpy as np

from propose_backend import results
from propose_backend.inference.crop import CropBox
from propose_backend.inference.detect import POINT_BOX_MARGIN
from propose_backend.inference.occlusion import HIDDEN_SHARE, covered_share, hide_covered, place
from propose_backend.skeleton import NUM_POINTS

FRAMES = 6


def _figure(cx: float, depth: float, focal: float = 800.0, stature: float = 1.7) -> np.ndarray:
    """(35, 2) points of a standing figure `stature` m tall at `depth` m, centred at x = cx."""
    height = focal * stature / depth
    ys = np.linspace(270 - height / 2, 270 + height / 2, NUM_POINTS)
    xs = cx + 0.12 * height * np.sin(np.arange(NUM_POINTS))  # arms and legs either side of the spine
    return np.stack([xs, ys], axis=1)


def _person(xs: list[float], depth: float) -> dict[str, np.ndarray]:
    """A person's results rows (camera frame, as an everyone run's tracks hold them) at x = xs per frame."""
    data = results.empty_frames(len(xs), 2, hands=True)
    data["frame_index"][:] = np.arange(len(xs))
    data["valid"][:] = True
    data["hand_valid"][:] = True
    data["identity_confidence"] = np.full(len(xs), 0.9, np.float32)
    data["focal_px"][:] = 800.0
    data["transl"][:] = (0.0, 0.0, depth)
    for name in ("rotmats", "samples", "hand_rotmats"):  # a pose (the rest pose) on every frame
        data[name][:] = np.eye(3)
    data["posterior_F"][:] = 20.0 * np.eye(3)  # fairly sure of it
    data["uncertainty_deg"][:] = 12.0
    for t, x in enumerate(xs):
        points = _figure(x, depth)
        data["joints2d"][t] = points
        data["bbox"][t] = CropBox.around(*points.min(axis=0), *np.ptp(points, axis=0)).xywh()
    return data


def test_the_place_a_person_fills_is_their_crop_less_its_margin():
    x, y, w, h = place(np.array([100.0, 50.0, 250.0, 250.0]))
    assert (h, w) == (200.0, 80.0) and (x + w / 2, y + h / 2) == (225.0, 175.0)
    corners = np.array([[150.0, 60.0], [300.0, 300.0]])  # a nearer body round the whole place
    assert covered_share((x, y, w, h), [corners]) == 1.0
    pad = POINT_BOX_MARGIN * 240.0  # a body's box is padded round its points (detect.box_from_points)
    assert covered_share((x, y, w, h), [corners + (75.0 + pad, 0.0)]) == 0.5  # its box's left edge at the middle
    assert covered_share((x, y, w, h), [corners + (600.0, 0.0), corners]) == 1.0  # the most any one covers
    assert covered_share((x, y, w, h), [_figure(900.0, 5.0)]) == 0.0


def test_only_rows_mostly_behind_someone_nearer_become_unseen():
    front = _person([480.0] * FRAMES, 5.0)
    # the one behind walks across: clear, partly behind, wholly behind (twice), partly, clear
    behind = _person([300.0, 430.0, 480.0, 490.0, 540.0, 700.0], 7.0)
    beside = _person([470.0] * FRAMES, 5.1)  # about as far as the front one: side by side, nobody behind
    kept_front = {name: np.copy(value) for name, value in front.items()}
    people = hide_covered({1: front, 2: behind, 3: beside})
    assert people[2] is behind
    assert behind["valid"].tolist() == [True, True, False, False, True, True]
    assert covered_share(place(behind["bbox"][1]), [front["joints2d"][1]]) <= HIDDEN_SHARE  # partly: kept
    hidden = ~behind["valid"]
    assert not behind["hand_valid"][hidden].any() and np.all(behind["identity_confidence"][hidden] == 0)
    assert np.all(behind["rotmats"][hidden] == 0) and np.all(behind["joints2d"][hidden] == 0)  # as a frame unseen
    assert behind["frame_index"].tolist() == list(range(FRAMES))  # every frame keeps its place and camera
    assert np.all(behind["focal_px"] == 800.0)
    assert np.all(behind["identity_confidence"][~hidden] == np.float32(0.9))
    assert beside["valid"].all()  # the front body does not hide someone at about its own distance
    for name, value in kept_front.items():  # nobody hides the nearest one
        np.testing.assert_array_equal(front[name], value)


def test_a_person_alone_or_with_someone_farther_keeps_every_row():
    alone = _person([480.0] * FRAMES, 5.0)
    assert hide_covered({1: alone})[1]["valid"].all()
    farther = _person([480.0] * (FRAMES - 1) + [900.0], 9.0)  # behind, then clear on the last frame
    near = _person([480.0] * FRAMES, 5.0)
    hide_covered({1: near, 2: farther})
    assert near["valid"].all() and farther["valid"].tolist() == [False] * (FRAMES - 1) + [True]


def test_a_person_behind_someone_on_every_frame_they_were_seen_keeps_their_rows():
    """Nothing to bridge from (a photo's one row, or a track wholly behind): the rows stay as read."""
    for frames in (1, FRAMES):
        behind, front = _person([480.0] * frames, 9.0), _person([480.0] * frames, 5.0)
        hide_covered({1: front, 2: behind})
        assert behind["valid"].all() and np.all(behind["identity_confidence"] == np.float32(0.9))


def test_an_everyone_runs_people_files_leave_out_the_rows_hidden_behind_someone(tmp_path):
    """Through the run's own writing of the people (here a recovery of a killed run's track chunks,
    which numbers and writes them as a finished run does, unsmoothed)."""
    from propose_backend import people_file
    from propose_backend.inference.everyone import recover_people
    from propose_backend.inference.recorder import ResultsRecorder

    def rest(_betas):  # noqa: ANN001 - the body a track's chunks carry
        return {"rest_joints": np.zeros((24, 3), np.float32), "rest_vertices": np.zeros((5, 3), np.float32),
                "faces": np.array([[0, 1, 2], [2, 3, 4]], np.int32), "lbs_weights": np.eye(24, dtype=np.float32)[:5]}

    out = tmp_path / "walk.npz"
    frames = 10  # a track needs 8 frames with its person to be kept (everyone.MIN_TRACK_FRAMES)
    tracks = {1: _person([480.0] * frames, 5.0), 2: _person([300.0, 430.0, 480.0, 490.0] + [700.0] * 6, 7.0)}
    for track, data in tracks.items():
        data["joints3d"][:, :, 1] = np.linspace(-0.9, 0.8, 35)  # upright: feet 0.9 m under the pelvis
        recorder = ResultsRecorder(people_file.track_path(out, track), {"fps": 30.0, "image_size": (960, 540)},
                                   {"estimator": "keypoints", "person": {"choice": "everyone", "track": track}}, rest)
        recorder.add(data)
        recorder.flush()
    index = people_file.read_index(recover_people(out))
    files = [results.read_results(p["path"]) for p in index["people"]]
    # numbered left to right on the first frame: person 1 is the one walking behind
    assert [f["valid"].tolist() for f in files] == [[True, True, False, False] + [True] * 6, [True] * frames]
    assert [p["valid_frames"] for p in index["people"]] == [frames - 2, frames]
