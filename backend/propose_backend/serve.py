"""`propose-backend serve`: the JSON-lines service the Blender add-on talks to (docs/protocol.md).

One request per line in, one event per line out. Requests are handled on the reading thread;
a job runs on its own thread so that `cancel`, `ping` and friends are answered while it works.
The loaded model is kept for the next job (loading takes seconds, a job may take less). Every
malformed request gets an `error` reply; nothing a client sends ends the service except
`shutdown` or the end of its input.
"""
from __future__ import annotations

import io
import json
import logging
import os
import socket
import sys
import threading
import traceback
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Callable, Iterable, TextIO

from . import __version__
from .inference.errors import InferenceError
from .inference.model_files import find_model_files
from .request import EstimateRequest, RequestError, ResolveRequest

if TYPE_CHECKING:  # the pipeline (torch, OpenCV, MediaPipe) loads with the first job, not at start-up
    from .inference import Estimator, Progress

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
PROGRESS_INTERVAL_S = 0.5  # the protocol promises at least one progress event per second


class _BadRequest(Exception):
    pass


def _field(request: dict, name: str, kind: type | tuple, default: Any = None, required: bool = False) -> Any:
    """A request field of the right JSON type, or _BadRequest naming what is wrong."""
    if name not in request or request[name] is None:
        if required:
            raise _BadRequest(f"'{name}' is missing")
        return default
    value = request[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # JSON true is no number
        raise _BadRequest(f"'{name}' must be {' or '.join(k.__name__ for k in kinds)}, got {type(value).__name__}")
    return value


def _job_failure(job_id: str, exc: Exception, output: object) -> dict:
    """The error event for a job that failed outside its own error kinds: an output that cannot be
    written is the request's fault; anything else is a bug, logged with its traceback."""
    if isinstance(exc, OSError):
        return {"type": "error", "id": job_id, "kind": "bad_request",
                "message": f"{exc.filename or output}: {exc.strerror or exc}"}
    log.error("job %s failed:\n%s", job_id, traceback.format_exc())
    return {"type": "error", "id": job_id, "kind": "internal",
            "message": f"internal error ({type(exc).__name__}: {exc}); this is a bug. The backend "
                       "keeps running; its log (stderr) has the details."}


class _ProgressTicker:
    """Sends the job's newest progress at a steady rate, also while a slow step gives no news."""

    def __init__(self, send: Callable[[dict], None], job_id: str) -> None:
        from .inference import Progress

        self._send, self._id = send, job_id
        self._latest = Progress("reading", 0, None, 0.0, None)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="propose-progress", daemon=True)
        self._thread.start()

    def update(self, progress: Progress) -> None:
        with self._lock:
            changed = progress.phase != self._latest.phase
            self._latest = progress
        if changed:
            self._emit()

    def _emit(self) -> None:
        with self._lock:
            if not self._stopped.is_set():
                self._send({"type": "progress", "id": self._id, **asdict(self._latest)})

    def _run(self) -> None:
        while not self._stopped.wait(PROGRESS_INTERVAL_S):
            self._emit()

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
        self._thread.join()


class Service:
    """Protocol state: the writer, the running job and the cached estimator."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._write_lock = threading.Lock()
        self._job: tuple[str, threading.Thread, threading.Event] | None = None
        self._job_lock = threading.Lock()
        self._cached: tuple[tuple, Estimator, list[str]] | None = None
        self._client_gone = False

    def send(self, event: dict) -> None:
        """Write one event. Once the client has gone (closed pipe or socket) events are dropped, so that
        a running job still finishes and writes its results instead of failing on a progress event."""
        line = json.dumps(event) + "\n"
        with self._write_lock:
            if self._client_gone:
                return
            try:
                self._out.write(line)
                self._out.flush()
            except (OSError, ValueError) as exc:  # ValueError: the stream was closed
                self._client_gone = True
                log.warning("the client has gone (%s); events are no longer sent", exc)

    def _error(self, job_id: Any, kind: str, message: str) -> None:
        self.send({"type": "error", "id": job_id, "kind": kind, "message": message})

    # --- requests ----------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Answer one request line; False when the service should stop."""
        if not line.strip():
            return True
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            self._error(None, "bad_request", f"not valid JSON ({exc.msg} at column {exc.colno}); send one JSON "
                                             "object per line.")
            return True
        if not isinstance(request, dict):
            self._error(None, "bad_request", "a request must be a JSON object with a \"type\".")
            return True
        job_id = request.get("id")
        try:
            kind = _field(request, "type", str, required=True)
            if kind == "ping":
                self.send({"type": "pong", "id": job_id})
            elif kind == "version":
                self._version(job_id)
            elif kind == "estimate":
                self._start(request)
            elif kind == "resolve":
                self._start(request, self._parse_resolve, self._run_resolve)
            elif kind == "people":
                self._people(job_id, _field(request, "input", str, required=True),
                             _field(request, "frame", int, 0))
            elif kind == "cancel":
                self._cancel(_field(request, "id", str, required=True))
            elif kind == "shutdown":
                return False
            else:
                raise _BadRequest(f"unknown request type '{kind}' (known: ping, version, estimate, resolve, people, "
                                  "cancel, shutdown)")
        except _BadRequest as exc:
            self._error(job_id, "bad_request", f"bad request: {exc}.")
        return True

    def _version(self, request_id: Any) -> None:
        """Versions, and the model files and estimator an `estimate` without paths would use."""
        import torch

        from .estimators import choose_estimator

        files = find_model_files()
        try:
            estimator = choose_estimator("auto", files, False)
        except InferenceError:
            estimator = None
        self.send({"type": "version", "id": request_id, "version": __version__, "protocol": PROTOCOL_VERSION,
                   "torch": torch.__version__, "cuda": torch.cuda.is_available(),
                   "model_files": {"folder": str(files.folder),
                                   "checkpoint": None if files.checkpoint is None else str(files.checkpoint),
                                   "body_model": None if files.body_model is None else str(files.body_model),
                                   "estimator": estimator, "warnings": files.warnings}})

    def _people(self, request_id: Any, path: str, frame: int) -> None:
        """Find everyone in one frame on a thread of its own (a few seconds), then send a `people` event."""
        def run() -> None:
            from .inference.people import people_in_file

            try:
                found = people_in_file(path, max(0, frame))
                self.send({"type": "people", "id": request_id, "input": path, **found.as_json()})
            except InferenceError as exc:
                self._error(request_id, exc.kind, exc.message)
            except Exception as exc:  # a bug: report it, keep serving
                log.error("people %s failed:\n%s", request_id, traceback.format_exc())
                self._error(request_id, "internal", f"internal error ({type(exc).__name__}: {exc}); this is a bug.")

        threading.Thread(target=run, name="propose-people", daemon=True).start()

    def _cancel(self, job_id: str) -> None:
        with self._job_lock:
            job = self._job
        if job is None or job[0] != job_id:
            raise _BadRequest(f"no running job has id '{job_id}'")
        job[2].set()

    def _start(self, request: dict, parse: Callable[[dict], Any] | None = None,
               run: Callable[[str, Any, threading.Event], None] | None = None) -> None:
        job_id = _field(request, "id", str, required=True)
        spec = (parse or self._parse_estimate)(request)
        with self._job_lock:
            if self._job is not None:
                self._error(job_id, "busy", f"job '{self._job[0]}' is still running; one job at a time. "
                                            "Wait for its result or cancel it.")
                return
            cancel = threading.Event()
            thread = threading.Thread(target=run or self._run_job, args=(job_id, spec, cancel), name="propose-job",
                                      daemon=True)
            self._job = (job_id, thread, cancel)
        self.send({"type": "accepted", "id": job_id})
        thread.start()

    @staticmethod
    def _parse_estimate(request: dict) -> EstimateRequest:
        try:
            return EstimateRequest.from_json(request)
        except RequestError as exc:
            raise _BadRequest(str(exc).rstrip(".")) from None

    @staticmethod
    def _parse_resolve(request: dict) -> ResolveRequest:
        from .resolve import ResolveError, pins_from_json

        try:
            wanted = ResolveRequest.from_json(request)
            pins_from_json(wanted.pins)  # checked now: a bad pin is a bad request, not a failed job
        except RequestError as exc:
            raise _BadRequest(str(exc).rstrip(".")) from None
        except ResolveError as exc:
            raise _BadRequest(str(exc)) from None
        return wanted

    def _run_resolve(self, job_id: str, wanted: ResolveRequest, _cancel: threading.Event) -> None:
        """A re-solve is one smoother pass (seconds): it reports progress but is not cancelled midway."""
        from .inference import Progress
        from .resolve import ResolveError, run_request
        from .results import ResultsError

        ticker = _ProgressTicker(self.send, job_id)
        ticker.update(Progress("resolving", 0, None, 0.0, None, f"re-solving around {len(wanted.pins)} pins"))
        try:
            summary = run_request(wanted)
            final = {"type": "result", "id": job_id, "output": str(summary.output), "frames": summary.frames,
                     "valid_frames": summary.frames, "pins": summary.pins, "seconds": round(summary.seconds, 3),
                     "warnings": []}
        except ResultsError as exc:
            kind = "missing_file" if not os.path.exists(wanted.input) else "bad_input"
            final = {"type": "error", "id": job_id, "kind": kind, "message": str(exc)}
        except ResolveError as exc:
            final = {"type": "error", "id": job_id, "kind": "bad_request", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 (unwritable output or a bug: reported, the service goes on)
            final = _job_failure(job_id, exc, wanted.output)
        finally:
            ticker.stop()
        self._finish(final)

    # --- the job thread ----------------------------------------------------------------------

    def _estimator(self, spec: EstimateRequest, batch_size: int,
                   ticker: _ProgressTicker) -> tuple["Estimator", list[str]]:
        """The estimator for this job: the cached one when the model settings are unchanged."""
        from .inference import EstimatorSettings, Progress
        from . import estimators

        files = find_model_files(spec.checkpoint, spec.body_model)
        name = estimators.choose_estimator(spec.estimator, files, spec.allow_random_weights)
        settings = EstimatorSettings.from_request(spec, files, batch_size)
        key = (name, files.checkpoint, files.body_model, settings.device, batch_size, settings.bf16,
               settings.cuda_graphs, settings.seed)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1], self._cached[2]
        self._drop_estimator()  # free the old model before loading another
        ticker.update(Progress("loading_model", 0, None, 0.0, None, f"loading the {name} estimator"))
        estimator, warnings = estimators.open_estimator(name, settings, spec.allow_random_weights)
        self._cached = (key, estimator, warnings)
        return estimator, warnings

    def _run_job(self, job_id: str, spec: EstimateRequest, cancel: threading.Event) -> None:
        ticker = _ProgressTicker(self.send, job_id)
        final: dict
        try:
            from .inference import EstimateOptions, estimate_file
            from .inference.device import resolve_device

            batch_size = spec.batch_size_for(resolve_device(spec.device).type)
            estimator, warnings = self._estimator(spec, batch_size, ticker)
            options = EstimateOptions.from_request(spec, batch_size)
            summary = estimate_file(spec.input, spec.output, estimator, options, ticker.update, cancel)
            output = str(summary.output) if summary.output is not None else None
            if summary.cancelled:
                final = {"type": "cancelled", "id": job_id, "output": output, "frames_done": summary.frames}
            else:
                final = {"type": "result", "id": job_id, "output": output, "frames": summary.frames,
                         "valid_frames": summary.valid_frames, "expected_frames": summary.expected_frames,
                         "estimator": summary.estimator,
                         "warnings": warnings + summary.warnings}
        except InferenceError as exc:
            final = {"type": "error", "id": job_id, "kind": exc.kind, "message": exc.message}
        except Exception as exc:  # noqa: BLE001 (unwritable output or a bug: reported, the service goes on)
            final = _job_failure(job_id, exc, spec.output)
        finally:
            ticker.stop()
        self._finish(final)

    def _finish(self, final: dict) -> None:
        """Send a job's final event; it goes out before another job can be accepted."""
        with self._job_lock:
            self._job = None
            self.send(final)

    def _drop_estimator(self) -> None:
        if self._cached is not None:
            estimator, self._cached = self._cached[1], None
            estimator.close()

    def finish(self) -> None:
        """Cancel a running job and wait for its final event (shutdown and end of input)."""
        with self._job_lock:
            job = self._job
        if job is not None:
            job[2].set()
            job[1].join()
        self._drop_estimator()

    def serve(self, lines: Iterable[str]) -> int:
        from .inference.device import available_devices  # torch: the one heavy import of start-up

        self.send({"type": "ready", "version": __version__, "protocol": PROTOCOL_VERSION,
                   "devices": available_devices()})
        for line in lines:
            if not self.handle(line):
                break
        self.finish()
        return 0


def serve_stdio() -> int:
    """Serve on stdin/stdout. Anything else that writes to stdout is redirected to stderr first."""
    protocol_out = io.TextIOWrapper(os.fdopen(os.dup(sys.stdout.fileno()), "wb"), encoding="utf-8",
                                    line_buffering=True)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints (libraries) must not corrupt the protocol
    sys.stdout = sys.stderr
    requests = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return Service(protocol_out).serve(requests)


def serve_socket(port: int) -> int:
    """Serve one client on 127.0.0.1:port (0 = any free port; the port is printed on stderr)."""
    with socket.create_server(("127.0.0.1", port)) as server:
        print(f"listening on 127.0.0.1:{server.getsockname()[1]}", file=sys.stderr, flush=True)
        connection, _ = server.accept()
        with connection, connection.makefile("r", encoding="utf-8", errors="replace") as reader, \
                connection.makefile("w", encoding="utf-8") as writer:
            return Service(writer).serve(reader)
