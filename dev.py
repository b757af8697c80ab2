#!/usr/bin/env python3
"""One entry point for set-up and the everyday jobs, on Linux, macOS and Windows alike.

    python dev.py demo [ARGS]   # run the no-download demo (creates or reuses the environments first)
    python dev.py test [ARGS]   # the whole suite on the newest Blender, then the add-on suite
                                # (tests/blender) on every older supported Blender; ARGS go to pytest
    python dev.py setup         # only create / update the environments
    ... --blender 4.5 ...       # (test, demo) only these Blender releases, e.g. --blender 4.2,5.0
    python dev.py test --serial # the Blenders one after the other (default: older ones alongside)

The main environment is the project's own `.venv` with the pinned versions of requirements.txt,
including the newest supported `bpy`; it is rebuilt only when requirements.txt changes (a hash is
kept inside it). Every older Blender the add-on supports (propose_blender/compat.py, TESTED_BLENDERS)
gets a light environment `.venv-bpyXY` beside it: only that `bpy`, numpy and pytest, seeing the main
environment's other packages (torch, OpenCV, ...) after its own, for the add-on tests that start the
real backend. Needs Python 3.11: the `bpy` wheels exist for 3.11 only.
"""
from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
# Packages installed without their declared dependencies: anny lists NVIDIA Warp (GPU-only,
# optional: anny falls back to plain LBS) and requests; its real needs are in requirements.txt.
REQUIREMENTS_NO_DEPS = ROOT / "requirements-nodeps.txt"
STAMP = VENV / ".requirements.sha256"
COMPAT = ROOT / "propose_blender" / "compat.py"
ADDON_TESTS = "tests/blender"


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


def tested_blenders() -> tuple[str, ...]:
    """The supported `bpy` releases, oldest first: compat.TESTED_BLENDERS, read without importing bpy."""
    for node in ast.parse(COMPAT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TESTED_BLENDERS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    sys.exit(f"{COMPAT} has no TESTED_BLENDERS table.")


def pinned(package: str) -> str:
    """The version requirements.txt pins `package` to."""
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.strip().lower() == package:
            return version.strip()
    sys.exit(f"requirements.txt pins no version of {package}.")


def blender_env(version: str) -> Path:
    major, minor = version.split(".")[:2]
    return ROOT / f".venv-bpy{major}{minor}"


def site_packages(py: str | Path) -> str:
    return subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()


def ensure_blender_env(version: str, main_py: str) -> str:
    """Create (or reuse) the light environment of an older Blender: bpy==version with numpy and pytest as
    pinned in requirements.txt; a .pth line puts the main .venv's packages after its own."""
    env = blender_env(version)
    py = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    main_site = str(Path(site_packages(main_py)).resolve())
    packages = [f"bpy=={version}", f"numpy=={pinned('numpy')}", f"pytest=={pinned('pytest')}"]
    wanted = hashlib.sha256(" ".join([*packages, main_site]).encode()).hexdigest()
    stamp = env / ".propose.sha256"
    if py.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return str(py)
    if not py.exists():
        print(f"Creating {env.name} for Blender {version} ...", flush=True)
        subprocess.run([*find_python311(), "-m", "venv", str(env)], check=True)
    print(f"Installing {' '.join(packages)} into {env.name} ...", flush=True)
    subprocess.run([str(py), "-m", "pip", "--disable-pip-version-check", "install", "--quiet", *packages], check=True)
    Path(site_packages(py), "zz_propose_main_venv.pth").write_text(main_site + "\n", encoding="utf-8")
    stamp.write_text(wanted)
    return str(py)


def pick_blenders(args: list[str]) -> tuple[list[str], list[str]]:
    """(the Blender releases to use, the remaining arguments), from an optional --blender A,B."""
    releases, rest, chosen = tested_blenders(), [], None
    items = iter(args)
    for arg in items:
        if arg == "--blender" or arg.startswith("--blender="):
            chosen = (arg.partition("=")[2] or next(items, "")).split(",")
        else:
            rest.append(arg)
    if chosen is None:
        return list(releases), rest
    picked = [r for r in releases if any(r == c or r.startswith(c + ".") for c in chosen if c)]
    if not picked:
        sys.exit(f"--blender {','.join(chosen)}: choose among the supported releases {', '.join(releases)}.")
    return picked, rest


def plan(blenders: list[str], args: list[str]) -> list[tuple[str, list[str]]]:
    """(Blender release, pytest arguments) of each run: ARGS on the newest Blender; on every older one the
    add-on tests among ARGS' paths (all of tests/blender when ARGS name no path; no run when they name
    only tests that do not involve Blender)."""
    newest = tested_blenders()[-1]
    paths = [a for a in args if not a.startswith("-") and (ROOT / a.split("::")[0]).exists()]
    options = [a for a in args if a not in paths]
    addon_paths = [p for p in paths if Path(p.split("::")[0]).as_posix().startswith(ADDON_TESTS)]
    runs = [(newest, list(args))] if newest in blenders else []
    for version in (v for v in blenders if v != newest):
        if addon_paths or not paths:
            runs.append((version, [*options, *(addon_paths or [ADDON_TESTS])]))
    return runs


def test(py: str, blenders: list[str], args: list[str], serial: bool = False) -> int:
    """Every planned run, then a summary with the time of each; the first failure's exit status.

    The older Blenders' add-on runs go alongside the main run (each in its own process, its output in
    out/tests/, printed when it ends): most of the suite keeps one core busy, so on two cores the
    older runs take little extra time. --serial runs one after the other, with live output."""
    newest, results = tested_blenders()[-1], []
    runs = [(version, py if version == newest else ensure_blender_env(version, py), pytest_args)
            for version, pytest_args in plan(blenders, args)]
    logs = ROOT / "out" / "tests"
    background = []
    for version, python, pytest_args in runs:
        if serial or version == newest:
            continue
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / f"blender-{version}.log").open("w", encoding="utf-8")
        print(f"Blender {version}: add-on suite started alongside (pytest {' '.join(pytest_args)}; "
              f"output in {Path(log.name).relative_to(ROOT)})", flush=True)
        background.append((version, log, time.monotonic(), start_run(python, pytest_args, log)))
    for version, python, pytest_args in runs:
        if not serial and version != newest:
            continue
        what = "suite" if version == newest else "add-on suite"
        print(f"\n=== Blender {version}: {what} (pytest {' '.join(pytest_args)}) ===", flush=True)
        start = time.monotonic()
        code = start_run(python, pytest_args).wait()
        results.append((version, what, code, time.monotonic() - start))
    for version, log, start, process in background:
        code = process.wait()
        results.append((version, "add-on suite", code, time.monotonic() - start))
        log.close()
        lines = Path(log.name).read_text(encoding="utf-8", errors="replace").splitlines()
        print(f"\n=== Blender {version}: add-on suite ({'passed' if code == 0 else 'FAILED'}; the end of "
              f"{Path(log.name).relative_to(ROOT)}) ===")
        print("\n".join(lines[-(200 if code else 3):]), flush=True)
    print("\n=== Summary ===")
    for version, what, code, seconds in results:
        print(f"Blender {version:8s} {what:12s} {'passed' if code == 0 else f'FAILED (exit {code})':18s} "
              f"{seconds / 60:5.1f} min")
    return next((code for *_, code, _ in results if code != 0), 0)


def start_run(python: str, pytest_args: list[str], log=None) -> subprocess.Popen:
    """pytest in its own process, with its own Blender user folder (runs side by side never share one)."""
    user = tempfile.mkdtemp(prefix="propose-blender-user-")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
               BLENDER_USER_RESOURCES=user)
    cache = [] if log is None else ["-p", "no:cacheprovider"]  # side by side: leave .pytest_cache to the main run
    return subprocess.Popen([python, "-m", "pytest", *cache, *pytest_args], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT if log is not None else None)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    job, (blenders, rest) = argv[0], pick_blenders(argv[1:])
    newest = tested_blenders()[-1]
    if pinned("bpy") != newest:
        sys.exit(f"requirements.txt pins bpy {pinned('bpy')} but the newest tested Blender in {COMPAT.name} is "
                 f"{newest}: make them agree.")
    py = str(ensure_venv())
    prepare_body(py)
    if job == "setup":
        for version in tested_blenders()[:-1]:
            ensure_blender_env(version, py)
        return 0
    if job == "test":
        return test(py, blenders, [a for a in rest if a != "--serial"], serial="--serial" in rest)
    if len(blenders) != 1 and "--blender" in " ".join(argv):
        sys.exit("The demo runs on one Blender: --blender X.Y")
    python = py if blenders[-1] == newest else ensure_blender_env(blenders[-1], py)
    return run([python, str(ROOT / "scripts" / "demo.py"), *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
