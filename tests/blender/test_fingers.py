"""Fingers in Blender: 30 bones that curl about X, keyed from the results, coloured, swappable from ghosts."""
from __future__ import annotations

import bpy
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from propose_backend.results import write_results
from propose_backend.skeleton import FINGER_JOINT_NAMES
from propose_blender import ghosts, importer, keyframes, motion, review, rig as rig_module, uncertainty
from propose_blender.fingers import rest_joints

from tests.blender.test_ghosts import _all_keys


def _with_hands(data: dict, seed: int = 0) -> dict:
    """The fixture's results plus finger fields: a random curl per finger joint and frame."""
    rng = np.random.default_rng(seed)
    T, S = data["samples"].shape[:2]
    rest = rest_joints(data["rest_joints"], None)
    out = dict(data)
    curls = rng.uniform(0.1, 1.2, (T, 30))
    out["hand_rest_joints"] = rest[24:].astype(np.float32)
    out["hand_rotmats"] = Rotation.from_rotvec(np.stack([curls * 0, curls * 0, -curls], -1).reshape(-1, 3)) \
        .as_matrix().reshape(T, 30, 3, 3).astype(np.float32)
    out["hand_uncertainty_deg"] = np.where(np.arange(30) < 15, 8.0, 45.0)[None].repeat(T, 0).astype(np.float32)
    out["hand_posterior_F"] = out["hand_rotmats"] * 50
    out["hand_samples"] = Rotation.random(T * S * 30, random_state=seed).as_matrix() \
        .reshape(T, S, 30, 3, 3).astype(np.float32)
    out["hand_valid"] = np.tile([True, False], (T, 1))
    out["hand_score"] = out["hand_valid"].astype(np.float32)
    out["hand_landmarks2d"] = np.zeros((T, 2, 21, 2), np.float32)
    return out


@pytest.fixture
def hands_file(results_file, tmp_path):
    _, data = results_file(num_frames=4, num_samples=3)
    data = _with_hands(data)
    return write_results(tmp_path / "hands.npz", data), data


def test_rig_has_30_finger_bones_that_curl_about_their_x(blender, hands_file):
    path, data = hands_file
    rig = importer.import_results(blender, path).rig
    assert rig_module.finger_names() == FINGER_JOINT_NAMES
    assert all(name in rig.data.collections["Hands"].bones for name in FINGER_JOINT_NAMES)
    for name in FINGER_JOINT_NAMES:
        bone = rig.data.bones[name]
        side = name.split("_")[0]
        assert bone.parent.name == (f"{side}_wrist" if name.endswith("1") else name[:-1] + str(int(name[-1]) - 1))
        # flexing (the backend's flexion axis) turns the bone about its own X, towards the palm (down)
        pose_bone = rig.pose.bones[name]
        pose_bone.rotation_quaternion = (np.cos(0.4), np.sin(0.4), 0.0, 0.0)
        blender.view_layer.update()
        rest_dir = np.array(bone.tail_local - bone.head_local)
        posed_dir = np.array(pose_bone.tail - pose_bone.head)
        parent_rot = np.array(pose_bone.parent.matrix.to_3x3()) @ np.array(pose_bone.parent.bone.matrix_local.to_3x3()).T
        local_dir = parent_rot.T @ posed_dir
        assert np.dot(local_dir, rest_dir) / np.linalg.norm(local_dir) / np.linalg.norm(rest_dir) < np.cos(0.7)
        assert local_dir[2] < rest_dir[2] * np.linalg.norm(local_dir) / np.linalg.norm(rest_dir)  # into the palm
        if "thumb" not in name:  # X lies across the finger, in the palm's plane
            assert abs(np.array(bone.matrix_local.to_3x3())[:, 0][2]) < 0.3
        pose_bone.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)



def test_the_thumbs_curl_across_the_palm(blender, hands_file):
    """The thumb's MCP and IP (thumb2, thumb3) curl about their X like the backend's thumb hinges:
    across the palm, their tips moving towards the middle knuckle more than down. A turn about a
    bone's +X carries its tip along its local +Z."""
    path, _ = hands_file
    rig = importer.import_results(blender, path).rig
    for side in ("left", "right"):
        middle = np.array(rig.data.bones[f"{side}_middle1"].head_local)
        for name in (f"{side}_thumb2", f"{side}_thumb3"):
            bone = rig.data.bones[name]
            frame = np.array(bone.matrix_local.to_3x3())
            towards = middle - np.array(bone.head_local)
            towards = towards - (towards @ frame[:, 1]) * frame[:, 1]
            towards[2] = 0.0
            across, down = frame[:, 2] @ towards / np.linalg.norm(towards), -frame[2, 2]
            assert across > 2.0 * abs(down) and down >= 0.0, (name, across, down)

def test_finger_motion_is_keyed_and_coloured(blender, hands_file):
    path, data = hands_file
    rig = importer.import_results(blender, path).rig
    bag = keyframes.find_channelbag(rig)
    quats = motion.bone_quaternions(rig, np.concatenate([data["rotmats"], data["hand_rotmats"]], 1))
    for j, name in enumerate(FINGER_JOINT_NAMES):
        curve = bag.fcurves.find(f'pose.bones["{name}"].rotation_quaternion', index=0)
        assert curve is not None and len(curve.keyframe_points) == 4
        np.testing.assert_allclose(abs(curve.evaluate(2)), abs(quats[1, 24 + j, 0]), atol=1e-4)
    blender.scene.frame_set(2)
    degrees = uncertainty.at_frame(rig, 2)
    assert degrees.shape == (54,)
    uncertainty.refresh(blender.scene)
    left, right = rig.pose.bones["left_index1"].color.custom.normal, rig.pose.bones["right_index1"].color.custom.normal
    assert not np.allclose(left, right, atol=0.01)  # seen (8°) and unseen (45°) hands differ


def test_a_finger_ghost_changes_one_frame_and_one_finger_only(blender, hands_file):
    path, _ = hands_file
    rig = importer.import_results(blender, path).rig
    before = _all_keys(rig)
    changed = ghosts.apply_to_bones(rig, 1, ["left_index1"], 3, 3)
    assert changed == [3]
    after = _all_keys(rig)
    moved = {channel[0] for channel, keys in after.items() if np.any(keys != before[channel])}
    assert moved and all(any(f'"left_index{k}"' in c for k in (1, 2, 3)) for c in moved), moved
    for channel, keys in after.items():
        rows = np.flatnonzero(np.any(keys != before[channel], axis=1))
        assert set(keys[rows, 0].tolist()) <= {3.0}


def test_results_without_fingers_still_import_with_a_resting_hand(blender, results_file):
    path, _ = results_file(num_frames=2, num_samples=2)
    rig = importer.import_results(blender, path).rig
    assert all(name in rig.data.bones for name in FINGER_JOINT_NAMES)
    assert uncertainty.at_frame(rig, 1).shape == (24,)


@pytest.mark.parametrize("name", ["hands.fbx", "hands.bvh", "hands.glb"])
def test_exports_carry_the_finger_motion(blender, hands_file, tmp_path, name):
    from motion_checks import world_heads
    from propose_blender import export
    from test_export import _reimport

    path, _ = hands_file
    rig = importer.import_results(blender, path).rig
    frames = range(blender.scene.frame_start, blender.scene.frame_end + 1)
    space = "ARMATURE" if name.endswith(".bvh") else "WORLD"
    tips = [n for n in FINGER_JOINT_NAMES if n.endswith("3")]
    before = world_heads(rig, tips, frames, space)
    wrists = world_heads(rig, ["left_wrist", "right_wrist"], frames, space)
    # the fingers move relative to their hands, so a rig that dropped the finger keys would fail below
    relative = before - np.repeat(wrists, 5, axis=1)
    assert np.ptp(relative, axis=0).max() > 0.005
    again = _reimport(export.export(blender, rig, tmp_path / name))
    after = world_heads(again, tips, frames, space)
    assert np.linalg.norm(after - before, axis=-1).max() < 1e-3


def test_rigify_finger_controls_follow_the_fingers(blender, hands_file):
    from propose_blender import bone_map, retarget, rigify_target
    from test_retarget import _directions

    source = importer.import_results(blender, hands_file[0]).rig
    rig = rigify_target.generate(blender, source)
    names = bone_map.preset("rigify").resolve(rig)
    fingers = [n for n in FINGER_JOINT_NAMES if n in names]
    assert len(fingers) == 30 and names["left_index1"] == "f_index.01.L" and names["right_thumb3"] == "thumb.03.R"
    retarget.retarget(blender, source, rig, bone_map.preset("rigify"), bone_map.identity())
    frames = range(blender.scene.frame_start, blender.scene.frame_end + 1)
    want = _directions(source, fingers, frames)
    got = _directions(rig, [names[n] for n in fingers], frames)
    assert np.degrees(np.arccos(np.clip((want * got).sum(-1), -1, 1))).max() < 2.0


def test_a_hand_ghost_swaps_the_wrist_and_its_fingers_only(blender, hands_file):
    rig = importer.import_results(blender, hands_file[0]).rig
    before = _all_keys(rig)
    ghosts.apply_to_bones(rig, 2, ["left_wrist"], 2, 2)
    after = _all_keys(rig)
    moved = {c[0].split('"')[1] for c, keys in after.items() if c[0].startswith("pose.bones")
             and np.any(keys != before[c])}
    assert "left_index3" in moved and moved <= {"left_wrist", "left_hand", *FINGER_JOINT_NAMES[:15]}


def test_the_review_queue_covers_the_fingers(blender, hands_file):
    from propose_blender import review

    rig = importer.import_results(blender, hands_file[0]).rig
    frames, degrees = review.read_table(rig)
    assert degrees.shape == (4, 54)
    found = review.queue(rig, 30.0)  # only the right hand's fingers (45°) are above 30°
    names = rig_module.all_joint_names(rig)
    assert len(found) and {names[int(j)] for j in found.peak_joint} <= set(FINGER_JOINT_NAMES[15:])


@pytest.mark.parametrize("kind", ["smplh", "smplx"])
def test_smplh_and_smplx_bodies_are_skinned_to_the_finger_bones(blender, tmp_path, kind):
    """Results made with an SMPL-H / SMPL-X file carry its finger skinning: in Blender the fingers bend
    the mesh exactly as the backend's 54-joint skinning (smplx's lbs, no pose blend shapes) bends it."""
    import torch
    from smplx.lbs import lbs

    from addon_testing import make_results
    from propose_backend.body import load_body_model
    from propose_backend.body.demo_hands import demo_hands_arrays
    from propose_backend.body.layer import BodyLayer
    from propose_backend.skeleton import RIG_PARENTS

    np.savez(tmp_path / f"{kind.upper()}_NEUTRAL.npz", **demo_hands_arrays(kind))
    layer = BodyLayer(load_body_model(tmp_path / f"{kind.upper()}_NEUTRAL.npz")).double()
    V = layer.v_template.shape[0]
    data = _with_hands(make_results(num_frames=3, num_samples=2, layer=layer))
    betas = data["betas"].astype(np.float64).mean(0)
    data.update(layer.rest_geometry(betas))  # the file's rest hand and finger skinning
    path = write_results(tmp_path / "smplh.npz", data)
    rig = importer.import_results(blender, path).rig
    body = ghosts._body_of(rig)
    assert body is not None and len(body.data.vertices) == V == {"smplh": 6890, "smplx": 10475}[kind]
    assert set(FINGER_JOINT_NAMES) <= {g.name for g in body.vertex_groups}
    row = 1
    blender.scene.frame_set(int(data["frame_index"][row]) + blender.scene.frame_start)
    evaluated = body.evaluated_get(blender.evaluated_depsgraph_get())
    mesh = np.array([(body.matrix_world @ v.co)[:] for v in evaluated.data.vertices])

    b = torch.as_tensor(betas)[None]
    pose = torch.as_tensor(np.concatenate([data["rotmats"][row], data["hand_rotmats"][row]]), dtype=torch.float64)[None]
    regressor = torch.cat([layer.J_regressor, layer.finger_regressor])
    expected, _ = lbs(b, pose, layer.v_template, layer.shapedirs, torch.zeros(53 * 9, V * 3, dtype=torch.float64),
                      regressor, torch.tensor(RIG_PARENTS), torch.from_numpy(layer.rig_weights).double(), pose2rot=False)
    expected = expected[0].numpy()
    # the same shape up to where the importer put the body: align rigidly (scale-free), compare
    a, e = mesh - mesh.mean(0), expected - expected.mean(0)
    u, _, vt = np.linalg.svd(e.T @ a)
    turn = (u @ np.diag([1, 1, np.linalg.det(u @ vt)]) @ vt).T
    error = np.linalg.norm(a - e @ turn.T, axis=1)
    assert error.max() < 2e-3, error.max()
    # and the fingers did bend the hand: with the fingers at rest the hands' vertices differ
    rest_fingers = pose.clone()
    rest_fingers[:, 24:] = torch.eye(3, dtype=torch.float64)
    flat, _ = lbs(b, rest_fingers, layer.v_template, layer.shapedirs, torch.zeros(53 * 9, V * 3, dtype=torch.float64),
                  regressor, torch.tensor(RIG_PARENTS), torch.from_numpy(layer.rig_weights).double(), pose2rot=False)
    assert np.linalg.norm(flat[0].numpy() - expected, axis=1).max() > 0.02


def test_the_review_buttons_and_panels_go_to_a_finger(blender, hands_file):
    """On footage the least sure bone is often a finger (the street clip: every span at 20° peaks on one).
    Next jumps there and selects it, the queue's list names it, and with it active the Uncertainty panel
    shows its value (before: an IndexError / ValueError from the body's 24 names)."""
    from propose_blender import compat
    from propose_blender.ui import panel, review as review_panel
    from test_panel import _draw

    rig = importer.import_results(blender, hands_file[0]).rig
    scene = blender.scene
    scene.propose_review.threshold = 30.0  # the right hand's fingers (45°) only
    blender.view_layer.objects.active = rig
    scene.frame_set(scene.frame_start - 1)  # the one span (every frame) peaks on its first frame
    assert bpy.ops.propose.review_next() == {"FINISHED"}
    chosen = [b.name for b in rig.pose.bones if compat.pose_bone_selected(b)]
    assert len(chosen) == 1 and chosen[0] in FINGER_JOINT_NAMES[15:] and rig.data.bones.active.name == chosen[0]
    assert bpy.ops.propose.review_jump(rank=0) == {"FINISHED"}
    drawn = [line for cls in review_panel.CLASSES for line in _draw(cls, blender)]
    assert "operator propose.review_jump" in drawn
    drawn = _draw(panel.PROPOSE_PT_uncertainty, blender)
    assert f"label {chosen[0]}: 45.0°" in drawn, drawn
    review.select_bone(blender, rig, "root")  # a bone without an uncertainty: no value, no error
    assert not any(line.startswith("label root:") for line in _draw(panel.PROPOSE_PT_uncertainty, blender))


def test_part_of_a_ghost_takes_the_selected_finger_from_the_panel(blender, hands_file):
    """Select one finger's base bone in Pose Mode, pick a ghost, Apply ghost to bones: that finger's three
    bones change on this frame only (before: the button saw no bone selected and refused)."""
    rig = importer.import_results(blender, hands_file[0]).rig
    scene = blender.scene
    scene.frame_set(2)
    blender.view_layer.objects.active = rig
    assert bpy.ops.propose.show_ghosts() == {"FINISHED"}
    review.select_bone(blender, rig, "left_index1")
    before = _all_keys(rig)
    assert bpy.ops.propose.apply_ghost_bones(index=1) == {"FINISHED"}
    after = _all_keys(rig)
    moved = {c[0].split('"')[1] for c, keys in after.items() if np.any(keys != before[c])}
    assert moved == {"left_index1", "left_index2", "left_index3"}
    assert all(set(keys[np.any(keys != before[c], axis=1), 0].tolist()) <= {2.0} for c, keys in after.items())


@pytest.mark.parametrize("preset", ["mixamo", "ue5"])
def test_mixamo_and_ue5_finger_bones_follow_the_fingers(blender, hands_file, preset):
    """Rigs with their own finger chains (Mixamo's four bones a finger, UE5's metacarpals, other rolls, an
    A-pose, centimetres): every mapped finger bone points where the source's does, frame by frame."""
    import target_rigs
    from propose_blender import bone_map, retarget
    from test_retarget import _directions, _turn_z

    source = importer.import_results(blender, hands_file[0]).rig
    rig = target_rigs.mixamo_rig(fingers=True) if preset == "mixamo" else target_rigs.ue5_rig(fingers=True)
    facing = 0.0 if preset == "mixamo" else np.pi / 2  # the UE5 rig faces +X: the motion turns with it
    names = bone_map.preset(preset).resolve(rig)
    assert all(n in names for n in FINGER_JOINT_NAMES)
    retarget.retarget(blender, source, rig, bone_map.preset(preset), bone_map.identity())
    frames = range(blender.scene.frame_start, blender.scene.frame_end + 1)
    want = _directions(source, FINGER_JOINT_NAMES, frames) @ _turn_z(facing).T
    got = _directions(rig, [names[n] for n in FINGER_JOINT_NAMES], frames)
    assert np.degrees(np.arccos(np.clip((want * got).sum(-1), -1, 1))).max() < 2.0
    assert np.degrees(np.arccos(np.clip((got * got[:1]).sum(-1), -1, 1))).max() > 20.0  # they do move


def test_an_uncertain_hand_does_not_hide_the_body_in_the_review_queue(blender, tmp_path, results_file):
    """An unseen hand is uncertain for long stretches (on the street clip some finger is above 20° on 187
    of 205 frames, the body on 24). Ranked together, every body span melted into one finger span whose
    worst bone was a finger, so the list and Next never reached the body. The body and each hand are
    ranked apart: the body's span is in the queue with its own peak, next to the hand's."""
    _, data = results_file(num_frames=8, num_samples=2)
    data = _with_hands(data)
    data["uncertainty_deg"][:] = 3.0
    data["uncertainty_deg"][4, 18] = 35.0  # frame 5: left_elbow
    data["hand_uncertainty_deg"][:, 15:] = 45.0  # the right hand unseen throughout
    data["hand_uncertainty_deg"][:, :15] = 8.0
    rig = importer.import_results(blender, write_results(tmp_path / "hand_and_body.npz", data)).rig
    names = rig_module.all_joint_names(rig)
    found = review.queue(rig, 20.0)
    peaks = sorted((int(f), names[int(j)]) for f, j in zip(found.peak_frame, found.peak_joint))
    assert (5, "left_elbow") in peaks and any(n in FINGER_JOINT_NAMES[15:] for _, n in peaks), peaks
    assert found.span_at(5) is not None and found.span_at(100) is None
    blender.view_layer.objects.active = rig
    blender.scene.propose_review.threshold = 20.0
    blender.scene.frame_set(4)
    assert bpy.ops.propose.review_next() == {"FINISHED"}
    assert blender.scene.frame_current == 5 and rig.data.bones.active.name == "left_elbow"
    assert sorted(m.name for m in blender.scene.timeline_markers if m.name.startswith("? "))[0] == "? left_elbow 35°"
