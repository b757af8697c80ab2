"""Instant mode through the real command line: estimator choice, its record, and a real photo."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend.results import read_results

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def _estimate(tmp_path: Path, image: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "backend"), PROPOSE_MODEL_FILES=str(tmp_path / "no_model_files"))
    return subprocess.run([sys.executable, "-m", "propose_backend", "estimate", "--input", str(image),
                           "--output", str(tmp_path / "out.npz"), "--device", "cpu", *extra],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory: pytest.TempPathFactory, photo: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """The photo through `estimate` with no model files and no --estimator (auto): one run, read by
    the instant-mode test and, as the plain run, by the mirrored test (the suite's time)."""
    folder = tmp_path_factory.mktemp("auto")
    done = _estimate(folder, photo, "--samples", "4")
    return done, (read_results(folder / "out.npz") if done.returncode == 0 else {})


def test_auto_without_model_files_runs_instant_mode_on_a_real_photo(auto_run) -> None:
    done, r = auto_run
    assert done.returncode == 0, done.stderr
    assert r["meta"]["estimator"] == "keypoints" and "BlazePose" in r["meta"]["weights"]
    assert r["valid"].tolist() == [True] and r["samples"].shape == (1, 4, 24, 3, 3)
    unc = r["uncertainty_deg"][0]
    # her legs are out of frame: knees and ankles read clearly less certain than head and chest
    assert min(unc[[4, 5, 7, 8]]) > max(unc[[9, 15]]) + 15
    # the camera solve puts the posed nose on her nose (BlazePose's landmark is at about (223, 128))
    nose = r["joints2d"][0, 24]
    assert np.linalg.norm(nose - (223, 128)) < 40, nose
    assert np.all(np.diff(r["sample_log_density"][0]) <= 1e-5)  # densest first


def test_the_estimator_is_chosen_and_recorded(tmp_path: Path, photo: Path) -> None:
    done = _estimate(tmp_path, photo, "--estimator", "propose", "--samples", "0", "--allow-random-weights")
    assert done.returncode == 0, done.stderr
    assert read_results(tmp_path / "out.npz")["meta"]["estimator"] == "propose"
    assert "RANDOMLY INITIALISED" in done.stderr
    # without --allow-random-weights the missing checkpoint is a clear error: test_cli.py's
    # test_missing_checkpoint_names_file_folder_and_remedy runs that command and checks more of its message


def test_no_person_in_a_blank_image(tmp_path: Path) -> None:
    blank = tmp_path / "grey.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 128, np.uint8))
    done = _estimate(tmp_path, blank, "--estimator", "keypoints")
    assert done.returncode != 0 and "person" in done.stderr.lower() and "Traceback" not in done.stderr


def test_mirrored_footage_gives_the_real_scene(tmp_path: Path, photo: Path, auto_run) -> None:
    """A selfie (the photo flipped) read with --mirrored gives a file of the real scene: the meta
    says so (the add-on flips the footage back), and the overlay and the person's box lie on the
    un-mirrored photo, each joint with its own label, as a plain run on the photo puts them."""
    done, plain = auto_run  # the plain run (ghosts are drawn after the pose: they move no joint or box)
    assert done.returncode == 0, done.stderr
    flipped = tmp_path / "selfie.png"
    cv2.imwrite(str(flipped), cv2.imread(str(photo))[:, ::-1])
    done = _estimate(tmp_path, flipped, "--samples", "0", "--mirrored")
    assert done.returncode == 0, done.stderr
    mirrored = read_results(tmp_path / "out.npz")
    assert mirrored["meta"]["mirrored"] is True and "mirrored" not in plain["meta"]
    for joint in (1, 2, 16, 17):  # hips and shoulders: her left where the photo shows it
        assert np.linalg.norm(mirrored["joints2d"][0, joint] - plain["joints2d"][0, joint]) < 25, joint
    np.testing.assert_allclose(mirrored["bbox"][0], plain["bbox"][0], atol=0.05 * plain["bbox"][0, 2])  # the crop square
    done = _estimate(tmp_path, flipped, "--samples", "0")  # not told: the selfie as it is
    unaware = read_results(tmp_path / "out.npz")
    assert abs(unaware["joints2d"][0, 16, 0] - mirrored["joints2d"][0, 16, 0]) > 50  # 98 px: the selfie's


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts the process's threads on Linux")
def test_closing_the_estimator_releases_its_blazepose_threads(tmp_path: Path, photo: Path) -> None:
    """A long-lived service replaces estimators; each MediaPipe graph left open keeps its threads."""
    from propose_backend.inference import EstimatorSettings, FrameBatch, ModelFiles
    from propose_backend.inference.crop import CropBox, ImageCamera, cut
    from propose_backend.instant import create_estimator

    image = cv2.imread(str(photo))
    height, width = image.shape[:2]
    box = CropBox(width / 2, height / 2, max(width, height))
    batch = FrameBatch(frame_index=np.array([0]), boxes=np.array([(box.cx, box.cy, box.side)]),
                       crops=cut(image, box)[None], detections=[None],  # no landmarks: BlazePose on the crop
                       camera=ImageCamera.for_image(width, height), num_samples=0, image_size=(width, height))

    def cycle() -> None:
        estimator = create_estimator(EstimatorSettings(ModelFiles(None, None, tmp_path)))
        assert estimator.estimate(batch)["valid"].tolist() == [True]
        estimator.close()

    cycle()  # the first run starts thread pools that stay (torch, OpenCV)
    before = len(os.listdir("/proc/self/task"))
    cycle()
    cycle()
    gc.collect()
    assert len(os.listdir("/proc/self/task")) <= before


def test_each_input_draws_the_same_samples_whatever_ran_before(tmp_path: Path, photo: Path) -> None:
    copy = tmp_path / "again.png"
    copy.write_bytes(photo.read_bytes())
    env = dict(os.environ, PYTHONPATH=str(ROOT / "backend"), PROPOSE_MODEL_FILES=str(tmp_path / "none"))
    done = subprocess.run([sys.executable, "-m", "propose_backend", "estimate", "--input", str(photo), str(copy),
                           "--output", str(tmp_path / "out"), "--device", "cpu", "--samples", "3"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    first, second = (read_results(p)["samples"] for p in sorted((tmp_path / "out").glob("*.npz")))
    np.testing.assert_array_equal(first, second)
