"""Long jobs (estimate, re-solve, find people, set-up, check) and the one driver they share.

A job has `start()`, `step()` (never blocks), `done`, `status`, `error`, `cancel()` and `close()`
(see `Job`). In the UI the driver is a modal operator polled by a timer, so Blender stays
responsive and Esc cancels; from scripts and `--background` (no window) the same job runs to its
end in a loop. Either way, only the main thread touches Blender data. The states a job ends in
are named here too.
"""
from __future__ import annotations

import time
import traceback
from typing import Protocol

import bpy

from .client import LaunchFailed

RUNNING, FINISHED, CANCELLED, FAILED = "running", "finished", "cancelled", "failed"
_TIMER_S = 0.1
live_jobs: list = []  # every job still running, so unregister() can stop its process


class Job(Protocol):
    """What the driver needs of a job."""

    error: str

    @property
    def done(self) -> bool: ...

    @property
    def status(self) -> str: ...

    def start(self) -> None: ...

    def step(self) -> None: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def stop_all_jobs() -> None:
    for job in live_jobs:
        job.close()
    live_jobs.clear()


def _forget(job) -> None:
    """Stop tracking `job`; unregister() may already have stopped and forgotten it."""
    if job in live_jobs:
        live_jobs.remove(job)


class JobOperator:
    """Mix-in: drive a job (start / step / done / cancel / close) modally or, headless, in a loop."""

    def make_job(self, context: bpy.types.Context):  # returns the job, or None after self.report
        raise NotImplementedError

    def job_finished(self, context: bpy.types.Context, job) -> set[str]:
        raise NotImplementedError

    def _begin(self, context: bpy.types.Context):
        state = context.window_manager.propose
        if state.running:
            self.report({"ERROR"}, "A ProPose job is already running; wait for it or cancel it first.")
            return None
        job = self.make_job(context)
        if job is None:
            return None
        try:
            job.start()
        except (LaunchFailed, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            state.last_error = str(exc)
            return None
        live_jobs.append(job)
        state.running, state.cancel_requested, state.last_error = True, False, ""
        state.status, state.progress = job.status, 0.0
        return job

    def _end(self, context: bpy.types.Context, job) -> set[str]:
        job.close()
        _forget(job)
        state = context.window_manager.propose
        state.running, state.cancel_requested, state.status = False, False, ""
        if job.error:
            state.last_error = job.error
        return self.job_finished(context, job)

    def execute(self, context: bpy.types.Context) -> set[str]:
        job = self._begin(context)
        if job is None:
            return {"CANCELLED"}
        while not job.done:
            job.step()
            time.sleep(0.05)
        return self._end(context, job)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window is None:
            return self.execute(context)
        self._job = self._begin(context)
        if self._job is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(_TIMER_S, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        state = context.window_manager.propose
        if (event.type == "ESC" and event.value == "PRESS") or state.cancel_requested:
            state.cancel_requested = False
            self._job.cancel()
            if event.type == "ESC":
                return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            self._job.step()
            state.status = self._job.status
            fraction = getattr(getattr(self._job, "progress", None), "fraction", 0.0)
            state.progress = fraction
            context.window_manager.progress_update(int(fraction * 100))
            redraw(context)
            if not self._job.done:
                return {"PASS_THROUGH"}
            self._stop_timer(context)
            return self._end(context, self._job)
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the timer and "running" behind
            return self._crashed(context, exc)
        finally:
            redraw(context)

    def _crashed(self, context: bpy.types.Context, exc: Exception) -> set[str]:
        """An unexpected error while driving the job: clean up, say it in words, keep the trace in the console."""
        traceback.print_exc()
        if self._timer is not None:
            self._stop_timer(context)
        self._job.cancel()
        self._job.close()
        _forget(self._job)
        state = context.window_manager.propose
        state.running, state.cancel_requested, state.status = False, False, ""
        state.last_error = (f"ProPose stopped because of an unexpected error: {exc or type(exc).__name__}\n"
                            "The full report is in Blender's system console; please include it in a bug report.")
        self.report({"ERROR"}, state.last_error.splitlines()[0])
        return {"CANCELLED"}

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends modal operators on file load or quit: stop the backend, import nothing."""
        if self._timer is not None:
            self._stop_timer(context)
        self._job.cancel()
        self._job.close()
        _forget(self._job)
        context.window_manager.propose.running = False

    def _stop_timer(self, context: bpy.types.Context) -> None:
        context.window_manager.event_timer_remove(self._timer)
        self._timer = None
        context.window_manager.progress_end()


def redraw(context: bpy.types.Context) -> None:
    """Ask the 3D views and the preferences to draw again (progress, new state)."""
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "PREFERENCES"}:
                area.tag_redraw()
