"""The panel's retarget and export operators, the carried-over colours, and the batch's flags."""
from __future__ import annotations

import bpy
import numpy as np
import pytest

import target_rigs
from motion_checks import world_heads
from propose_blender import bone_map, importer, retarget, uncertainty


def test_retarget_operator_is_one_undo_step_and_carries_the_colours(blender, results_file):
    path, data = results_file(num_frames=4, num_samples=0)
    rig = importer.import_results(blender, path).rig
    target = target_rigs.mixamo_rig()
    blender.view_layer.objects.active = rig
    settings = blender.scene.propose_retarget
    settings.preset, settings.target = "mixamo", target
    assert bpy.ops.propose.retarget() == {"FINISHED"}
    assert target.animation_data.action.name == f"{target.name} from {rig.name}"

    blender.scene.frame_set(2)
    degrees = uncertainty.at_frame(rig, 2)
    names = bone_map.preset("mixamo").resolve(target)
    for joint in ("left_elbow", "head"):
        j = retarget.skeleton_joint_names().index(joint)
        expected = uncertainty.CLASS_COLORS[int(uncertainty.class_of(np.asarray(degrees[j])))]
        color = target.pose.bones[names[joint]].color
        assert color.palette == "CUSTOM" and np.allclose(color.custom.normal, expected, atol=0.01)


def test_retarget_operator_without_target_needs_one_unless_rigify(blender, results_file):
    rig = importer.import_results(blender, results_file(num_frames=2, num_samples=0)[0]).rig
    blender.view_layer.objects.active = rig
    blender.scene.propose_retarget.preset = "ue5"
    with pytest.raises(RuntimeError, match="Pick the target rig"):
        bpy.ops.propose.retarget()


def test_export_operator_writes_the_target_rig(blender, results_file, tmp_path):
    rig = importer.import_results(blender, results_file(num_frames=3, num_samples=0)[0]).rig
    target = target_rigs.ue5_rig()
    retarget.retarget(blender, rig, target, bone_map.preset("ue5"), bone_map.identity())
    settings = blender.scene.propose_retarget
    settings.target, settings.export_path, settings.engine = target, str(tmp_path / "ue5.fbx"), "UNREAL"
    blender.view_layer.objects.active = rig
    assert bpy.ops.propose.export() == {"FINISHED"}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(tmp_path / "ue5.fbx"), anim_offset=0.0)
    again = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    assert "thigh_l" in again.data.bones and again.animation_data.action is not None


@pytest.mark.slow
def test_batch_retargets_onto_a_rig_from_a_file_and_onto_rigify(results_file, tmp_path):
    from propose_blender import headless as batch

    path, _ = results_file(num_frames=4, num_samples=0)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    target_rigs.mixamo_rig("Hero")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "hero.blend"))
    out = tmp_path / "out.blend"
    assert batch.run(["--input", str(path), "--output", str(out), "--retarget", "mixamo",
                      "--target-rig", str(tmp_path / "hero.blend"), "--fbx", str(tmp_path / "hero.fbx")]) == ""
    bpy.ops.wm.open_mainfile(filepath=str(out))
    hero = bpy.data.objects["Hero"]
    assert hero.animation_data.action.name.startswith("Hero from")
    moved = world_heads(hero, ["mixamorig:LeftHand"], range(1, 5))
    assert np.ptp(moved, axis=0).max() > 0.01
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(tmp_path / "hero.fbx"), anim_offset=0.0)
    assert "mixamorig:LeftHand" in next(o for o in bpy.data.objects if o.type == "ARMATURE").data.bones

    assert batch.run(["--input", str(path), "--output", str(tmp_path / "rigify.blend"), "--retarget", "rigify"]) == ""
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "rigify.blend"))
    assert any(o.type == "ARMATURE" and o.data.bones.get("torso") and o.animation_data and o.animation_data.action
               for o in bpy.data.objects)
    with pytest.raises(batch.BatchFailed, match="needs --target-rig"):
        batch.run(["--input", str(path), "--output", str(tmp_path / "x.blend"), "--retarget", "ue5"])
