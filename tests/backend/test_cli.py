"""The command line as a user meets it: one clear line per problem, files for what worked."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend import results
from propose_backend.demo_clip import write_demo_clip
from propose_backend.body import demo_body, load_body_model, save_plain_pkl

ROOT = Path(__file__).resolve().parents[2]


def _env(model_files: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
            "PROPOSE_MODEL_FILES": str(model_files), "OMP_NUM_THREADS": "2"}


def _cli(args: list[str], model_files: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "propose_backend", *args], env=_env(model_files),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def no_model_files(tmp_path: Path) -> Path:
    folder = tmp_path / "model_files"
    folder.mkdir()
    return folder


def test_help_lists_the_commands(no_model_files: Path) -> None:
    run = _cli(["--help"], no_model_files)
    assert run.returncode == 0
    for command in ("estimate", "serve", "convert-body", "bench", "recover"):
        assert command in run.stdout


def test_missing_checkpoint_names_file_folder_and_remedy(no_model_files: Path, tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    run = _cli(["estimate", "--input", str(image), "--estimator", "propose"], no_model_files)
    assert run.returncode == 1
    assert "propose_hr48_xyz.pth" in run.stderr and str(no_model_files) in run.stderr
    assert "--allow-random-weights" in run.stderr and "Traceback" not in run.stderr
    run = _cli(["estimate", "--input", str(image), "--checkpoint", str(tmp_path / "gone.pth")], no_model_files)
    assert run.returncode == 1 and "gone.pth does not exist" in run.stderr and "Traceback" not in run.stderr
    run = _cli(["--debug", "estimate", "--input", str(image), "--estimator", "propose"], no_model_files)
    assert "Traceback" in run.stderr  # only when asked for


@pytest.mark.slow
def test_folder_of_good_and_bad_footage(no_model_files: Path, tmp_path: Path) -> None:
    """One call, one folder: each bad file gets its own clear line, the good ones get results files."""
    folder = tmp_path / "footage"
    folder.mkdir()
    clip = write_demo_clip(folder / "walk.mp4", 3, size=(320, 240))
    capture = cv2.VideoCapture(str(clip))
    cv2.imwrite(str(folder / "person.png"), capture.read()[1])
    capture.release()
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (folder / "empty.jpg").write_bytes(b"")
    cv2.imwrite(str(folder / "dot.png"), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(folder / "grey.png"), np.full((240, 320, 3), 128, np.uint8))
    out = tmp_path / "out"
    run = _cli(["estimate", "--input", str(folder), "--output", str(out), "--estimator", "propose",
                "--allow-random-weights", "--samples", "2", "--device", "cpu"], no_model_files)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 4
    assert "RANDOMLY INITIALISED" in run.stderr
    errors = {name: line for line in run.stderr.splitlines() if line.startswith("error:")
              for name in ("broken.mp4", "empty.jpg", "dot.png", "grey.png") if name in line}
    assert set(errors) == {"broken.mp4", "empty.jpg", "dot.png", "grey.png"}, run.stderr
    assert "empty file" in errors["empty.jpg"] and "1x1 pixels" in errors["dot.png"]
    assert "No person" in errors["grey.png"]
    assert "cannot be opened" in errors["broken.mp4"] or "no frame could be decoded" in errors["broken.mp4"]
    assert sorted(p.name for p in out.iterdir()) == ["person.propose.npz", "propose-batch-summary.json",
                                                     "propose-batch.json", "walk.propose.npz"]
    walk = results.read_results(out / "walk.propose.npz")
    assert walk["frame_index"].tolist() == [0, 1, 2] and walk["samples"].shape[1] == 2
    assert results.read_results(out / "person.propose.npz")["valid"].tolist() == [True]


@pytest.mark.slow
def test_killed_run_keeps_its_finished_chunks(no_model_files: Path, tmp_path: Path) -> None:
    clip = write_demo_clip(tmp_path / "long.mp4", 40, size=(160, 120))
    out = tmp_path / "long.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "propose_backend", "estimate", "--input", str(clip), "--output", str(out),
         "--estimator", "propose", "--allow-random-weights", "--samples", "1", "--chunk-frames", "2",
         "--device", "cpu"],
        env=_env(no_model_files), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_chunk = results.chunk_dir(out) / "00000.npz"
    try:
        deadline = time.monotonic() + 180
        while not first_chunk.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first_chunk.exists(), "no chunk was written"
        assert process.poll() is None, "the run finished before it could be killed; make the clip longer"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert not out.exists()
    kept = results.read_results(out)
    done = len(kept["frame_index"])
    assert 1 <= done < 40  # the first batch (one frame on CPU) is on disk at once
    assert kept["frame_index"].tolist() == list(range(done))
    assert kept["meta"]["estimator"] == "propose"


def test_convert_body(no_model_files: Path, tmp_path: Path) -> None:
    body = demo_body()
    pkl = save_plain_pkl(body, tmp_path / "SMPL_NEUTRAL.pkl")
    run = _cli(["convert-body", str(pkl), str(tmp_path / "SMPL_NEUTRAL.npz")], no_model_files)
    assert run.returncode == 0, run.stderr
    converted = load_body_model(tmp_path / "SMPL_NEUTRAL.npz")
    np.testing.assert_array_equal(converted.v_template, body.v_template)
    np.testing.assert_array_equal(converted.faces, body.faces)
    run = _cli(["convert-body", str(tmp_path / "nope.pkl"), str(tmp_path / "x.npz")], no_model_files)
    assert run.returncode == 1 and "nope.pkl" in run.stderr and "Traceback" not in run.stderr


def test_recover_without_a_killed_run_says_so(no_model_files: Path, tmp_path: Path) -> None:
    """Nothing left by a killed everyone run: one line naming the output, nothing written."""
    run = _cli(["recover", str(tmp_path / "clip.npz")], no_model_files, timeout=60)
    assert run.returncode == 1 and "clip.npz" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "clip.people.json").exists()


def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit status 2 and argparse's one line, before anything is loaded."""
    from propose_backend import cli

    for extra, words in [(["--frames", "10:5"], "selects no frames"), (["--frames", "a:b"], "whole numbers"),
                         (["--focal-px", "0"], "above 0"), (["--focal-px", "nan"], "above 0"),
                         (["--bbox", "nan,0,10,10"], "finite")]:
        with pytest.raises(SystemExit) as exited:
            cli.main(["estimate", "--input", "clip.mp4", *extra])
        assert exited.value.code == 2, extra
        assert words in capsys.readouterr().err, extra


def test_estimate_restores_the_interrupt_handler(monkeypatch, tmp_path: Path) -> None:
    """main() called from Python must not leave its Ctrl-C handler (bound to a finished run) behind."""
    from propose_backend import cli
    from propose_backend.batch import runner

    summary = {"random_weights": False, "clips": {"failed": 0, "pending": 0}}
    monkeypatch.setattr(runner, "run_batch", lambda *args, **kwargs: summary)
    before = signal.getsignal(signal.SIGINT)
    assert cli.main(["estimate", "--input", str(tmp_path / "a.png"), "--device", "cpu"]) == 0
    assert signal.getsignal(signal.SIGINT) is before
