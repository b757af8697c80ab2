"""Several people in one scene: a rig and body per person, their own colours and ghosts, merge and split."""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest

from addon_testing import make_results
from motion_checks import world_heads
from propose_backend import people_file, results
from propose_blender import camera, cast, ghosts, motion, review, uncertainty
from propose_blender import rig as rig_module
from propose_blender.names import CAST, PERSON


def _clip(tmp_path: Path, people: dict[int, dict]) -> Path:
    """A clip index with these people's results beside it, as a multi-person run writes them."""
    output = tmp_path / "street.npz"
    entries = []
    for number, data in people.items():
        data = dict(data, person=np.int64(number),
                    identity_confidence=np.asarray(data["valid"], np.float32) * (1.0 if number != 2 else 0.4))
        path = results.write_results(people_file.person_path(output, number), data)
        entries.append(people_file.describe_person(number, data, path.name))
    return people_file.write_index(people_file.index_path(output), {"source": "", "fps": 25.0}, entries)


def _person(seed: int, frames: range) -> dict:
    data = make_results(num_frames=len(frames), num_samples=2, seed=seed)
    data["frame_index"] = np.asarray(list(frames), np.int64)
    data["transl"][:, 0] += seed  # side by side
    return data


def test_two_people_import_side_by_side_with_their_own_colours_and_ghosts(blender, tmp_path):
    index = _clip(tmp_path, {1: _person(0, range(0, 6)), 2: _person(1, range(2, 8))})
    done = cast.import_people(blender, index, "all")
    rigs = cast.rigs(blender.scene)
    assert sorted(rigs) == [1, 2] and len(done.built) == 2
    assert rigs[1].name == "street person 1" and rigs[2].name == "street person 2"
    bodies = {n: next(c for c in r.children if c.type == "MESH") for n, r in rigs.items()}
    colors = {n: tuple(b.data.materials[0].diffuse_color) for n, b in bodies.items()}
    assert colors[1] != colors[2] and bodies[1].data.materials[0] != bodies[2].data.materials[0]
    cameras = [o for o in blender.scene.objects if o.type == "CAMERA"]
    assert len(cameras) == 1 and blender.scene.camera == cameras[0]  # one camera, one world for everyone
    np.testing.assert_allclose(motion.world_of(rigs[1])[0], motion.world_of(rigs[2])[0])
    assert (blender.scene.frame_start, blender.scene.frame_end) == (1, 8)
    # each rig its own samples, uncertainty curves and review queue
    assert ghosts.samples_at(rigs[1], 1) is not None and ghosts.samples_at(rigs[1], 8) is None
    assert ghosts.samples_at(rigs[2], 8) is not None and ghosts.samples_at(rigs[2], 1) is None
    assert uncertainty.at_frame(rigs[1], 2) is not None and uncertainty.at_frame(rigs[2], 7) is not None
    assert review.queue(rigs[1], 0.0) is not None and review.queue(rigs[2], 0.0) is not None
    # the bones of each rig coloured by that person's own uncertainty
    blender.scene.frame_set(3)
    a = uncertainty.at_frame(rigs[1], 3)
    b = uncertainty.at_frame(rigs[2], 3)
    assert not np.allclose(a, b)
    # ghosts shown for both at once, each set following its own person
    first, second = ghosts.show(rigs[1], 3, 0.8), ghosts.show(rigs[2], 3, 0.8)
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    assert set(ghosts.ghosts_of(rigs[1])) == set(first) and set(ghosts.ghosts_of(rigs[2])) == set(second)


def test_everyone_filmed_by_one_moving_camera_stands_in_one_world(blender, tmp_path):
    from test_camera_path import _camera_path, _pelvis_world

    path = _camera_path(10)  # the clip's one camera path (the backend writes it into every person's file)
    first, second = _person(0, range(0, 6)), _person(1, range(3, 10))
    for data in (first, second):
        data["world_from_camera"] = path[data["frame_index"]]
        data["meta"]["camera"] = {"method": "test", "still": False}
    index = _clip(tmp_path, {1: first, 2: second})
    cast.import_people(blender, index, "all")
    scene, rigs = blender.scene, cast.rigs(blender.scene)
    cameras = [o for o in scene.objects if o.type == "CAMERA"]
    assert len(cameras) == 1 and scene.camera == cameras[0]
    expected = camera.object_matrices(path)
    for t in range(10):  # keyed over both people's frames, first person's and beyond
        scene.frame_set(t + 1)
        np.testing.assert_allclose(np.array(scene.camera.matrix_world), expected[t], atol=1e-4)
    for number, data in ((1, first), (2, second)):  # each body where its camera saw it, in the one world
        frames = [int(f) + 1 for f in data["frame_index"]]
        heads = world_heads(rigs[number], [rig_module.joint_names()[0]], frames)[:, 0]
        np.testing.assert_allclose(heads, _pelvis_world(data), atol=2e-3)


def test_batch_builds_the_chosen_people_and_exports_each(tmp_path):
    from propose_blender import headless as batch

    index = _clip(tmp_path, {1: _person(0, range(0, 5)), 2: _person(1, range(0, 5)), 3: _person(2, range(0, 5))})
    fbx = tmp_path / "street.fbx"
    assert batch.run(["--input", str(index), "--output", str(tmp_path / "street.blend"), "--people", "1,3",
                      "--fbx", str(fbx)]) == ""
    assert sorted(p.name for p in tmp_path.glob("street.person-*.fbx")) == ["street.person-1.fbx", "street.person-3.fbx"]
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "street.blend"))
    assert sorted(o[PERSON] for o in bpy.data.objects if o.type == "ARMATURE" and PERSON in o) == [1, 3]
    with pytest.raises(batch.BatchFailed, match="person 4 is not in this clip"):
        batch.run(["--input", str(index), "--output", str(tmp_path / "x.blend"), "--people", "4"])


def test_pick_which_people_to_build(blender, tmp_path):
    index = _clip(tmp_path, {1: _person(0, range(0, 6)), 2: _person(1, range(0, 6)), 3: _person(2, range(0, 6))})
    cast.import_people(blender, index, "1,3")
    assert sorted(cast.rigs(blender.scene)) == [1, 3]
    with pytest.raises(cast.CastFailed, match="person 7 is not in this clip"):
        cast.import_people(blender, index, "7")


def test_merge_is_one_undoable_step_joining_two_tracks(blender, tmp_path):
    index = _clip(tmp_path, {1: _person(0, range(0, 5)), 2: _person(1, range(5, 10))})
    bpy.ops.propose.import_people(index_path=str(index), people="all")
    assert "UNDO" in bpy.types.PROPOSE_OT_merge_people.bl_options
    before = blender.scene[CAST]
    assert bpy.ops.propose.merge_people(keep=1, other=2) == {"FINISHED"}
    rigs = cast.rigs(blender.scene)
    assert sorted(rigs) == [1]
    merged = results.read_results(rigs[1][cast.importer.RESULTS_PATH])
    np.testing.assert_array_equal(merged["frame_index"], np.arange(10))
    assert merged["valid"].all() and ghosts.samples_at(rigs[1], 10) is not None
    listed = cast.stored(blender.scene)["people"]
    assert [p["number"] for p in listed] == [1] and listed[0]["first_frame"] == 0 and listed[0]["last_frame"] == 9
    assert blender.scene[CAST] != before  # the list changed with the rigs, in the same step
    assert Path(people_file.person_path(tmp_path / "street.npz", 2)).is_file()  # the old files stay (undo)


def test_split_is_one_undoable_step_making_a_new_person(blender, tmp_path):
    index = _clip(tmp_path, {1: _person(0, range(0, 8))})
    bpy.ops.propose.import_people(index_path=str(index), people="all")
    assert "UNDO" in bpy.types.PROPOSE_OT_split_person.bl_options
    assert bpy.ops.propose.split_person(person=1, frame=4) == {"FINISHED"}  # scene frame 4 = source frame 3
    rigs = cast.rigs(blender.scene)
    assert sorted(rigs) == [1, 2] and rigs[2][PERSON] == 2
    first = results.read_results(rigs[1][cast.importer.RESULTS_PATH])
    second = results.read_results(rigs[2][cast.importer.RESULTS_PATH])
    np.testing.assert_array_equal(first["frame_index"], [0, 1, 2])
    np.testing.assert_array_equal(second["frame_index"], [3, 4, 5, 6, 7])
    assert int(second["person"]) == 2
    with pytest.raises(RuntimeError, match="leaves one side without a frame"):
        bpy.ops.propose.split_person(person=2, frame=1)
