"""compat.py on the Blender this suite runs under (`python dev.py test` runs it on every supported one)."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import bpy
import numpy as np
import pytest

from propose_blender import compat, keyframes, preferences

from addon_testing import ROOT
from test_panel import CheckingLayout


def test_this_blender_is_a_tested_release_and_the_tables_agree():
    import dev

    assert compat.untested_notice() is None, f"bpy {bpy.app.version_string} is not in compat.TESTED_BLENDERS"
    assert dev.tested_blenders() == compat.TESTED_BLENDERS
    assert dev.pinned("bpy") == compat.TESTED_BLENDERS[-1]  # the main environment has the newest
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    oldest = compat.TESTED_BLENDERS[0].split(".")
    assert manifest["blender_version_min"] == f"{oldest[0]}.{oldest[1]}.0"
    docs = (ROOT / "docs" / "addon.md").read_text()
    assert all(version in docs for version in compat.TESTED_BLENDERS)


def test_untested_releases_get_a_one_line_notice():
    assert compat.untested_notice((4, 2, 99)) is None and compat.untested_notice((5, 0, 0)) is None
    assert "newer than the releases ProPose is tested on (4.2, 4.5, 5.0)" in compat.untested_notice((5, 1, 0))
    assert "not one of the releases" in compat.untested_notice((4, 4, 3))
    assert "\n" not in compat.untested_notice((6, 0, 0))


def test_preferences_show_the_notice_on_an_untested_release(blender, monkeypatch):
    monkeypatch.setattr(compat, "TESTED_BLENDERS", ("3.6.0",))  # this Blender is then newer than any tested
    drawn: list[str] = []
    stand_in = type("Preferences", (), {"layout": CheckingLayout(drawn), "backend_python": "", "smooth_motion": True,
                                        "bl_rna": preferences.ProposePreferences.bl_rna})()
    preferences.ProposePreferences.draw(stand_in, blender)
    assert any(line.startswith("label Blender") and "newer than the releases" in line for line in drawn)
    assert "prop backend_python" in drawn  # the rest of the preferences still draws


def test_fcurves_in_groups_and_keys_read_back(blender):
    obj = bpy.data.objects.new("thing", None)
    blender.scene.collection.objects.link(obj)
    assert compat.find_channelbag(obj) is None
    bag = compat.channelbag(obj)
    assert compat.channelbag(obj) == bag and compat.find_channelbag(obj) == bag  # one container, reused
    keyframes.write_vector(bag, "location", np.array([1.0, 2.0, 3.0]), np.arange(9.0).reshape(3, 3), group="Body")
    curve = bag.fcurves.find("location", index=2)
    assert curve.group.name == "Body" and len(bag.fcurves) == 3
    blender.scene.frame_set(2)
    assert tuple(obj.location) == pytest.approx((3.0, 4.0, 5.0))
    compat.new_fcurve(bag, '["weight"]', 0, "")
    assert bag.fcurves.find('["weight"]').group is None


def test_new_materials_have_a_principled_shader_and_bones_select(blender, results_file):
    material = bpy.data.materials.new("fresh")
    shader = compat.principled_bsdf(material)
    assert shader is not None and shader.type == "BSDF_PRINCIPLED"
    assert compat.principled_bsdf(material) == shader  # no second node tree or node
    arm = bpy.data.objects.new("arm", bpy.data.armatures.new("arm"))
    blender.scene.collection.objects.link(arm)
    blender.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    arm.data.edit_bones.new("b").tail = (0.0, 0.0, 1.0)
    bpy.ops.object.mode_set(mode="POSE")
    bone = arm.pose.bones["b"]
    for state in (True, False, True):
        compat.set_pose_bone_selected(bone, state)
        assert compat.pose_bone_selected(bone) is state
    assert [b.name for b in bpy.context.selected_pose_bones] == ["b"]  # what operators see
    bpy.ops.object.mode_set(mode="OBJECT")


EXIT_SCRIPT = """
import sys
import bpy
import propose_blender
from propose_blender import importer, rigify_target
bpy.ops.wm.read_factory_settings(use_empty=True)
propose_blender.register()
rig = importer.import_results(bpy.context, sys.argv[1]).rig
bpy.ops.propose.show_ghosts()
rigify_target.generate(bpy.context, rig)  # the Rigify rig registers its own UI script's classes
print("ran", flush=True)
"""


@pytest.mark.parametrize("unregister", [False, True], ids=["left-registered", "unregistered"])
def test_the_bpy_module_exits_cleanly_after_the_add_on_ran(results_file, tmp_path, unregister):
    """4.2 crashed (SIGSEGV) and 4.5 hung on exit once a class with methods was left registered, or
    (4.2) a property group had been registered at all."""
    path, _ = results_file(num_frames=2, num_samples=2)
    script = EXIT_SCRIPT + ("propose_blender.unregister()\n" if unregister else "")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
               BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    assert "ran" in done.stdout, done.stderr[-2000:]
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-2000:]}"
