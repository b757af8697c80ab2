"""Test-suite set-up: make the backend importable from the source tree and keep runs quiet."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT))
# bpy writes user preferences/extensions here; never touch the real user's Blender config.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="propose-blender-user-"))
os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_report_header(config) -> str:  # noqa: ANN001 - pytest's hook
    """Name the Blender this run tests, so each CI log shows which bpy ran its add-on tests."""
    try:
        import bpy
    except ImportError:
        return "bpy: not installed"
    return f"bpy {bpy.app.version_string}"
