"""Ghost poses: shown per sample, densest first, and applying one rewrites exactly that frame's keys."""
from __future__ import annotations

import bpy
import numpy as np

from propose_blender import ghosts, importer, keyframes

from addon_testing import evaluated_smpl_rotations


def _all_keys(rig) -> dict[tuple[str, int], np.ndarray]:
    bag = keyframes.find_channelbag(rig)
    keys = {}
    for fcurve in bag.fcurves:
        co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
        fcurve.keyframe_points.foreach_get("co", co)
        keys[fcurve.data_path, fcurve.array_index] = co.reshape(-1, 2)
    return keys


def test_ghosts_show_every_sample_in_density_order(blender, results_file):
    path, data = results_file(num_frames=3, num_samples=4)
    rig = importer.import_results(blender, path)
    blender.scene.frame_set(2)
    assert bpy.ops.propose.show_ghosts() == {"FINISHED"}
    shown = ghosts.ghosts_of(rig)
    assert [ghosts.ghost_index(g) for g in shown] == [0, 1, 2, 3]
    assert all(len(g.children) == 1 and g.children[0].type == "MESH" for g in shown)
    _, density = ghosts.samples_at(rig, 2)
    assert list(density) == sorted(density, reverse=True)
    for ghost in shown:  # each ghost wears its own sample
        ghost.location = rig.location
        bpy.context.view_layer.update()
        np.testing.assert_allclose(evaluated_smpl_rotations(ghost), data["samples"][1, ghosts.ghost_index(ghost)],
                                   atol=1e-4)
    blender.scene.frame_set(3)  # ghosts follow the frame
    np.testing.assert_allclose(evaluated_smpl_rotations(shown[0]), data["samples"][2, 0], atol=1e-4)


def test_applying_a_ghost_changes_exactly_that_frames_keys(blender, results_file):
    path, data = results_file(num_frames=5, num_samples=3)
    rig = importer.import_results(blender, path)
    scene = blender.scene
    scene.frame_set(3)
    bpy.ops.propose.show_ghosts()
    before = _all_keys(rig)
    assert bpy.ops.propose.select_ghost(index=2) == {"FINISHED"}
    assert ghosts.ghost_index(bpy.context.active_object) == 2
    assert bpy.ops.propose.apply_ghost() == {"FINISHED"}  # the selected ghost
    after = _all_keys(rig)

    assert before.keys() == after.keys()
    for channel, keys in after.items():
        changed = np.flatnonzero(np.any(keys != before[channel], axis=1))
        frames = set(keys[changed, 0].tolist())
        assert frames <= {3.0}, channel
        assert np.array_equal(keys[:, 0], before[channel][:, 0]), channel  # no key added or moved
    for row, frame in enumerate(range(1, 6)):
        scene.frame_set(frame)
        expected = data["samples"][2, 2] if frame == 3 else data["rotmats"][row]
        np.testing.assert_allclose(evaluated_smpl_rotations(rig), expected, atol=1e-4)
    assert "UNDO" in bpy.types.PROPOSE_OT_apply_ghost.bl_options  # one undo step in the UI


def test_hiding_ghosts_removes_them_and_their_data(blender, results_file):
    path, _ = results_file(num_frames=2, num_samples=3)
    rig = importer.import_results(blender, path)
    objects, armatures = len(bpy.data.objects), len(bpy.data.armatures)
    bpy.ops.propose.show_ghosts()
    assert len(bpy.data.objects) == objects + 6
    bpy.ops.propose.hide_ghosts()
    assert (len(bpy.data.objects), len(bpy.data.armatures)) == (objects, armatures)
    assert not ghosts.ghosts_of(rig)
    assert f"{rig.name} ghosts" not in bpy.data.collections
