"""Importing a results file: the rig's evaluated pose, root, camera and frame bookkeeping match the arrays."""
from __future__ import annotations

import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

from propose_backend import geometry
from propose_backend.skeleton import FINGER_JOINT_NAMES, SMPL_JOINT_NAMES, SMPL_PARENTS
from propose_blender import axes, importer, keyframes, motion, rig as rig_module
from propose_blender.results import scene_frames

from addon_testing import FOCAL_PX, IMAGE_SIZE, PRINCIPAL_PT, evaluated_smpl_rotations


def forward_kinematics(rest_joints: np.ndarray, rotmats: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """Joint positions in the camera frame, pelvis at `transl` (plain numpy, independent of the add-on)."""
    return geometry.joint_positions(geometry.world_from_local(rotmats), rest_joints) + np.asarray(transl)


def test_pose_at_every_frame_equals_results(blender, results_file):
    path, data = results_file(num_frames=5, num_samples=2)
    rig = importer.import_results(blender, path).rig
    scene = blender.scene
    assert (scene.frame_start, scene.frame_end) == (1, 5)
    assert scene.render.fps == 25 and abs(scene.render.fps_base - 1.0) < 1e-6
    for row, frame in enumerate(scene_frames(data)):
        scene.frame_set(int(frame))
        np.testing.assert_allclose(evaluated_smpl_rotations(rig), data["rotmats"][row], atol=1e-4)
        joints = forward_kinematics(data["rest_joints"], data["rotmats"][row].astype(np.float64), data["transl"][row])
        heads = np.array([np.array(rig.matrix_world @ rig.pose.bones[n].head) for n in SMPL_JOINT_NAMES])
        rotation, translation = motion.world_of(rig)
        np.testing.assert_allclose(heads, joints @ rotation.T + translation, atol=1e-4)


def test_rig_has_smpl_bones_quaternions_and_skinned_body(blender, results_file):
    path, data = results_file(num_frames=2, num_samples=0)
    rig = importer.import_results(blender, path).rig
    extra = {rig_module.ROOT_BONE, *(rig_module.ik_bone(j) for p in rig_module.IK_SWITCHES.values() for j in p)}
    assert sorted(b.name for b in rig.data.bones) == sorted({*SMPL_JOINT_NAMES, *FINGER_JOINT_NAMES, *extra})
    assert all(b.rotation_mode == "QUATERNION" for b in rig.pose.bones)
    for j, name in enumerate(SMPL_JOINT_NAMES):
        bone, parent = rig.data.bones[name], SMPL_PARENTS[j]
        assert bone.parent.name == (SMPL_JOINT_NAMES[parent] if parent >= 0 else rig_module.ROOT_BONE)
    body = next(c for c in rig.children if c.type == "MESH")
    assert len(body.data.vertices) == len(data["rest_vertices"])
    assert len(body.data.polygons) == len(data["faces"])
    assert [g.name for g in body.vertex_groups] == list(SMPL_JOINT_NAMES + FINGER_JOINT_NAMES)
    assert body.modifiers["Armature"].object == rig
    offset = rig_module.rest_offset(data["rest_joints"], data["rest_vertices"])
    np.testing.assert_allclose(np.array(rig.data.bones["pelvis"].head_local),
                               axes.rest_points_to_armature(data["rest_joints"][0]) + offset, atol=1e-6)


def test_frames_without_a_person_get_no_key(blender, results_file):
    path, _ = results_file(num_frames=5, num_samples=2, invalid=(2,))
    rig = importer.import_results(blender, path).rig
    bag = keyframes.find_channelbag(rig)
    rotation = bag.fcurves.find('pose.bones["left_knee"].rotation_quaternion', index=0)
    assert [k.co.x for k in rotation.keyframe_points] == [1.0, 2.0, 4.0, 5.0]
    valid = bag.fcurves.find('["propose_valid"]')
    assert [valid.evaluate(f) for f in range(1, 6)] == [1.0, 1.0, 0.0, 1.0, 1.0]


def test_the_import_says_what_it_built(blender, results_file, tmp_path):
    """Frames with a person are counted from the results, not from the ghost storage (empty with
    --samples 0), and a missing footage file is a warning, not a failure."""
    path, _ = results_file(num_frames=5, num_samples=0, invalid=(0, 3), frame_step=2)
    built = importer.import_results(blender, path, footage=tmp_path / "gone.mp4")
    assert (built.frames, built.valid_frames, built.first_valid_frame) == (5, 3, 3)  # source frame 2
    assert built.rig in rig_module.find_rigs(blender.scene)
    assert len(built.warnings) == 1 and "gone.mp4" in built.warnings[0]


def test_camera_projects_like_the_pinhole_camera(blender, results_file):
    path, data = results_file(num_frames=3, num_samples=0)
    importer.import_results(blender, path).rig
    scene = blender.scene
    assert (scene.render.resolution_x, scene.render.resolution_y) == IMAGE_SIZE
    camera = scene.camera
    row = 1
    scene.frame_set(int(scene_frames(data)[row]))
    camera_points = data["joints3d"][row].astype(np.float64) + data["transl"][row]
    expected = camera_points[:, :2] / camera_points[:, 2:] * FOCAL_PX + np.asarray(PRINCIPAL_PT)
    rotation, translation = motion.world_of(importer_rig(blender))
    world = camera_points @ rotation.T + translation
    ndc = np.array([world_to_camera_view(scene, camera, Vector(p))[:2] for p in world])
    pixels = np.stack([ndc[:, 0] * IMAGE_SIZE[0], (1 - ndc[:, 1]) * IMAGE_SIZE[1]], axis=1)
    np.testing.assert_allclose(pixels, expected, atol=1e-3)


def importer_rig(blender):
    return next(iter(rig_module.find_rigs(blender.scene)))


def test_unreadable_results_say_what_is_wrong(blender, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    try:
        importer.import_results(blender, broken).rig
    except importer.ImportFailed as exc:
        assert "broken.npz" in str(exc)
    else:
        raise AssertionError("a broken file must not import")
