"""Pins on the rig, and re-solved motion taken back into the keys around them."""
from __future__ import annotations

import importlib.util

import bpy
import numpy as np
import pytest

from propose_blender import compat, importer, keyframes, pins, review, rig as rig_module, rotations

from addon_testing import evaluated_smpl_rotations, make_results

NAMES = rig_module.joint_names()
ELBOW = NAMES.index("left_elbow")
needs_temporal = pytest.mark.skipif(importlib.util.find_spec("propose_backend.temporal") is None,
                                    reason="the temporal smoother (issue 10) has not landed here")


def _all_keys(rig) -> dict:
    bag = keyframes.find_channelbag(rig)
    return {(c.data_path, c.array_index): np.array(keyframes.key_values(c)).T for c in bag.fcurves}


def _pose_elbow(blender, rig, frame: int, turn_deg: float) -> np.ndarray:
    """Bend the left elbow `turn_deg` further on `frame` (in the UI: R in Pose Mode) and pin it."""
    blender.scene.frame_set(frame)
    bone = rig.pose.bones["left_elbow"]
    extra = np.array([np.cos(np.radians(turn_deg) / 2), 0, 0, np.sin(np.radians(turn_deg) / 2)])
    w1, x1, y1, z1 = np.array(bone.rotation_quaternion)
    w2, x2, y2, z2 = extra
    bone.rotation_quaternion = (w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                                w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2)
    review.select_bone(blender, rig, "left_elbow")
    assert bpy.ops.propose.pin_pose() == {"FINISHED"}
    return np.array(bone.rotation_quaternion)


def test_pins_hold_the_posed_rotation_and_survive_save_and_reload(blender, results_file, tmp_path):
    path, _ = results_file(num_frames=8, num_samples=2)
    rig = importer.import_results(blender, path).rig
    posed = _pose_elbow(blender, rig, 4, 25.0)
    frames, joints, rotmats = pins.get(rig)
    assert frames.tolist() == [4] and joints.tolist() == [ELBOW]
    blender.scene.frame_set(5)
    blender.scene.frame_set(4)  # the pose was keyed: it comes back from the curves
    np.testing.assert_allclose(rotations.angle_deg(np.array(rig.pose.bones["left_elbow"].rotation_quaternion),
                                                   posed), 0, atol=1e-3)
    np.testing.assert_allclose(evaluated_smpl_rotations(rig)[ELBOW], rotmats[0], atol=1e-5)  # SMPL's own terms
    assert pins.message(rig) == [{"frame_index": 3, "joint": ELBOW, "rotmat": rotmats[0].tolist()}]
    _pose_elbow(blender, rig, 4, 5.0)  # pinning again on that frame replaces, not adds
    assert len(pins.get(rig)[0]) == 1
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "pinned.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "pinned.blend"))
    rig = rig_module.find_rigs(bpy.context.scene)[0]
    again = pins.get(rig)
    assert again[0].tolist() == [4] and again[1].tolist() == [ELBOW]
    bpy.context.view_layer.objects.active = rig
    assert bpy.ops.propose.remove_pin(index=0) == {"FINISHED"} and not len(pins.get(rig)[0])


def test_pinning_needs_an_estimated_frame_and_a_selected_bone(blender, results_file):
    path, _ = results_file(num_frames=4, num_samples=0, invalid=(2,))
    rig = importer.import_results(blender, path).rig
    review.select_bone(blender, rig, "left_elbow")
    blender.scene.frame_set(3)  # no person there
    with pytest.raises(RuntimeError, match="no estimate"):
        bpy.ops.propose.pin_pose()
    review.select_bone(blender, rig, "left_elbow")
    compat.set_pose_bone_selected(rig.pose.bones["left_elbow"], False)
    blender.scene.frame_set(2)
    with pytest.raises(RuntimeError, match="Select the bones"):
        bpy.ops.propose.pin_pose()
    assert not len(pins.get(rig)[0])


def test_affected_range_is_the_run_of_changed_frames_around_each_pin():
    frames = np.arange(1, 13)
    changed = np.array([0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0], bool)
    assert frames[pins.affected_frames(frames, changed, np.array([7]))].tolist() == [6, 7, 8]
    assert frames[pins.affected_frames(frames, changed, np.array([5]))].tolist() == [5, 6, 7, 8]  # seed included
    assert frames[pins.affected_frames(frames, changed, np.array([2, 12]))].tolist() == [2, 3, 11, 12]


# A pin's influence tapers over about a second of the smoother's motion model (docs/temporal.md): the
# clip is long enough that the re-solved range is a part of it.
CLIP_FRAMES, PIN_FRAME = 120, 60


@needs_temporal
def test_resolve_honours_pins_changes_only_the_affected_range_and_is_reproducible(blender, tmp_path):
    from propose_backend.resolve import pins_from_json, resolve
    from propose_backend.results import write_results

    data = resolve(make_results(num_frames=CLIP_FRAMES, num_samples=2), pins_from_json([]),  # as imported: smoothed
                   seed=1)
    rig = importer.import_results(blender, write_results(tmp_path / "clip.npz", data)).rig
    _pose_elbow(blender, rig, PIN_FRAME, 30.0)
    before = _all_keys(rig)
    solved = resolve(data, pins_from_json(pins.message(rig)), seed=1)
    frames = pins.apply_resolved(rig, solved)
    assert PIN_FRAME in frames and 3 < len(frames) < CLIP_FRAMES  # one range around the pin
    assert np.all(np.diff(frames) == 1)
    after = _all_keys(rig)
    for channel, keys in after.items():
        moved = keys[np.any(keys != before[channel], axis=1), 0]
        assert set(moved.tolist()) <= set(frames.tolist()), channel
    blender.scene.frame_set(PIN_FRAME)
    pinned = pins.get(rig)[2][0]
    np.testing.assert_allclose(evaluated_smpl_rotations(rig)[ELBOW], pinned, atol=2e-4)  # held exactly (float32)
    for f in (int(frames[0]) - 1, int(frames[-1]) + 1):  # just outside, the old keys already agree with the
        if 1 <= f <= CLIP_FRAMES:                                 # re-solve: the new range meets them without a jump
            blender.scene.frame_set(f)
            local = evaluated_smpl_rotations(rig)
            cos = (np.trace(np.swapaxes(local, 1, 2) @ solved["rotmats"][f - 1], axis1=1, axis2=2) - 1) / 2
            assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.2, f
    again = pins.apply_resolved(rig, resolve(data, pins_from_json(pins.message(rig)), seed=1))
    assert len(again) <= 1  # the same pins give the same keys: nothing (but the pin frame) to replace
    for channel, keys in _all_keys(rig).items():
        np.testing.assert_array_equal(keys, after[channel], err_msg=str(channel))
