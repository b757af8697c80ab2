"""dev.py's plan of test runs: the whole suite on the newest Blender, the add-on suite on the older ones."""
from __future__ import annotations

import pytest

import dev


def test_the_supported_blenders_come_from_compat_oldest_first():
    releases = dev.tested_blenders()
    assert releases[0].startswith("4.2.") and releases[-1] == dev.pinned("bpy")
    assert [tuple(map(int, r.split("."))) for r in releases] == sorted(tuple(map(int, r.split("."))) for r in releases)
    assert dev.blender_env("4.2.23").name == ".venv-bpy42"


def test_every_blender_by_default_and_the_add_on_suite_on_the_older_ones():
    *older, newest = dev.tested_blenders()
    runs = dev.plan(list(dev.tested_blenders()), ["-x", "-q"])
    assert runs[0] == (newest, ["-x", "-q"])
    assert runs[1:] == [(version, ["-x", "-q", "tests/blender"]) for version in older]


def test_paths_choose_what_older_blenders_run():
    releases = list(dev.tested_blenders())
    runs = dev.plan(releases, ["tests/backend/test_geometry.py", "-k", "pinhole"])
    assert [version for version, _ in runs] == [releases[-1]]  # no Blender in these tests
    runs = dev.plan(releases, ["tests/blender/test_rig.py::test_skin_material_on_the_body", "tests/test_layout.py"])
    assert runs[1][1] == ["tests/blender/test_rig.py::test_skin_material_on_the_body"]


def test_blender_option_picks_releases():
    picked, rest = dev.pick_blenders(["--blender", "4.5", "-x"])
    assert [p.rsplit(".", 1)[0] for p in picked] == ["4.5"] and rest == ["-x"]
    picked, _ = dev.pick_blenders(["--blender=4.2,5.0"])
    assert [p.rsplit(".", 1)[0] for p in picked] == ["4.2", "5.0"]
    with pytest.raises(SystemExit, match="supported releases"):
        dev.pick_blenders(["--blender", "3.6"])
