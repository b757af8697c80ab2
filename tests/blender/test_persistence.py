"""Everything survives saving and reopening the .blend: keys, curves, colours, samples, ghosts, handler."""
from __future__ import annotations

import bpy
import numpy as np

from propose_blender import ghosts, importer, rig as rig_module, uncertainty

from addon_testing import evaluated_smpl_rotations


def test_save_and_reload_keeps_the_rig_working(blender, results_file, tmp_path):
    path, data = results_file(num_frames=4, num_samples=3)
    importer.import_results(blender, path).rig
    blender.scene.frame_set(2)
    bpy.ops.propose.show_ghosts()
    camera = (blender.scene.camera.name, blender.scene.camera.data.lens, tuple(blender.scene.camera.matrix_world.col[3]))
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    path.unlink()  # the .blend must not need the results file any more

    bpy.ops.wm.read_factory_settings(use_empty=True)  # then open it like a fresh session would
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    (rig,) = rig_module.find_rigs(scene)
    assert (scene.camera.name, scene.camera.data.lens, tuple(scene.camera.matrix_world.col[3])) == camera
    for frame in (1, 4):
        scene.frame_set(frame)
        np.testing.assert_allclose(evaluated_smpl_rotations(rig), data["rotmats"][frame - 1], atol=1e-4)
        classes = uncertainty.class_of(data["uncertainty_deg"][frame - 1])
        palette = np.array(uncertainty.CLASS_COLORS)
        shown = np.array([rig.pose.bones[n].color.custom.normal for n in rig_module.joint_names()])
        np.testing.assert_allclose(shown, palette[classes], atol=0.005)
    assert [ghosts.ghost_index(g) for g in ghosts.ghosts_of(rig)] == [0, 1, 2]
    scene.frame_set(2)
    bpy.context.view_layer.objects.active = rig
    assert bpy.ops.propose.apply_ghost(index=1) == {"FINISHED"}
    np.testing.assert_allclose(evaluated_smpl_rotations(rig), data["samples"][1, 1], atol=1e-4)
