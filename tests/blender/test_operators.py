"""The run operator's checks and the modal job driver, without a window (fakes stand in for the UI)."""
from __future__ import annotations

from types import SimpleNamespace

import bpy
import pytest

from propose_blender import jobs

from addon_testing import EXTENSION_MODULE


def test_run_refuses_a_model_folder_that_does_not_exist(installed, tmp_path):
    prefs = bpy.context.preferences.addons[EXTENSION_MODULE].preferences
    prefs.backend_python, prefs.model_folder = str(tmp_path / "no-python"), str(tmp_path / "typo")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    bpy.context.scene.propose.input_path = str(clip)
    with pytest.raises(RuntimeError, match="model files folder .*typo' does not exist"):
        bpy.ops.propose.run()


class _Job:
    def __init__(self, fail_on_step: bool) -> None:
        self.fail_on_step, self.done, self.error, self.status = fail_on_step, False, "", "working"
        self.closed = self.cancelled = False

    def start(self) -> None:
        pass

    def step(self) -> None:
        if self.fail_on_step:
            raise KeyError("phase")
        self.done = True

    def cancel(self) -> None:
        self.cancelled = True

    def close(self) -> None:
        self.closed = True


class _Driver(jobs.JobOperator):
    def __init__(self, job: _Job) -> None:
        self.job, self.reports, self.finished = job, [], False

    def make_job(self, context):
        return self.job

    def job_finished(self, context, job):
        self.finished = True
        return {"FINISHED"}

    def report(self, kind, message):
        self.reports.append((kind, message))


def _context():
    wm = SimpleNamespace(
        propose=SimpleNamespace(running=False, cancel_requested=False, status="", progress=0.0, last_error=""),
        timers=[], windows=[], progress_update=lambda value: None, progress_end=lambda: None,
        modal_handler_add=lambda op: None)
    wm.event_timer_add = lambda step, window=None: wm.timers.append("timer") or "timer"
    wm.event_timer_remove = lambda timer: wm.timers.remove(timer)
    wm.progress_begin = lambda lo, hi: None
    return SimpleNamespace(window=object(), window_manager=wm)


@pytest.mark.parametrize("fail_on_step", [False, True])
def test_modal_driver_always_releases_timer_and_job(fail_on_step):
    context, job = _context(), _Job(fail_on_step)
    driver = _Driver(job)
    assert driver.invoke(context, SimpleNamespace(type="NONE", value="NOTHING")) == {"RUNNING_MODAL"}
    assert context.window_manager.timers and job in jobs.live_jobs
    result = driver.modal(context, SimpleNamespace(type="TIMER", value="NOTHING"))
    state = context.window_manager.propose
    assert not context.window_manager.timers and job.closed and job not in jobs.live_jobs
    assert not state.running  # so the next Run is not refused as "already running"
    if fail_on_step:
        assert result == {"CANCELLED"} and not driver.finished
        assert state.last_error.startswith("ProPose stopped because of an unexpected error")
        assert driver.reports[-1][0] == {"ERROR"} and "Traceback" not in driver.reports[-1][1]
    else:
        assert result == {"FINISHED"} and driver.finished


def test_backend_python_set_to_a_folder_says_so(tmp_path):
    from propose_blender.client import BackendProcess, LaunchFailed

    with pytest.raises(LaunchFailed, match="is a folder.*bin/python"):
        BackendProcess(str(tmp_path)).start()


def _dying_backend(tmp_path):
    """An interpreter that exits with status 3 at once, as a backend missing torch or crashing would."""
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexit 3\n")
    python.chmod(0o755)
    return str(python)


def test_every_backend_job_kind_fails_in_its_own_words_when_the_backend_dies(tmp_path):
    from propose_blender import backend_env, people, runner

    python = _dying_backend(tmp_path)
    clip = tmp_path / "clip.mp4"
    runs = {
        "after 0 frames": runner.EstimateRun(python, runner.estimate_request(input=clip, output=tmp_path / "o.npz")),
        "stopped unexpectedly (exit code 3)": people.PeopleRun(python, clip),
        "exited (code 3) before answering": backend_env.CheckRun(python, ""),
    }
    import time

    for words, run in runs.items():
        assert isinstance(run, jobs.BackendJob)
        run.start()
        deadline = time.monotonic() + 30
        while not run.done and time.monotonic() < deadline:
            run.step()
            time.sleep(0.02)
        assert run.state == jobs.FAILED and words in run.error, (type(run).__name__, run.error)
        assert run.process.exited  # the base stopped it: nothing is left running
        run.step()  # a finished job ignores further polls
        assert run.state == jobs.FAILED


def test_the_set_up_job_is_driven_like_the_others(tmp_path):
    from propose_blender import backend_env

    assert issubclass(backend_env.SetupRun, jobs.PolledJob)
    run = backend_env.SetupRun(tmp_path / "env")
    run.cancel()  # nothing started: cancelling must not touch a process
    assert run.state == jobs.FAILED and "Set-up cancelled" in run.error


def test_runs_started_in_the_same_second_never_share_a_results_file(tmp_path):
    """Two Blenders, or two runs, in one second used to get one name and clear each other's chunks."""
    import os

    from propose_blender.operators.run import results_path

    first = results_path(tmp_path / "clip.mp4")
    assert str(os.getpid()) in first.name  # another Blender process gets another name
    first.parent.mkdir(parents=True, exist_ok=True)
    first.with_name(first.name + ".chunks").mkdir()  # a run of this process is under way
    second = results_path(tmp_path / "clip.mp4")
    second.write_bytes(b"done")  # a finished run
    third = results_path(tmp_path / "clip.mp4")
    assert len({first, second, third}) == 3 and second.name.startswith("clip-") and second.suffix == ".npz"
