"""The backend service as a child process, spoken to in JSON lines (docs/protocol.md).

Two reader threads only move text: stdout lines into a queue, stderr lines into a short log.
Everything else, parsing included, happens when the main thread calls `events()` from a timer,
so no Blender call ever runs off the main thread. If the child dies, `events()` simply stops
returning anything and `exited` turns true; nothing here raises into Blender because of it.
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .bridge import backend_source_dir, request

PROTOCOL = 1
_LOG_LINES = 40
_EOF = object()
_request_ids = itertools.count(1)


class LaunchFailed(RuntimeError):
    """The backend interpreter could not be started; the message says what to change."""


def new_request_id(prefix: str = "job") -> str:
    return f"{prefix}-{os.getpid()}-{next(_request_ids)}"


def backend_environment(model_folder: str | Path | None = None) -> dict[str, str]:
    """The child's environment: ours, minus Blender's Python home, plus the bundled backend source;
    with `model_folder`, the folder the backend looks for its model files in (it resolves them
    itself, and its `version` reply says what it found)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONEXECUTABLE")}
    if model_folder:
        env[request().MODEL_FILES_ENV] = str(model_folder)
    paths = [str(backend_source_dir()), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


class BackendProcess:
    """One `python -m propose_backend serve` child and its two pipes."""

    def __init__(self, python: str, model_folder: str | Path | None = None) -> None:
        self.python = python
        self.model_folder = model_folder
        self._process: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._stdout_closed = False

    def start(self) -> None:
        given = Path(self.python).expanduser() if self.python else None
        executable = str(given) if given is not None and given.is_file() else shutil.which(self.python or "")
        if not executable and given is not None and given.is_dir():
            raise LaunchFailed(
                f"Backend Python '{self.python}' is a folder. Set 'Backend Python' in the add-on preferences to "
                "the interpreter inside it (bin/python, or Scripts\\python.exe on Windows).")
        if not executable:
            raise LaunchFailed(
                f"Backend Python '{self.python or '(not set)'}' does not exist. Press 'Set up backend' in the "
                "add-on preferences, or set 'Backend Python' to an interpreter that has torch installed.")
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
        try:
            self._process = subprocess.Popen(
                [executable, "-m", "propose_backend", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", bufsize=1,
                env=backend_environment(self.model_folder), creationflags=flags)
        except OSError as exc:
            raise LaunchFailed(f"Could not start the backend with '{self.python}': {exc}. "
                               "Check 'Backend Python' in the add-on preferences.") from exc
        threading.Thread(target=self._pump_stdout, daemon=True, name="propose-backend-stdout").start()
        threading.Thread(target=self._pump_stderr, daemon=True, name="propose-backend-stderr").start()

    def _pump_stdout(self) -> None:
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(_EOF)

    def _pump_stderr(self) -> None:
        for line in self._process.stderr:
            self._log.append(line.rstrip())

    def send(self, message: dict[str, Any]) -> bool:
        """Write one request; False if the child is gone (its exit shows up in `exited`)."""
        if self._process is None or self._process.poll() is not None:
            return False
        try:
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def events(self) -> list[dict[str, Any]]:
        """Every event that arrived since the last call (never blocks)."""
        found = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return found
            if line is _EOF:
                self._stdout_closed = True
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if isinstance(event, dict) and "type" in event:
                found.append(event)
            elif line.strip():
                self._log.append(line.rstrip())  # stray print from a library: keep it as log text

    @property
    def exited(self) -> bool:
        """True once the child has exited and every line it wrote has been handed out."""
        return (self._process is not None and self._process.poll() is not None
                and self._stdout_closed and self._lines.empty())

    @property
    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def log_tail(self, lines: int = 6) -> str:
        return "\n".join(list(self._log)[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the service to shut down; kill it if it has not gone within `timeout` seconds."""
        if self._process is None or self._process.poll() is not None:
            return
        self.send({"type": "shutdown"})
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout)
