#!/usr/bin/env python3
"""One entry point for set-up and the everyday jobs, on Linux, macOS and Windows alike.

    python dev.py demo        # run the no-download demo (creates or reuses .venv first)
    python dev.py test [ARGS] # run the whole test suite (ARGS go to pytest)
    python dev.py setup       # only create / update .venv

The environment is the project's own `.venv` with the pinned versions of requirements.txt.
It is rebuilt only when requirements.txt changes (a hash is kept inside .venv).
Needs Python 3.11: the `bpy` 5.0.1 wheel (Blender as a module, used by the add-on tests) exists
for 3.11 only.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
# Packages installed without their declared dependencies: anny lists NVIDIA Warp (GPU-only,
# optional: anny falls back to plain LBS) and requests; its real needs are in requirements.txt.
REQUIREMENTS_NO_DEPS = ROOT / "requirements-nodeps.txt"
STAMP = VENV / ".requirements.sha256"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def find_python311() -> list[str]:
    """A command that starts Python 3.11: this interpreter if it is one, else a known launcher."""
    if sys.version_info[:2] == (3, 11):
        return [sys.executable]
    candidates = [["py", "-3.11"]] if os.name == "nt" else [["python3.11"]]
    for cmd in candidates:
        if shutil.which(cmd[0]):
            return cmd
    sys.exit("Python 3.11 is needed (bpy 5.0.1 has wheels for 3.11 only) but this is "
             f"{sys.version.split()[0]} and no python3.11 was found. Install Python 3.11 and run "
             "`python3.11 dev.py ...`.")


def ensure_venv() -> Path:
    """Create .venv if missing and install the pinned requirements when they changed."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes() + REQUIREMENTS_NO_DEPS.read_bytes()).hexdigest()
    py = venv_python()
    if py.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return py
    if not py.exists():
        print("Creating .venv ...", flush=True)
        subprocess.run([*find_python311(), "-m", "venv", str(VENV)], check=True)
    print("Installing pinned requirements into .venv (first run takes a few minutes) ...", flush=True)
    pip = [str(py), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "-r", str(REQUIREMENTS_NO_DEPS)], check=True)
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(ROOT / "backend")],
                   check=True)
    STAMP.write_text(wanted)
    return py


def run(args: list[str]) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "backend"), str(ROOT)]))
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def prepare_body(py: str) -> None:
    """Build the licence-free Anny body once per machine (minutes the first time), so no run or test pays
    for it midway; later calls only check that its cache file is there."""
    check = ("from propose_backend.body.anny_source import cache_path; "
             "raise SystemExit(0 if cache_path().is_file() else 1)")
    if run([py, "-c", check]) != 0:
        print("Building the licence-free Anny body once for this machine (a few minutes) ...", flush=True)
        if run([py, "-c", "from propose_backend.body.anny_body import anny_body; anny_body()"]) != 0:
            sys.exit("Building the Anny body failed (see above); `python dev.py setup` retries.")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    py = str(ensure_venv())
    prepare_body(py)
    job, rest = argv[0], argv[1:]
    if job == "setup":
        return 0
    if job == "test":
        return run([py, "-m", "pytest", *rest])
    return run([py, str(ROOT / "scripts" / "demo.py"), *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
