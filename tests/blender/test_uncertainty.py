"""Bone colours follow the posterior uncertainty per frame, through the persistent frame handler."""
from __future__ import annotations

import bpy
import numpy as np

from propose_backend.results import write_results
from propose_blender import importer, rig as rig_module, uncertainty

from addon_testing import make_results


def _classes(rig) -> dict[str, int]:
    """Legend entry (0..4 by uncertainty, 5 = no person) nearest to each bone's colour (stored as 8 bit)."""
    palette = np.array([color for _, color in uncertainty.legend()])
    bones = [rig.pose.bones[n] for n in rig_module.joint_names()]  # the root and IK targets have no uncertainty
    return {b.name: int(np.argmin(np.abs(palette - np.array(b.color.custom.normal)).sum(1))) for b in bones}


def test_colours_differ_for_low_and_high_uncertainty_and_follow_frames(blender, tmp_path):
    data = make_results(num_frames=4, num_samples=0, invalid=(3,))
    data["uncertainty_deg"][0] = 2.0  # frame 1: every bone certain
    data["uncertainty_deg"][1] = 60.0  # frame 2: every bone uncertain
    data["uncertainty_deg"][2, :12], data["uncertainty_deg"][2, 12:] = 7.0, 25.0  # frame 3: mixed
    rig = importer.import_results(blender, write_results(tmp_path / "clip.npz", data)).rig
    scene = blender.scene

    scene.frame_set(1)
    assert set(_classes(rig).values()) == {0}
    assert all(rig.pose.bones[n].color.palette == "CUSTOM" for n in rig_module.joint_names())
    scene.frame_set(2)
    assert set(_classes(rig).values()) == {4}
    scene.frame_set(3)
    mixed = _classes(rig)
    assert (mixed["pelvis"], mixed["neck"]) == (1, 3)  # joints 0..11 at 7 deg, 12.. at 25 deg
    scene.frame_set(4)  # no person found
    assert set(_classes(rig).values()) == {5}
    scene.frame_set(1)
    assert set(_classes(rig).values()) == {0}


def test_uncertainty_is_an_animated_custom_property_per_bone(blender, results_file):
    path, data = results_file(num_frames=3, num_samples=0)
    rig = importer.import_results(blender, path).rig
    for frame in (1, 2, 3):
        blender.scene.frame_set(frame)
        np.testing.assert_allclose(uncertainty.at_frame(rig, frame), data["uncertainty_deg"][frame - 1], atol=1e-4)
        assert abs(rig["propose_unc_left_elbow"] - data["uncertainty_deg"][frame - 1, 18]) < 1e-4


def test_legend_covers_every_class_with_degree_ranges():
    labels = [label for label, _ in uncertainty.legend()]
    assert labels[0].startswith("0–5") and labels[4].startswith("≥ 40") and len(labels) == 6
    lightness = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in uncertainty.CLASS_COLORS]
    assert lightness == sorted(lightness)  # readable without hue: brighter means less certain
    assert list(uncertainty.class_of([0.0, 4.9, 5.0, 19.0, 39.0, 90.0])) == [0, 0, 1, 2, 3, 4]


def _color_states(rig) -> dict:
    return {b.name: (b.color.palette, tuple(b.color.custom.normal), tuple(b.color.custom.select),
                     tuple(b.color.custom.active), b.color.custom.show_colored_constraints) for b in rig.pose.bones}


def test_colour_switch_restores_the_users_own_bone_colours_exactly(blender, results_file):
    path, _ = results_file(num_frames=3, num_samples=0)
    rig = importer.import_results(blender, path).rig
    scene, settings = blender.scene, blender.scene.propose_review
    joints = [rig.pose.bones[name] for name in rig_module.joint_names()]  # the root and IK bones carry no estimate
    assert settings.show_colors and all(b.color.palette == "CUSTOM" for b in joints)
    settings.show_colors = False  # back to how the rig was built: no colours
    assert all(b.color.palette == "DEFAULT" for b in rig.pose.bones)
    # the animator's own colour coding: a theme set on one arm, custom colours on a leg
    rig.pose.bones["left_elbow"].color.palette = "THEME04"
    knee = rig.pose.bones["right_knee"].color
    knee.palette = "CUSTOM"
    knee.custom.normal, knee.custom.select, knee.custom.active = (0.9, 0.1, 0.6), (1.0, 0.5, 0.8), (1.0, 1.0, 0.2)
    knee.custom.show_colored_constraints = True
    mine = _color_states(rig)
    settings.show_colors = True
    assert rig.pose.bones["left_elbow"].color.palette == "CUSTOM"
    assert _color_states(rig) != mine
    scene.frame_set(2)
    scene.frame_set(3)
    settings.show_colors = False
    assert _color_states(rig) == mine
    scene.frame_set(1)  # while off, frame changes leave the colours alone
    assert _color_states(rig) == mine
    bpy.ops.wm.save_as_mainfile(filepath=str(path.with_suffix(".blend")))  # the switch is saved
    bpy.ops.wm.open_mainfile(filepath=str(path.with_suffix(".blend")))
    rig = rig_module.find_rigs(bpy.context.scene)[0]
    assert not bpy.context.scene.propose_review.show_colors and _color_states(rig) == mine
