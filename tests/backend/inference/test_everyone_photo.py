"""Following everyone on a photo: each person found is one track of one frame, written as a clip's
people are; a photo with nobody is the clear "no person" error; a clip still drops short tracks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from propose_backend import people_file, results
from propose_backend.inference import EstimateOptions, InferenceError, estimate_file
from propose_backend.inference.detect import box_from_points
from propose_backend.inference.everyone import MIN_TRACK_FRAMES, min_track_frames, recover_people
from propose_backend.inference.people import people_in_file
from propose_backend.inference.recorder import ResultsRecorder
from tests.real_data import photo

OPTIONS = dict(smooth=0.0, samples=2, everyone=True)


def test_a_group_photo_gives_one_file_per_person(instant, tmp_path):
    """Photo 328: three cadets side by side on a bench (the middle one inside both neighbours'
    crops; the right one's crop reads the middle one first, then him with the middle one painted)."""
    image = photo(328)
    summary = estimate_file(image, tmp_path / "bench.npz", instant, EstimateOptions(**OPTIONS))
    assert summary.output == tmp_path / "bench.people.json"
    index = json.loads(summary.output.read_text())
    assert [p["number"] for p in index["people"]] == [1, 2, 3] and index["frames"] == 1
    found = people_in_file(str(image)).people  # what `propose-backend people` lists, left to right
    assert len(found) == 3
    centres = []
    for entry, detection in zip(index["people"], found):
        assert (entry["first_frame"], entry["last_frame"], entry["valid_frames"]) == (0, 0, 1)
        data = results.read_results(tmp_path / entry["file"])
        assert int(data["schema_version"]) == results.SCHEMA_VERSION and int(data["person"]) == entry["number"]
        assert data["valid"].tolist() == [True] and data["frame_index"].tolist() == [0]
        assert np.isfinite(data["rotmats"]).all() and np.isfinite(data["transl"]).all()
        assert data["hand_rotmats"].shape == (1, 30, 3, 3) and data["hand_valid"][0].any()  # fingers, as alone
        x, y, w, h = box_from_points(data["joints2d"][0][:24])  # the body estimated ...
        cx, cy = x + w / 2, y + h / 2
        dx, dy, dw, dh = detection.box  # ... lies on the person the search found, in the same order
        assert dx <= cx <= dx + dw and dy <= cy <= dy + dh
        centres.append(cx)
    assert np.all(np.diff(centres) > 80)  # three bodies, not one read thrice


def test_a_photo_with_nobody_is_the_no_person_error(instant, grey_image, tmp_path):
    with pytest.raises(InferenceError) as error:
        estimate_file(grey_image, tmp_path / "empty.npz", instant, EstimateOptions(**OPTIONS))
    assert error.value.kind == "no_person" and "No person was found in the image" in str(error.value)
    assert not list(tmp_path.glob("empty.*"))  # no index, no person files, no track chunks left


def test_a_clip_still_needs_min_track_frames_and_a_shorter_clip_its_own_length(tmp_path):
    assert MIN_TRACK_FRAMES == 8  # frames of a clip a track must hold (a photo: its one frame)
    assert [min_track_frames(n) for n in (1, 3, 8, 200, None)] == [1, 3, 8, 8, 8]

    def rest(_betas):  # noqa: ANN001 - the body a track's chunks carry
        return {"rest_joints": np.zeros((24, 3), np.float32), "rest_vertices": np.zeros((5, 3), np.float32),
                "faces": np.array([[0, 1, 2], [2, 3, 4]], np.int32), "lbs_weights": np.eye(24, dtype=np.float32)[:5]}

    out = tmp_path / "clip.npz"
    for track, frames in ((1, 12), (2, 3)):  # someone followed through the clip, a three-frame flicker
        data = results.empty_frames(frames, 2, hands=True)
        data["frame_index"][:] = np.arange(frames)
        data["valid"][:] = True
        for name in ("rotmats", "samples", "hand_rotmats"):  # a pose (the rest pose) on every frame
            data[name][:] = np.eye(3)
        data["posterior_F"][:] = 20.0 * np.eye(3)
        data["uncertainty_deg"][:] = 12.0
        data["focal_px"][:] = 800.0
        data["transl"][:] = (0.5 * track, 0.0, 5.0)
        data["joints2d"][:] = np.linspace(100.0 * track, 100.0 * track + 60.0, 35)[:, None]
        data["bbox"][:] = (100.0 * track, 100.0, 80.0, 80.0)
        recorder = ResultsRecorder(people_file.track_path(out, track), {"fps": 30.0, "image_size": (960, 540)},
                                   {"estimator": "keypoints", "person": {"choice": "everyone", "track": track}}, rest)
        recorder.add(data)
        recorder.flush()
    index = people_file.read_index(recover_people(out))  # a run's own writing of the people, unsmoothed
    assert [p["valid_frames"] for p in index["people"]] == [12]  # the flicker is left out
