"""The backend's own Python: the private environment the add-on can make, and what a check finds.

The backend needs torch, which must never go into Blender's Python. "Set up backend" makes a
virtual environment with Blender's interpreter and pip-installs the backend's dependencies
(read from the bundled pyproject.toml) into it; the backend code itself always runs from the
source bundled with the add-on, so both sides have the same version.
"""
from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from .client import new_request_id
from .bridge import backend_source_dir
from .jobs import FINISHED, BackendJob, PolledJob

CHECK_TIMEOUT_S = 180.0  # first torch import on a cold disk can be slow


def private_env_dir() -> Path:
    """Where 'Set up backend' puts the environment: the extension's user folder."""
    package = __package__ or "propose_blender"
    try:
        return Path(bpy.utils.extension_path_user(package, path="backend-env", create=False))
    except ValueError:  # running from the repository, not as an installed extension
        return Path(bpy.utils.user_resource("DATAFILES", path="propose_blender")) / "backend-env"


def env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements() -> list[str]:
    """The backend's dependencies, from its pyproject.toml."""
    pyproject = backend_source_dir() / "pyproject.toml"
    with pyproject.open("rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


def setup_commands(env: Path) -> list[list[str]]:
    """Make the environment with Blender's own interpreter, then install the dependencies into it."""
    python = str(env_python(env))
    return [[sys.executable, "-m", "venv", str(env)],
            [python, "-m", "pip", "install", "--upgrade", "pip"],
            [python, "-m", "pip", "install", *requirements()]]


def offline_instructions(env: Path) -> str:
    deps = " ".join(f'"{r}"' for r in requirements())
    return (f"Blender is set to work offline, so the add-on will not download anything. Either allow online "
            f"access (Preferences > System > Network) and press 'Set up backend' again, or make the "
            f"environment yourself:  python3.11 -m venv {env}  then  {env_python(env)} -m pip install {deps}  "
            f"and set 'Backend Python' to {env_python(env)}.")


def model_folder(folder: str | Path) -> str:
    """The model files setting as an absolute folder ('' = unset: the backend's own default)."""
    return bpy.path.abspath(str(folder)) if folder else ""


def model_folder_problem(folder: str | Path) -> str:
    """What is wrong with the model files folder setting, or '' (an empty setting is fine).

    A mistyped folder must not pass silently: the backend would fall back to instant mode and the
    procedural demo body, and the animator would get a plausible-looking but wrong result.
    """
    if not folder:
        return ""
    path = Path(bpy.path.abspath(str(folder)))
    if not path.is_dir():
        return (f"The model files folder '{path}' does not exist. Fix 'Model files' in the add-on "
                "preferences, or clear it to run without the checkpoint and SMPL files.")
    return ""


@dataclass
class SetupRun(PolledJob):
    """The set-up commands, one after another, in child processes read by a helper thread."""

    env: Path
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    _commands: list[list[str]] = field(default_factory=list)
    _process: subprocess.Popen | None = None

    def start(self) -> None:
        self.env.parent.mkdir(parents=True, exist_ok=True)
        self._commands = setup_commands(self.env)
        self._next()

    def _next(self) -> None:
        command = self._commands.pop(0)
        self.log.append("$ " + " ".join(command))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         errors="replace", env=env)
        threading.Thread(target=self._pump, args=(self._process,), daemon=True).start()

    def _pump(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.log.append(line.rstrip())

    @property
    def status(self) -> str:
        return self.log[-1] if self.log else "starting"

    def poll(self) -> None:
        if self._process.poll() is None:
            return
        if self._process.returncode != 0:
            self.fail("Setting up the backend failed:\n" + "\n".join(list(self.log)[-8:]))
        elif self._commands:
            self._next()
        else:
            self.state = FINISHED

    def cancel(self) -> None:
        if not self.done:
            self.close()
            self.fail("Set-up cancelled; press 'Set up backend' to start again.")

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()


@dataclass
class CheckRun(BackendJob):
    """Start the backend, ask for its version, and describe what it and the model folder offer."""

    python: str
    model_folder: str
    report: list[str] = field(default_factory=list)
    _ready: dict[str, Any] | None = None
    _started: float = 0.0
    stop_timeout_s = 1.0

    def start(self) -> None:
        self._started = time.monotonic()
        self.launch(self.python, {"type": "version", "id": new_request_id("check")},
                    model_folder(self.model_folder))  # raises LaunchFailed with advice

    @property
    def status(self) -> str:
        return "asking the backend for its version" if self._ready else "starting the backend"

    def handle(self, event: dict[str, Any]) -> None:
        if event.get("type") == "ready":
            self._ready = event
        elif event.get("type") == "version":
            self._finish(event)
        elif event.get("type") == "error":
            self.fail(event.get("message") or "The backend answered with an error.")

    def died(self) -> str:
        return (f"The backend exited (code {self.process.exit_code}) before answering. Is torch "
                "installed for this interpreter? Press 'Set up backend' to make an environment that has it.")

    def poll(self) -> None:
        super().poll()
        if not self.done and time.monotonic() - self._started > CHECK_TIMEOUT_S:
            self.fail(f"The backend did not answer within {CHECK_TIMEOUT_S:.0f} s.")

    def fail(self, message: str, with_log: bool = True) -> None:
        super().fail(message, with_log)

    def _finish(self, version: dict[str, Any]) -> None:
        devices = ", ".join((self._ready or {}).get("devices") or []) or "unknown"
        found = version.get("model_files") or {}  # what the backend itself resolved
        problem = model_folder_problem(self.model_folder)
        folder = found.get("folder") or "the model files folder"
        self.report = [
            f"Backend {version.get('version')} (protocol {version.get('protocol')}) with torch {version.get('torch')}",
            f"CUDA: {'available' if version.get('cuda') else 'not available, the CPU will be used'}; devices: {devices}",
            *([problem] if problem else []),
            f"Checkpoint: {found['checkpoint']}" if found.get("checkpoint") else
            f"Checkpoint: not found in {folder} (the backend falls back to keypoint mode)",
            f"Body model: {found['body_model']}" if found.get("body_model") else
            "Body model: not found (the procedural demo body is used)",
            f"Estimator for 'Auto': {found.get('estimator') or 'none can run'}",
        ]
        self.state = FINISHED

    def cancel(self) -> None:
        if not self.done:
            self.fail("Check cancelled.")
            self.close()

