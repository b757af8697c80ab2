"""The multi-person layout: clip index, segments of one identity confidence, merging and splitting people."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propose_backend import people_file, results
from propose_backend.request import EstimateRequest, RequestError


def _person(frames: list[int], valid: list[bool], confidence: list[float], number: int) -> dict:
    data = results.empty_frames(len(frames), 1)
    data["frame_index"][:] = frames
    data["valid"][:] = valid
    data["transl"][:] = np.array(frames)[:, None]  # tells the rows apart after a merge
    data["rotmats"][:], data["samples"][:] = np.eye(3), np.eye(3)  # a person standing in the rest pose
    data["posterior_F"][:], data["uncertainty_deg"][:] = 10 * np.eye(3), 20.0  # fairly sure of it
    data["focal_px"][:], data["bbox"][:] = 1000.0, (10.0, 20.0, 200.0, 200.0)
    data.update(schema_version=results.SCHEMA_VERSION, fps=25.0, image_size=(640, 480),
                rest_joints=np.zeros((24, 3)), rest_vertices=np.zeros((10, 3)), faces=np.zeros((4, 3)),
                lbs_weights=np.eye(24)[np.zeros(10, int)], meta={}, person=number,
                identity_confidence=np.where(valid, confidence, 0.0))
    return data


def test_paths_and_segments():
    assert people_file.index_path("/x/clip.npz") == Path("/x/clip.people.json")
    assert people_file.person_path("/x/clip.npz", 3) == Path("/x/clip.person-3.npz")
    segments = people_file.segments(np.arange(7), np.array([1, 1, 0, 1, 1, 1, 1], bool),
                                    np.array([1, 1, 0, 0.4, 0.4, 0.9, 0.9]))
    assert [(s["first"], s["last"], s["identity_confidence"]) for s in segments] == \
        [(0, 1, 1.0), (3, 4, 0.4), (5, 6, 0.9)]


def test_index_round_trip_and_picking_people(tmp_path):
    people = []
    for number in (1, 2, 3):
        data = _person([0, 1, 2], [True] * 3, [1.0] * 3, number)
        path = results.write_results(people_file.person_path(tmp_path / "c.npz", number), data)
        people.append(people_file.describe_person(number, data, path.name))
    index = people_file.read_index(people_file.write_index(people_file.index_path(tmp_path / "c.npz"),
                                                           {"source": "c.mp4"}, people))
    assert Path(index["people"][1]["path"]).is_file() and index["people"][1]["first_frame"] == 0
    assert [p["number"] for p in people_file.pick(index, "1,3")] == [1, 3]
    assert len(people_file.pick(index, "all")) == 3
    with pytest.raises(people_file.PeopleFileError, match="person 5 is not in this clip; it has 1, 2, 3"):
        people_file.pick(index, "5")
    with pytest.raises(ValueError, match="not 'all' or person numbers"):
        people_file.parse_numbers("one")
    (tmp_path / "bad.people.json").write_text("{}")
    with pytest.raises(people_file.PeopleFileError, match="lists no people"):
        people_file.read_index(tmp_path / "bad.people.json")


def test_merge_takes_the_surer_row_and_split_cuts_at_a_frame():
    a = _person([0, 1, 2, 3], [True, True, False, True], [1.0, 1.0, 0.0, 0.3], 1)
    b = _person([2, 3, 4, 5], [True, True, True, True], [0.8, 0.9, 0.9, 0.9], 2)
    merged = people_file.merge_people(a, b, results)
    results.validate(merged)
    np.testing.assert_array_equal(merged["frame_index"], np.arange(6))
    assert merged["valid"].all()
    # frame 2: only b has the person; frame 3: b's row is surer (0.9 against 0.3)
    np.testing.assert_allclose(merged["identity_confidence"], [1.0, 1.0, 0.8, 0.9, 0.9, 0.9])
    first, second = people_file.split_person(merged, 3, results)
    np.testing.assert_array_equal(first["frame_index"], [0, 1, 2])
    np.testing.assert_array_equal(second["frame_index"], [3, 4, 5])
    results.validate(first), results.validate(second)
    with pytest.raises(people_file.PeopleFileError, match="leaves one side without"):
        people_file.split_person(merged, 0, results)


def test_everyone_and_a_chosen_person_exclude_each_other():
    assert EstimateRequest(input="a.mp4", everyone=True).validate().everyone
    with pytest.raises(RequestError, match="both choose whom to follow"):
        EstimateRequest(input="a.mp4", everyone=True, person=1).validate()
    assert EstimateRequest.from_json({"input": "a", "output": "b", "everyone": True}).everyone
