"""Choosing the person in the panel, the panel's error box and the run's failure words (no backend)."""
from __future__ import annotations

import json
import sys

import bpy
import pytest

from propose_blender import people, runner
from propose_blender.ui import panel
from propose_blender.operators import run as run_ops
from tests import real_data


def _found(path: str) -> str:
    return json.dumps({"type": "people", "input": path, "frame": 0, "image_size": [480, 640],
                       "people": [{"number": 1, "box": [0, 253, 245, 380], "score": 0.9, "source": "blazepose"},
                                  {"number": 2, "box": [135, 0, 226, 640], "score": 0.7, "source": "blazepose"}]})


def test_the_picked_person_goes_into_the_run_request(blender, tmp_path):
    footage = tmp_path / "party.jpg"
    footage.write_bytes(b"x")
    settings = bpy.context.scene.propose
    settings.input_path = str(footage)
    settings.people_json = _found(str(footage))
    assert people.chosen_person(bpy.context.scene, 0) is None  # nobody picked: the detector picks
    bpy.ops.propose.pick_person(number=2)
    job = run_ops.PROPOSE_OT_run.make_job(_Reporter(), bpy.context)
    # the number the animator picked (the request counts from 0), not its box: the results record it
    assert job.message()["person"] == 1 and "bbox" not in job.message()
    settings.use_frame_range, settings.frame_first = True, 5  # the list was found in frame 1, not 5
    reporter = _Reporter()
    assert run_ops.PROPOSE_OT_run.make_job(reporter, bpy.context) is None and "Find People again" in reporter.said
    settings.use_frame_range = False
    settings.input_path = str(tmp_path / "other.jpg")  # the list belongs to another file now
    assert people.chosen_person(bpy.context.scene, 0) is None


def test_the_footage_settings_go_into_a_request_the_backend_accepts(blender, tmp_path):
    from propose_backend.request import EstimateRequest

    footage = tmp_path / "selfie.mp4"
    footage.write_bytes(b"x")
    settings = bpy.context.scene.propose
    settings.input_path = str(footage)
    settings.detector, settings.mirrored, settings.focal_px = "hog", True, 1400.0
    settings.use_frame_range, settings.frame_first, settings.frame_last = True, 3, 9
    message = run_ops.PROPOSE_OT_run.make_job(_Reporter(), bpy.context).message()
    sent = EstimateRequest.from_json(message)
    assert (sent.detector, sent.mirrored, sent.focal_px, sent.frames, sent.input) == ("hog", True, 1400.0, "2:9:1",
                                                                                      str(footage))
    assert (sent.samples, sent.seed, sent.smooth) == (8, 0, 1.0)  # the preferences' defaults
    settings.focal_px = 0.0  # 0 = from the image diagonal: left to the backend
    assert "focal_px" not in run_ops.PROPOSE_OT_run.make_job(_Reporter(), bpy.context).message()


def test_a_set_but_missing_footage_path_is_named(blender, tmp_path):
    bpy.context.scene.propose.input_path = str(tmp_path / "typo.mp4")
    reporter = _Reporter()
    assert run_ops.PROPOSE_OT_run.make_job(reporter, bpy.context) is None
    assert "typo.mp4 does not exist" in reporter.said and "Pick an image" not in reporter.said


@pytest.mark.slow
def test_find_people_through_the_backend_lists_the_standing_man(blender):
    photo = real_data.photo(241)
    run = people.PeopleRun(sys.executable, photo)
    run.start()
    try:
        import time

        deadline = time.monotonic() + 300
        while not run.done and time.monotonic() < deadline:
            run.step()
            time.sleep(0.05)
    finally:
        run.close()
    assert run.found is not None, run.error
    boxes = [p["box"] for p in run.found["people"]]
    assert any(b[0] < 240 < b[0] + b[2] and b[3] > 400 for b in boxes), boxes


def test_the_error_box_shows_the_whole_cause():
    cause = " ".join(f"word{i}" for i in range(120))  # one long line: six panel lines would cut it
    text = f"{cause}\nBackend log:\n" + "\n".join(f"log line {i}" for i in range(30))
    lines = panel.error_lines(text, width_px=300)
    shown = " ".join(lines)
    assert "word119" in shown and len(lines) > 6
    assert "log line 29" in shown and "log line 10" not in shown  # the log's tail only


def test_a_killed_backend_is_described_in_words():
    assert "signal 9" in runner.describe_exit(-9) and "memory" in runner.describe_exit(-9)
    assert runner.describe_exit(2) == "exit code 2"
    run = runner.EstimateRun("python", runner.estimate_request())
    run.error = "The backend stopped unexpectedly (ended by signal 9) after 51 frames.\nBackend log:\nx"
    assert run.reason == "The backend stopped unexpectedly (ended by signal 9) after 51 frames."


class _Reporter:
    said = ""

    def report(self, _kind, message: str) -> None:
        self.said += message
