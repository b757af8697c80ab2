"""Through the real backend process (CPU, demo body, random weights): batch, operator, check, crash.

These need `python -m propose_backend serve|estimate` and skip until the backend has them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import bpy
import pytest

from propose_backend.results import chunk_dir
from propose_blender import backend_env, ghosts, importer, rig as rig_module, runner

from addon_testing import (EXTENSION_MODULE, ROOT, backend_python_env, clip_bbox,
                           write_clip)

pytestmark = pytest.mark.slow
CLIP_FRAMES = 4
TIMEOUT_S = 300


def _wait_for(condition, what: str, poll=None) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if poll is not None:
            poll()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_check_backend_reports_what_it_found(blender):
    check = backend_env.CheckRun(sys.executable, "")
    check.start()
    deadline = time.monotonic() + TIMEOUT_S
    while not check.done and time.monotonic() < deadline:
        check.step()
        time.sleep(0.05)
    assert check.state == runner.FINISHED, check.error
    assert "torch" in check.report[0] and check.report[2].startswith("Checkpoint: not found")


def test_headless_batch_on_a_generated_clip(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", CLIP_FRAMES)
    blend, fbx = tmp_path / "clip.blend", tmp_path / "clip.fbx"
    done = subprocess.run(
        [sys.executable, "-m", "propose_blender.batch", "--input", str(clip), "--output", str(blend), "--fbx",
         str(fbx), "--samples", "2", "--python", sys.executable, "--device", "cpu", "--estimator", "propose",
         "--allow-random-weights", "--bbox", clip_bbox()], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    assert fbx.stat().st_size > 10_000

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    (rig,) = rig_module.find_rigs(scene)
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, CLIP_FRAMES, 25)
    assert ghosts.sample_count(rig) == 2
    assert scene.camera.data.background_images[0].clip is not None


def test_run_operator_in_the_installed_extension(installed, tmp_path):
    prefs = bpy.context.preferences.addons[EXTENSION_MODULE].preferences
    prefs.backend_python, prefs.device, prefs.estimator = sys.executable, "cpu", "propose"
    prefs.samples, prefs.allow_random_weights = 2, True
    settings = bpy.context.scene.propose
    settings.input_path = str(write_clip(tmp_path / "clip.mp4", CLIP_FRAMES))
    settings.use_frame_range, settings.frame_first, settings.frame_last = True, 2, 4
    assert bpy.ops.propose.run() == {"FINISHED"}  # without a window the job runs to its end in place
    (rig,) = rig_module.find_rigs(bpy.context.scene)
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (2, 4)
    assert ghosts.sample_count(rig) == 2


def test_cancel_keeps_the_frames_done(blender, tmp_path):
    """What Esc / the Cancel button do: the backend stops after its batch and the frames done import."""
    clip = write_clip(tmp_path / "clip.mp4", 40)
    request = runner.estimate_request(input=clip, output=tmp_path / "clip.npz", samples=1, device="cpu",
                                      allow_random_weights=True, estimator="propose",
                                      bbox=tuple(float(v) for v in clip_bbox().split(",")))
    run = runner.EstimateRun(sys.executable, request)
    run.start()
    _wait_for(lambda: run.progress.done >= 2 or run.done, "two frames", poll=run.step)
    run.cancel()
    assert runner.wait(run, timeout=TIMEOUT_S) == runner.CANCELLED, run.error
    rig = importer.import_results(blender, run.partial_output()).rig
    assert 2 <= bpy.context.scene.frame_end < 40
    assert rig_module.find_rigs(bpy.context.scene) == [rig]


def test_killed_backend_leaves_its_finished_chunks_importable(blender, tmp_path):
    """Kill the backend after its first chunk: Blender imports the frames done, and carries on."""
    clip = write_clip(tmp_path / "clip.mp4", 16)
    output = tmp_path / "clip.npz"
    backend = subprocess.Popen(
        [sys.executable, "-m", "propose_backend", "estimate", "--input", str(clip), "--output", str(output),
         "--device", "cpu", "--estimator", "propose", "--allow-random-weights", "--samples", "2",
         "--chunk-frames", "4", "--bbox", clip_bbox()], env=backend_python_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: any(chunk_dir(output).glob("*.npz")) or backend.poll() is not None, "the first chunk")
    finally:
        backend.send_signal(signal.SIGKILL)
        backend.wait()
    assert not output.is_file(), "the run finished before it could be killed"

    assert bpy.ops.propose.import_results(filepath=str(output)) == {"FINISHED"}
    (rig,) = rig_module.find_rigs(bpy.context.scene)
    scene = bpy.context.scene
    assert 1 <= scene.frame_end < 16  # the first batch is written as a chunk at once (docs/inference.md)
    scene.frame_set(scene.frame_end)  # Blender carries on: scrub, colour, ghosts
    assert bpy.ops.propose.show_ghosts() == {"FINISHED"}
    assert len(ghosts.ghosts_of(rig)) == 2


def test_run_operator_survives_a_killed_backend(installed, results_file, tmp_path):
    """The backend dies mid-run: the operator ends with a plain error, and Blender works on."""
    prefs = bpy.context.preferences.addons[EXTENSION_MODULE].preferences
    prefs.backend_python, prefs.device, prefs.estimator = sys.executable, "cpu", "propose"
    prefs.samples, prefs.allow_random_weights = 2, True
    bpy.context.scene.propose.input_path = str(write_clip(tmp_path / "clip.mp4", 40))
    live = sys.modules[EXTENSION_MODULE + ".jobs"].live_jobs

    def kill_when_estimating() -> None:  # only a signal, no Blender call, off the main thread
        _wait_for(lambda: any(getattr(j, "progress", None) and j.progress.phase == "estimating" for j in live),
                  "the estimating phase")
        os.kill(live[0].process.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_estimating, daemon=True)
    killer.start()
    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        bpy.ops.propose.run()
    killer.join(5)
    state = bpy.context.window_manager.propose
    assert not state.running and "stopped unexpectedly" in state.last_error
    path, _ = results_file(num_frames=2, num_samples=1)
    assert bpy.ops.propose.import_results(filepath=str(path)) == {"FINISHED"}
