"""Fixtures for the add-on tests: a clean Blender with the add-on registered, and results files."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import bpy
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # addon_testing (importlib import mode)

import build_addon  # noqa: E402
from addon_testing import EXTENSION_MODULE, make_results  # noqa: E402
from propose_backend.results import write_results  # noqa: E402


@pytest.fixture
def results_file(tmp_path: Path):
    """Write make_results(**kwargs) to a file and return (path, data)."""

    def write(name: str = "clip", **kwargs: Any) -> tuple[Path, dict[str, Any]]:
        data = make_results(**kwargs)
        return write_results(tmp_path / f"{name}.npz", data), data

    return write


@pytest.fixture
def blender():
    """An empty Blender scene with the add-on (from the repository) registered."""
    import propose_blender

    bpy.ops.wm.read_factory_settings(use_empty=True)
    propose_blender.register()
    yield bpy.context
    propose_blender.unregister()


@pytest.fixture
def installed(tmp_path):
    """The extension built from this checkout, installed and enabled in a fresh Blender."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    package = build_addon.build(tmp_path / "propose_blender.zip")
    result = bpy.ops.extensions.package_install_files(filepath=str(package), repo="user_default",
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    yield Path(bpy.utils.user_resource("EXTENSIONS", path="user_default")) / "propose_blender"
    bpy.ops.preferences.addon_disable(module=EXTENSION_MODULE)
    bpy.ops.extensions.package_uninstall(repo_directory=str(Path(bpy.utils.user_resource("EXTENSIONS",
                                                                                         path="user_default"))),
                                         pkg_id="propose_blender")
