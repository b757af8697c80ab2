"""Retargeting a ProPose motion onto other rigs: Mixamo- and UE5-named skeletons built in code."""
from __future__ import annotations

import json
import math

import bpy
import numpy as np
import pytest

import target_rigs
from motion_checks import end_effector_errors, world_heads
from propose_blender import bone_map, compat, importer, retarget

FRAMES = range(1, 9)


def _turn_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _directions(obj, bones, frames) -> np.ndarray:
    """(T, B, 3) world head-to-tail directions, as Blender evaluates them."""
    out = []
    for frame in frames:
        bpy.context.scene.frame_set(frame)
        m = np.array(obj.matrix_world)
        d = np.array([np.array(obj.pose.bones[b].tail - obj.pose.bones[b].head) for b in bones]) @ m[:3, :3].T
        out.append(d / np.linalg.norm(d, axis=-1, keepdims=True))
    return np.array(out)


@pytest.fixture
def source(blender, results_file):
    path, _ = results_file(num_frames=len(FRAMES), num_samples=0)
    return importer.import_results(blender, path).rig


def test_a_rig_retargeted_onto_its_twin_moves_exactly_like_it(blender, source, results_file):
    twin = importer.import_results(blender, results_file(name="twin", num_frames=len(FRAMES), num_samples=0)[0]).rig
    twin.animation_data.action = None
    retarget.retarget(blender, source, twin, bone_map.identity(), bone_map.identity())
    names = list(bone_map.identity().bones.values())
    offset = world_heads(twin, names, FRAMES) - world_heads(source, names, FRAMES)
    # the twin stands on its own floor and starts where it was put: one constant offset, nothing else
    assert np.abs(offset - offset[0, 0]).max() < 1e-3


@pytest.mark.parametrize("build, preset, facing", [(target_rigs.mixamo_rig, "mixamo", 0.0),
                                                   (target_rigs.ue5_rig, "ue5", math.pi / 2)])
def test_bones_point_where_the_source_bones_point(blender, source, build, preset, facing):
    """T-pose source onto an A-pose (Mixamo, cm at 0.01 scale, rolled bones) or a turned UE5 rig."""
    target = build()
    target_bones = bone_map.preset(preset).resolve(target)
    action = retarget.retarget(blender, source, target, bone_map.preset(preset), bone_map.identity())
    assert target.animation_data.action == action and action.frame_range[:] == (1, 8)
    assert not any(pb.constraints for pb in target.pose.bones)
    assert [o.type for o in bpy.data.objects].count("ARMATURE") == 2  # the guide is gone

    limbs = [j for j in target_bones if j.endswith(("shoulder", "elbow", "hip", "knee"))]
    src = _directions(source, limbs, FRAMES) @ _turn_z(facing).T
    tgt = _directions(target, [target_bones[j] for j in limbs], FRAMES)
    angles = np.degrees(np.arccos(np.clip(np.sum(src * tgt, axis=-1), -1, 1)))
    assert angles.max() < 0.5

    errors = end_effector_errors(source, bone_map.identity().resolve(source), target, target_bones, FRAMES,
                                 _turn_z(facing))
    # limbs with other segment proportions land within a few centimetres of the scaled source
    assert max(e.mean() for e in errors.values()) < 0.05


def test_root_travel_is_scaled_by_leg_length_and_the_lower_foot_stays_on_the_floor(blender, source):
    target = target_rigs.ue5_rig(rotation_z=0.0)  # longer legs than the source
    preset = bone_map.preset("ue5")
    names = preset.resolve(target)
    retarget.retarget(blender, source, target, preset, bone_map.identity())
    joints = ["left_hip", "right_hip", "left_ankle", "right_ankle", "left_foot", "right_foot"]
    src = world_heads(source, joints, FRAMES)
    tgt = world_heads(target, [names[j] for j in joints], FRAMES)
    src_rest = np.array([source.matrix_world @ source.data.bones[j].head_local for j in joints])
    tgt_rest = np.array([target.matrix_world @ target.data.bones[names[j]].head_local for j in joints])
    scale = (tgt_rest[:2, 2].mean() - tgt_rest[2:, 2].min()) / (src_rest[:2, 2].mean() - src_rest[2:, 2].min())
    assert scale > 1.05
    travel_src = src[:, :2].mean(1)[:, :2] - src[0, :2].mean(0)[:2]
    travel_tgt = tgt[:, :2].mean(1)[:, :2] - tgt[0, :2].mean(0)[:2]
    assert np.abs(travel_tgt - scale * travel_src).max() < 1e-3
    src_low, tgt_low = src[:, 2:, 2].min(1), tgt[:, 2:, 2].min(1)
    floor = np.percentile(src_low, 2.0)
    assert np.abs((tgt_low - tgt_rest[2:, 2].min()) - scale * (src_low - floor)).max() < 1e-3


def test_a_rig_that_is_not_the_preset_is_refused_with_the_missing_bones(blender, source):
    target = target_rigs.mixamo_rig()
    with pytest.raises(bone_map.BoneMapError, match="UE5 Mannequin rig: it has no bone pelvis"):
        retarget.retarget(blender, source, target, bone_map.preset("ue5"), bone_map.identity())


def test_a_user_bone_map_file_is_checked(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"bones": {"pelvis": "Hips", "left_elbow_typo": "X"}}))
    with pytest.raises(bone_map.BoneMapError, match="left_elbow_typo are not SMPL joint names"):
        bone_map.preset(str(path))
    path.write_text("{ not json")
    with pytest.raises(bone_map.BoneMapError, match="not valid JSON"):
        bone_map.preset(str(path))
    assert {"rigify", "mixamo", "ue5"} <= set(bone_map.preset_names())


def test_rigify_rig_fitted_to_the_body_replays_the_source_on_its_fk_controls(blender, source):
    from propose_blender import rigify_target

    rig = rigify_target.generate(blender, source)
    assert rig.data.bones.get("torso") and rig.data.bones.get("DEF-thigh.L")  # a real generated Rigify rig
    preset = bone_map.preset("rigify")
    names = preset.resolve(rig)
    retarget.retarget(blender, source, rig, preset, bone_map.identity())
    assert rig.pose.bones["upper_arm_parent.L"]["IK_FK"] == 1.0  # limbs follow the FK controls
    keyed = {fc.data_path.split('"')[1] for fc in compat.find_channelbag(rig).fcurves}
    assert keyed == set(names.values()) | {"torso"}
    joints = ["left_wrist", "right_wrist", "left_ankle", "right_ankle", "head", "left_knee"]
    # fitted to the same body and standing on the source's floor: the rig plays over the source
    gap = world_heads(rig, [names[j] for j in joints], FRAMES) - world_heads(source, joints, FRAMES)
    assert np.linalg.norm(gap, axis=-1).max() < 2e-3
    deform = world_heads(rig, ["DEF-forearm.L"], FRAMES)[:, 0]  # the deforming bones follow the controls
    assert np.linalg.norm(deform - world_heads(source, ["left_elbow"], FRAMES)[:, 0], axis=-1).max() < 2e-3


def test_straight_rest_limbs_get_the_slight_bend_rigify_needs():
    """A dead-straight T-pose limb (Anny's rest pose) made Rigify fail ("zero length vectors have no
    valid angle"); the fit bends knees forward and elbows back by ~3 degrees, and leaves bent limbs be."""
    from propose_blender import rigify_target

    points = {"pelvis": np.array([0.0, 0.0, 1.0]), "neck": np.array([0.0, 0.0, 1.5])}  # facing -y, left +x
    for side, x in (("left", 1.0), ("right", -1.0)):
        points.update({f"{side}_hip": np.array([0.1 * x, 0, 1.0]), f"{side}_knee": np.array([0.1 * x, 0, 0.55]),
                       f"{side}_ankle": np.array([0.1 * x, 0, 0.1]), f"{side}_shoulder": np.array([0.2 * x, 0, 1.45]),
                       f"{side}_elbow": np.array([0.5 * x, 0, 1.45]), f"{side}_wrist": np.array([0.8 * x, 0, 1.45])})
    points["right_elbow"] = np.array([-0.5, 0.05, 1.45])  # already bent: untouched
    before = {k: v.copy() for k, v in points.items()}
    rigify_target._bend_straight_limbs(points)
    for side in ("left", "right"):
        assert points[f"{side}_knee"][1] < 0  # forward
    assert points["left_elbow"][1] > 0  # back
    np.testing.assert_array_equal(points["right_elbow"], before["right_elbow"])
    for j in ("left_hip", "left_ankle", "left_shoulder", "left_wrist"):
        np.testing.assert_array_equal(points[j], before[j])


def test_the_target_takes_the_source_colours_and_gives_them_back_when_colours_go_off(blender, source):
    """One uncertainty-to-colour mapping for the rig and the retarget target, and one switch: with
    the colours off, the target's bones have their own colours back, also after a frame change."""
    from propose_blender import uncertainty

    target = target_rigs.mixamo_rig()
    bone = target.pose.bones["mixamorig:LeftForeArm"]
    bone.color.palette = "THEME04"  # the animator's own colour
    retarget.retarget(blender, source, target, bone_map.preset("mixamo"), bone_map.identity())
    blender.scene.frame_set(3)
    degrees = uncertainty.at_frame(source, 3)
    elbow = list(retarget.skeleton_joint_names()).index("left_elbow")
    assert bone.color.palette == "CUSTOM"
    np.testing.assert_allclose(bone.color.custom.normal, uncertainty.colors_of(degrees)[elbow], atol=0.005)
    np.testing.assert_allclose(source.pose.bones["left_elbow"].color.custom.normal, bone.color.custom.normal,
                               atol=0.005)  # the same colour as the source's bone
    uncertainty.set_enabled(blender.scene, False)
    assert bone.color.palette == "THEME04"
    blender.scene.frame_set(4)
    retarget.refresh_colors(blender.scene)
    assert bone.color.palette == "THEME04"  # stays off
    uncertainty.set_enabled(blender.scene, True)
    retarget.refresh_colors(blender.scene)
    assert bone.color.palette == "CUSTOM"
