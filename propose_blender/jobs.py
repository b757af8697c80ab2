"""Long jobs (estimate, re-solve, find people, set-up, check) and the one driver they share.

A job has `start()`, `step()` (never blocks), `done`, `status`, `error`, `cancel()` and `close()`
(see `Job`); every kind derives from `PolledJob`, and those that talk to the backend service from
`BackendJob`, which reads its events and notices a dead process. In the UI the driver is a modal operator polled by a timer, so Blender stays
responsive and Esc cancels; from scripts and `--background` (no window) the same job runs to its
end in a loop. Either way, only the main thread touches Blender data. The states a job ends in
are named here too.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Protocol

import bpy

from .client import BackendProcess, LaunchFailed

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


def describe_exit(code: int | None) -> str:
    """A backend exit status in words: negative codes are the signal that ended the process."""
    if code is None:
        return "still running"
    if code < 0:
        signal_name = {9: "SIGKILL: killed, often by the system when memory runs out", 15: "SIGTERM",
                       11: "SIGSEGV: a crash in native code", 6: "SIGABRT: a crash in native code"}
        return f"ended by signal {-code}, {signal_name.get(-code, 'from outside')}"
    return f"exit code {code}"


@dataclass(kw_only=True)
class PolledJob:
    """The base of every job kind: one state, one error, and a `step()` that polls and never blocks.

    Subclasses say how to start, what one look at their work does (`poll`), how to stop (`close`);
    the base ends the job once, whichever way it ends, so no kind re-implements that loop.
    """

    state: str = RUNNING
    error: str = ""

    @property
    def done(self) -> bool:
        return self.state != RUNNING

    @property
    def status(self) -> str:
        return self.state

    def start(self) -> None:
        raise NotImplementedError

    def poll(self) -> None:
        """Look at the work once (without blocking) and move `state` on if it ended."""
        raise NotImplementedError

    def step(self) -> None:
        if self.done:
            return
        self.poll()
        if self.done:
            self.close()

    def fail(self, message: str) -> None:
        self.state, self.error = FAILED, message

    def cancel(self) -> None:
        if not self.done:
            self.state = CANCELLED

    def close(self) -> None:
        """Stop whatever still runs (called when the job ends, and by the driver in any case)."""


@dataclass(kw_only=True)
class BackendJob(PolledJob):
    """A request to the backend service on its own process: each poll reads the events it sent, and a
    process that died without answering fails the job with its exit status and log."""

    process: BackendProcess | None = None
    stop_timeout_s = 2.0  # how long a finished backend may take to shut down before it is killed

    def launch(self, python: str, message: dict[str, Any], model_folder: str = "") -> None:
        """Start the service and send the request (raises client.LaunchFailed if it cannot start)."""
        self.process = BackendProcess(python, model_folder)
        self.process.start()
        self.process.send(message)

    def handle(self, event: dict[str, Any]) -> None:
        """One event from the backend (a job finishes by setting `state`)."""
        raise NotImplementedError

    def died(self) -> str:
        """What to say when the backend exits before the job ended."""
        return f"The backend stopped unexpectedly ({describe_exit(self.process.exit_code)})."

    def poll(self) -> None:
        if self.process is None:
            return
        for event in self.process.events():
            self.handle(event)
            if self.done:
                return
        if self.process.exited:
            self.fail(self.died())

    def fail(self, message: str, with_log: bool = False) -> None:
        """Fail with `message`, and the tail of the backend's log under it when asked."""
        log = self.process.log_tail() if with_log and self.process else ""
        super().fail(f"{message}\nBackend log:\n{log}" if log else message)

    def close(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=self.stop_timeout_s)


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
