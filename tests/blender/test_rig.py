"""The rig an animator works with: root on the floor, world, rolls, collections, IK, names and takes."""
from __future__ import annotations

import bpy
import numpy as np

from propose_backend.results import write_results
from propose_backend.skeleton import SMPL_JOINT_NAMES
from propose_blender import importer, motion, rig as rig_module, world
from propose_blender.results import scene_frames

from addon_testing import make_results


def _world_heads(rig, names):
    return np.array([np.array(rig.matrix_world @ rig.pose.bones[n].head) for n in names])


def test_root_bone_on_the_floor_under_the_pelvis_and_origin_at_the_floor_point(blender, results_file):
    path, data = results_file(num_frames=6, num_samples=0)
    rig = importer.import_results(blender, path).rig
    assert tuple(rig.location) == (0.0, 0.0, 0.0)
    root = rig.data.bones[rig_module.ROOT_BONE]
    assert root.parent is None and rig.data.bones["pelvis"].parent == root
    np.testing.assert_allclose(root.head_local, (0, 0, 0), atol=1e-9)
    body = next(c for c in rig.children if c.type == "MESH")
    rest = np.array([v.co for v in body.data.vertices])
    assert abs(rest[:, 2].min()) < 1e-5  # the rest body stands on the armature origin
    for frame in scene_frames(data):
        blender.scene.frame_set(int(frame))
        root_head, pelvis = _world_heads(rig, [rig_module.ROOT_BONE, "pelvis"])
        assert abs(root_head[2]) < 1e-6  # on the floor
        np.testing.assert_allclose(root_head[:2], pelvis[:2], atol=1e-6)  # under the pelvis
    blender.scene.frame_set(int(scene_frames(data)[0]))
    np.testing.assert_allclose(_world_heads(rig, [rig_module.ROOT_BONE])[0], (0, 0, 0), atol=1e-6)


def test_world_uses_the_results_floor_gravity_up_and_floor_at_zero(blender, tmp_path):
    data = make_results(num_frames=4, num_samples=0)
    tilt = np.deg2rad(12.0)  # a camera pitched down by 12 degrees sees the floor normal tilted
    normal = np.array([0.0, -np.cos(tilt), np.sin(tilt)])
    floor_point = data["transl"][0] + normal * -0.95  # the floor 0.95 m under the first pelvis
    data["floor"] = np.append(normal, -normal @ floor_point).astype(np.float32)
    rig = importer.import_results(blender, write_results(tmp_path / "tilted.npz", data)).rig
    rotation, translation = motion.world_of(rig)
    np.testing.assert_allclose(rotation @ normal, (0, 0, 1), atol=1e-6)
    on_floor = floor_point + np.array([0.3, 0.0, 0.0])  # another floor point
    assert abs((rotation @ on_floor + translation)[2]) < 1e-6
    blender.scene.frame_set(int(scene_frames(data)[0]))
    pelvis = _world_heads(rig, ["pelvis"])[0]
    np.testing.assert_allclose(pelvis, (0.0, 0.0, 0.95), atol=1e-5)
    camera = blender.scene.camera
    np.testing.assert_allclose(np.array(camera.matrix_world.translation), translation, atol=1e-6)


def test_floor_estimated_from_the_feet_when_absent():
    data = make_results(num_frames=8, num_samples=0)
    floor, given = world.clip_floor(data)
    assert not given
    points = world.camera_points(data)
    lowest_foot = (points[:, [7, 8, 10, 11, 29, 30, 31, 32, 33, 34]] @ floor[:3]).min(axis=1) + floor[3]
    assert abs(np.median(lowest_foot)) < 1e-6
    assert floor[:3] @ points[:, 0].mean(0) + floor[3] > 0.5  # the pelvis is well above it


def test_bone_collections_and_names_without_time_stamps(blender, tmp_path):
    data = make_results(num_frames=3, num_samples=0)
    path = write_results(tmp_path / "street walk-20260101-120000.npz", data)
    rig = importer.import_results(blender, path).rig
    assert rig.name == "street walk" and rig.data.name == "street walk"
    assert rig.animation_data.action.name == "street walk motion"
    assert {o.name for o in bpy.data.objects} >= {"street walk", "street walk body", "street walk camera"}
    groups = {c.name: {b.name for b in c.bones} for c in rig.data.collections}
    assert {"Root", "Spine", "Arms", "Hands", "Legs", "IK"} <= set(groups)
    assert groups["Legs"] >= {"left_knee", "right_knee", "left_foot"} and "left_hand" in groups["Hands"]
    assert groups["Spine"] >= {"pelvis", "spine1", "neck", "head"} and "left_elbow" in groups["Arms"]
    covered = set().union(*groups.values())
    assert covered >= set(SMPL_JOINT_NAMES)


def test_knees_and_elbows_bend_about_local_x_consistently_left_and_right(blender, results_file):
    path, _ = results_file(num_frames=2, num_samples=0)
    rig = importer.import_results(blender, path).rig
    x = {n: np.array(rig.data.bones[n].matrix_local.to_3x3().col[0]) for n in SMPL_JOINT_NAMES}
    mirror = np.array([1.0, -1.0, -1.0])  # how an axis of rotation reflects across the body's midplane
    np.testing.assert_allclose(x["left_knee"] * mirror, x["right_knee"], atol=1e-4)
    assert x["left_knee"][0] > 0.95 and x["right_knee"][0] > 0.95  # the hinge is the left-right axis
    np.testing.assert_allclose(x["left_elbow"] * mirror, x["right_elbow"], atol=1e-4)
    # flexing both elbows by the same positive angle about local X moves both hands forward (-y)
    for side in ("left", "right"):
        bone = rig.data.bones[f"{side}_elbow"]
        turn = np.array(bone.matrix_local.to_3x3()) @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
        forearm = np.array(bone.tail_local) - np.array(bone.head_local)
        bent = turn @ np.array(bone.matrix_local.to_3x3()).T @ forearm
        assert bent[1] < -0.5 * np.linalg.norm(forearm), side


def test_ik_is_off_by_default_and_reaches_the_fk_wrist_when_switched_on(blender, results_file):
    path, data = results_file(num_frames=3, num_samples=0)
    rig = importer.import_results(blender, path).rig
    frame = int(scene_frames(data)[1])
    blender.scene.frame_set(frame)
    fk = _world_heads(rig, ["left_wrist", "right_ankle", "left_elbow"])
    constraint = rig.pose.bones["left_elbow"].constraints[0]
    assert constraint.type == "IK" and constraint.influence == 0.0
    rig["ik_arms"], rig["ik_legs"] = 1.0, 1.0
    blender.scene.frame_set(frame + 1)
    blender.scene.frame_set(frame)  # re-evaluates drivers and constraints
    assert abs(constraint.influence - 1.0) < 1e-6
    ik = _world_heads(rig, ["left_wrist", "right_ankle"])
    np.testing.assert_allclose(ik, fk[:2], atol=0.01)  # the IK targets follow the keyed FK motion


def test_rerun_replaces_the_take_or_adds_a_numbered_one(blender, results_file):
    path, _ = results_file(name="walk", num_frames=3, num_samples=2)
    first = importer.import_results(blender, path).rig
    first_name = first.name
    again = importer.import_results(blender, path).rig
    rigs = rig_module.find_rigs(blender.scene)
    assert [r.name for r in rigs] == [first_name] == [again.name] == ["walk"]
    assert "walk motion" in bpy.data.actions and "walk motion.001" not in bpy.data.actions
    assert len([o for o in bpy.data.objects if o.type == "MESH"]) == 1
    assert len([o for o in bpy.data.objects if o.type == "CAMERA"]) == 1
    second = importer.import_results(blender, path, replace=False).rig
    assert second.name == "walk take 2" and second.animation_data.action.name == "walk take 2 motion"
    assert sorted(r.name for r in rig_module.find_rigs(blender.scene)) == ["walk", "walk take 2"]
    third = importer.import_results(blender, path).rig  # replaces the latest take
    assert third.name == "walk take 2"
    assert sorted(r.name for r in rig_module.find_rigs(blender.scene)) == ["walk", "walk take 2"]


def test_skin_material_on_the_body(blender, results_file):
    path, _ = results_file(num_frames=2, num_samples=0)
    rig = importer.import_results(blender, path).rig
    body = next(c for c in rig.children if c.type == "MESH")
    material = body.data.materials[0]
    shader = next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    r, g, b, _ = shader.inputs["Base Color"].default_value
    assert r > g > b and shader.inputs["Subsurface Weight"].default_value > 0


class _Recorder:
    """A stand-in layout: records draw calls and checks every property exists on its owner."""

    def __init__(self, drawn: list[str]) -> None:
        self.drawn = drawn

    def _child(self, *args, **kwargs) -> "_Recorder":
        return _Recorder(self.drawn)

    row = column = box = _child

    def prop(self, data, name: str, **kwargs) -> None:
        if name.startswith('["'):
            assert name[2:-2] in data.keys(), name
        else:
            assert name in data.bl_rna.properties, name
        self.drawn.append(f"prop {name} {kwargs.get('text', '')}")

    def label(self, text: str = "", **kwargs) -> None:
        self.drawn.append(f"label {text}")


def test_rig_panel_offers_the_ik_switches_and_collections(blender, results_file):
    from propose_blender.ui import rig as rig_panel

    path, _ = results_file(num_frames=2, num_samples=0)
    rig = importer.import_results(blender, path).rig
    blender.view_layer.objects.active = rig
    drawn: list[str] = []
    rig_panel.PROPOSE_PT_rig.draw(type("Drawn", (), {"layout": _Recorder(drawn)})(), blender)
    assert 'prop ["ik_arms"] Arms IK' in drawn and 'prop ["ik_legs"] Legs IK' in drawn
    assert "prop is_visible Legs" in drawn and "prop is_visible Hands" in drawn
