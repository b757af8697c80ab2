"""Regression suite on real footage (../shared/data): every photo and the street video, also with
a hard cut and truncated, through `propose-backend estimate` as a user runs it.

Each input gives results or a clear one-line error (never a traceback or "internal error"); where
a run succeeds, the projected joints land on the person (inside the box the track used).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from propose_backend import results
from tests import real_data
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
TIMEOUT_S = 600


def _estimate(tmp_path: Path, source: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / f"{source.stem}.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
           "PROPOSE_MODEL_FILES": str(tmp_path / "no_model_files")}
    done = subprocess.run([sys.executable, "-m", "propose_backend", "estimate", "--input", str(source),
                           "--output", str(out), "--samples", "2", *extra],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    return done, out


def _assert_clear(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr[-2000:]


def _joints_on_the_person(data: dict) -> float:
    """Fraction of valid frames whose projected joints (the 24 body joints) mostly fall inside the
    box the track used (the person box enlarged x1.25)."""
    inside = []
    for t in np.flatnonzero(data["valid"]):
        x, y, w, h = data["bbox"][t]
        joints = data["joints2d"][t, :24]
        hit = (joints[:, 0] >= x) & (joints[:, 0] <= x + w) & (joints[:, 1] >= y) & (joints[:, 1] <= y + h)
        inside.append(hit.mean() >= 0.8)
    return float(np.mean(inside))


@pytest.fixture(scope="module")
def every_photo(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """Every real photo through ONE `propose-backend estimate` call, as a user with a folder of photos
    runs it: the backend starts and loads its models once, not once per photo (the suite's time)."""
    folder = tmp_path_factory.mktemp("photos")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
           "PROPOSE_MODEL_FILES": str(folder / "no_model_files")}
    done = subprocess.run([sys.executable, "-m", "propose_backend", "estimate", "--input",
                           *(str(p) for p in real_data.PHOTOS), "--output", str(folder / "out"), "--samples", "2"],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    return done, folder / "out"


@pytest.mark.parametrize("photo", real_data.PHOTOS or [pytest.param(None, marks=pytest.mark.skip(
    reason="real photos (../shared/data/photos) are absent"))], ids=lambda p: p.stem[-3:] if p else "none")
def test_every_real_photo_gives_results_on_the_person(photo: Path, every_photo) -> None:
    done, out = every_photo
    _assert_clear(done)
    assert not [line for line in done.stderr.splitlines() if photo.name in line and line.startswith("error:")], \
        done.stderr[-2000:]
    data = results.read_results(out / f"{photo.stem}.propose.npz")
    assert data["valid"].all()
    assert _joints_on_the_person(data) == 1.0
    assert data["meta"]["person"]["choice"] == "detector" and len(data["meta"]["person"]["box"]) == 4
    assert done.returncode == 0, done.stderr[-2000:]  # each of these photos shows at least one person


def test_a_photos_hand_the_crop_misses_is_read_as_the_command_line_reads_photos(every_photo) -> None:
    """Photo 395 (a man on the phone) through the command line: BlazePose's left wrist is on his chest,
    far below the hand at his ear, and the photo is read as a still, so the hand landmarker looks over
    the left arm's reach (hands/landmarks.py look_wider) and the results carry that hand on the left."""
    done, out = every_photo
    _assert_clear(done)
    data = results.read_results(out / f"{real_data.photo(395).stem}.propose.npz")
    assert data["hand_valid"][0].tolist() == [True, False]
    wrist = data["hand_landmarks2d"][0, 0, 0]  # by eye on the photo, the wrist is at the jaw
    assert 290 < wrist[0] < 370 and 360 < wrist[1] < 420, wrist


def test_a_hard_cut_is_invalid_frames_at_worst_never_the_end(tmp_path: Path) -> None:
    """The end of the street video straight into its start (a hard cut at row 10)."""
    clip = real_data.write_video(tmp_path / "cut.avi", real_data.street_frames(list(range(195, 205)) + list(range(10))))
    done, out = _estimate(tmp_path, clip)
    _assert_clear(done)
    assert done.returncode == 0, done.stderr[-2000:]
    data = results.read_results(out)
    assert data["frame_index"].tolist() == list(range(20))  # every frame recorded, none lost at the cut
    assert data["valid"][:10].any() and data["valid"][10:].any()
    assert _joints_on_the_person(data) >= 0.9


def test_a_truncated_video_keeps_what_it_has_and_says_so(tmp_path: Path) -> None:
    clip = real_data.truncated_street(tmp_path / "truncated.avi")
    done, out = _estimate(tmp_path, clip)
    _assert_clear(done)
    assert done.returncode == 0 and "truncated" in done.stderr, done.stderr[-2000:]
    data = results.read_results(out)
    assert 1 <= len(data["frame_index"]) < real_data.STREET_FRAMES


def test_the_chosen_person_is_followed_and_recorded(tmp_path: Path) -> None:
    """COCO 241: the detector's own pick is the seated man on the left; person 2 is the standing man."""
    photo = real_data.photo(241)
    listed = subprocess.run([sys.executable, "-m", "propose_backend", "people", "--input", str(photo), "--json"],
                            env={**os.environ, "PYTHONPATH": str(ROOT / "backend")}, capture_output=True,
                            text=True, timeout=TIMEOUT_S)
    assert listed.returncode == 0, listed.stderr[-2000:]
    import json

    people = json.loads(listed.stdout)["people"]
    standing = [p for p in people if p["box"][0] < 240 < p["box"][0] + p["box"][2] and p["box"][3] > 400]
    assert len(people) >= 2 and len(standing) == 1, people
    done, out = _estimate(tmp_path, photo, "--person", str(standing[0]["number"]))
    assert done.returncode == 0, done.stderr[-2000:]
    data = results.read_results(out)
    assert data["meta"]["person"]["number"] == standing[0]["number"]
    pelvis = data["joints2d"][0, 0]
    assert 180 < pelvis[0] < 320 and 250 < pelvis[1] < 450, pelvis  # his hips, in the 480x640 photo
    too_many = _estimate(tmp_path, photo, "--person", "9")[0]
    assert too_many.returncode == 1 and "choose 1 to" in too_many.stderr


def test_a_backend_killed_early_leaves_its_first_frames(tmp_path: Path) -> None:
    out = tmp_path / "street.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
           "PROPOSE_MODEL_FILES": str(tmp_path / "none")}
    process = subprocess.Popen([sys.executable, "-m", "propose_backend", "estimate", "--input",
                                str(real_data.require(real_data.STREET)), "--output", str(out), "--samples", "0"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (results.chunk_dir(out) / "00000.npz").exists() and time.monotonic() < deadline:
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    kept = results.read_results(out)
    assert 1 <= len(kept["frame_index"]) < real_data.STREET_FRAMES and kept["valid"].any()


def test_everyone_in_the_hand_held_street_clip_shares_one_camera_and_world(tmp_path: Path) -> None:
    """The street clip is filmed hand-held: a multi-person run solves its camera once and every
    person's file carries the same world_from_camera on the same frame, and their own fingers."""
    from propose_backend import people_file

    street = real_data.require(real_data.STREET)
    done, out = _estimate(tmp_path, street, "--everyone", "--frames", "0:24")
    _assert_clear(done)
    assert done.returncode == 0, done.stderr[-2000:]
    index = people_file.read_index(people_file.index_path(out))
    people = [results.read_results(p["path"]) for p in index["people"]]
    assert len(people) >= 2
    first = people[0]
    assert first["meta"]["camera"]["still"] is False  # the hand-held camera moved
    for data in people:
        shared, a, b = np.intersect1d(first["frame_index"], data["frame_index"], return_indices=True)
        np.testing.assert_array_equal(first["world_from_camera"][a], data["world_from_camera"][b])
        assert "hand_valid" in data and data["hand_valid"].shape == (len(data["valid"]), 2)
    turned = np.degrees(np.arccos(np.clip((np.trace(np.linalg.inv(first["world_from_camera"][0, :3, :3])
                                                    @ first["world_from_camera"][-1, :3, :3]) - 1) / 2, -1, 1)))
    assert turned > 0.25  # 5.0 degrees over these 24 frames
