"""One job on the backend service, from request to outcome, driven by polling.

`step()` never blocks, so the same run object serves the modal operator (called from its timer)
and the headless batch (called in a loop by `wait`). A run ends in one of three states:
finished (the results file is complete), cancelled or failed; in the last two the frames done so
far are still on disk as chunks, and `partial_output()` says whether there are any.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import bridge, results
from .client import PROTOCOL, new_request_id
from .jobs import CANCELLED, FAILED, FINISHED, RUNNING, BackendJob, describe_exit  # noqa: F401 - callers use these

CANCEL_GRACE_S = 15.0  # how long a cancelled backend may take to stop before it is killed

# What to do next, by error kind, said in the words of the front end that shows it. bad_input
# has none: the backend's own message already names the file, what is wrong and the remedy.
PANEL_ADVICE = {
    "missing_file": "Check the Footage path in the ProPose panel and the model files folder in the add-on "
                    "preferences.",
    "bad_model": "The checkpoint or body model is not the one ProPose expects; see model_files/README.md.",
    "no_person": "If there is one, press Find People in the ProPose panel and pick the person, or try "
                 "another frame range.",
    "internal": "This is a bug in the backend; please report it with the log below.",
}
BATCH_ADVICE = {
    **PANEL_ADVICE,
    "missing_file": "Check --input and --model-files.",
    "no_person": "If there is one, pick it with --person N (the people found are listed with "
                 "'propose-backend people --input FILE'), give its box with --bbox x,y,w,h, or try "
                 "--detector full-frame when the footage is cropped to the person.",
}


@dataclass
class Progress:
    phase: str = "starting"
    done: int = 0
    total: int | None = None
    fps: float = 0.0
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    def describe(self) -> str:
        """One line for the panel and the console, e.g. 'estimating 40/120 frames, 3.1 fps, 26 s left'."""
        parts = [self.phase.replace("_", " ")]
        if self.total:
            parts.append(f"{self.done}/{self.total} frames")
        elif self.done:
            parts.append(f"{self.done} frames")
        if self.fps:
            parts.append(f"{self.fps:.1f} fps")
        if self.eta_s is not None:
            parts.append(f"{self.eta_s:.0f} s left")
        return ", ".join(parts)


def estimate_request(**fields: Any) -> Any:
    """The backend's own `EstimateRequest` (request.py, loaded by path), checked now: a value the
    backend would refuse is named before any process starts. Paths may be given as Path objects."""
    for name in ("input", "output", "checkpoint", "body_model"):
        if fields.get(name) is not None:
            fields[name] = str(fields[name])
    return bridge.request().EstimateRequest(**fields).validate()


def resolve_request(**fields: Any) -> Any:
    """The backend's own `ResolveRequest` (request.py, loaded by path), checked now. Paths may be Paths."""
    for name in ("input", "output"):
        fields[name] = str(fields[name])
    return bridge.request().ResolveRequest(**fields).validate()


@dataclass
class EstimateRun(BackendJob):
    """A job (estimate or resolve) on its own backend process."""

    python: str
    request: Any  # the backend's EstimateRequest or ResolveRequest (see estimate_request, resolve_request)
    progress: Progress = field(default_factory=Progress)
    warnings: list[str] = field(default_factory=list)
    job_id: str = field(default_factory=new_request_id)
    advice: dict[str, str] = field(default_factory=lambda: dict(PANEL_ADVICE))
    expected_frames: int | None = None  # what the footage should give, when the backend knows
    model_folder: str = ""  # where the backend looks for its model files ("" = its own default)
    _cancel_sent_at: float | None = None
    stop_timeout_s = 5.0

    def start(self) -> None:
        """Launch the backend and send the job (raises client.LaunchFailed if it cannot start)."""
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.launch(self.python, self.message(), self.model_folder)

    def message(self) -> dict[str, Any]:
        """The request line this run sends (docs/protocol.md)."""
        return bridge.run_plan().RunPlan(self.request).message(self.job_id)

    @property
    def input(self) -> Path:
        return Path(self.request.input)

    @property
    def output(self) -> Path:
        """The results file: as asked for, then as the backend reported it."""
        return Path(self.request.output)

    @property
    def status(self) -> str:
        if self._cancel_sent_at is not None:
            return f"cancelling after the current batch ({self.progress.done} frames done)"
        return self.progress.describe()

    def died(self) -> str:
        return (f"The backend stopped unexpectedly ({describe_exit(self.process.exit_code)}) after "
                f"{self.progress.done} frames.")

    def fail(self, message: str, with_log: bool = True) -> None:
        super().fail(message, with_log)

    def poll(self) -> None:
        """Handle whatever the backend said since the last call; notice if it died or ignores a cancel."""
        super().poll()
        if not self.done and self._cancel_sent_at is not None and time.monotonic() - self._cancel_sent_at > CANCEL_GRACE_S:
            self.process.stop(timeout=1.0)
            self.state = CANCELLED

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "ready" and event.get("protocol") != PROTOCOL:
            self.fail(f"The backend speaks protocol {event.get('protocol')}, this add-on {PROTOCOL}. "
                      "Install matching versions (the add-on bundles its own backend source).")
        elif event.get("id") not in (self.job_id, None):
            return
        elif kind == "progress":
            self.progress = Progress(phase=event.get("phase") or "", done=int(event.get("done") or 0),
                                     total=event.get("total"), fps=float(event.get("fps") or 0.0),
                                     eta_s=event.get("eta_s"), message=event.get("message") or "")
            if event.get("total") is not None:
                self.expected_frames = int(event["total"])
        elif kind == "result":
            self.state = FINISHED
            self.request.output = type(self.request.output)(event.get("output") or self.request.output)
            self.warnings = list(event.get("warnings") or [])
            self.progress.done = int(event.get("frames") or self.progress.done)
            if event.get("expected_frames") is not None:
                self.expected_frames = int(event["expected_frames"])
        elif kind == "cancelled":
            self.state = CANCELLED
            self.progress.done = int(event.get("frames_done") or 0)
        elif kind == "error":
            advice = self.advice.get(event.get("kind"), "")
            self.fail(" ".join(filter(None, [event.get("message") or "The backend reported an error.", advice])))

    @property
    def incomplete(self) -> bool:
        """Finished, but with fewer frames than the footage should have (e.g. a truncated video)."""
        return (self.state == FINISHED and self.expected_frames is not None
                and self.progress.done < self.expected_frames)

    @property
    def reason(self) -> str:
        """The cause of a failure in one paragraph (the error without the backend log under it)."""
        return self.error.split("\nBackend log:", 1)[0].strip()

    def cancel(self) -> None:
        """Ask the backend to stop after its current batch; finished frames stay on disk."""
        if self.done:
            return
        if self.process is None or not self.process.send({"type": "cancel", "id": self.job_id}):
            self.state = CANCELLED
        elif self._cancel_sent_at is None:
            self._cancel_sent_at = time.monotonic()

    def partial_output(self) -> Path | None:
        """The output path if it holds frames (complete file or finished chunks), else None.
        A run that followed everyone keeps what it finished as a clip index beside the output."""
        if self.request.everyone:
            people = bridge.people_file()
            index = self.output if people.is_index(self.output) else people.index_path(self.output)
            try:
                people.read_index(index)
            except people.PeopleFileError:
                return None
            return index
        try:
            results.read(self.output)
        except (bridge.schema().ResultsError, OSError):
            return None
        return self.output


def wait(run: EstimateRun, timeout: float | None = None, on_progress: Callable[[Progress], None] | None = None,
         poll_s: float = 0.05) -> str:
    """Drive `run` to its end from a plain loop (headless use); returns the final state."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while not run.done:
        run.step()
        if on_progress is not None and run.progress != last:
            on_progress(run.progress)
            last = Progress(**vars(run.progress))
        if deadline is not None and time.monotonic() > deadline:
            run.cancel()
            deadline = None
        time.sleep(poll_s)
    run.close()
    return run.state
