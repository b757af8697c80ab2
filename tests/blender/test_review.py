"""The review queue: spans above the threshold, ranked; jumps land on their worst frame and bone."""
from __future__ import annotations

import bpy
import numpy as np

from propose_backend.results import write_results
from propose_blender import compat, importer, review, rig as rig_module

from addon_testing import make_results

NAMES = rig_module.joint_names()


def _clip(tmp_path, blender):
    """12 frames, calm (3°) except: frames 3-5 left_wrist up to 45° (peak 4), frame 9 right_knee 30°,
    frame 10 head 25° (a second bone in the same span), frame 12 no person."""
    data = make_results(num_frames=12, num_samples=2, invalid=(11,))
    degrees = data["uncertainty_deg"]
    degrees[:11] = 3.0
    degrees[2:5, NAMES.index("left_wrist")] = (30.0, 45.0, 22.0)
    degrees[8, NAMES.index("right_knee")] = 30.0
    degrees[9, NAMES.index("head")] = 25.0
    rig = importer.import_results(blender, write_results(tmp_path / "clip.npz", data)).rig
    return rig


def _selected(rig):
    return [b.name for b in rig.pose.bones if compat.pose_bone_selected(b)]


def test_spans_are_ranked_and_marked(blender, tmp_path):
    rig = _clip(tmp_path, blender)
    blender.scene.propose_review.threshold = 20.0
    found = review.queue(rig, 20.0)
    assert found.start.tolist() == [3, 9] and found.end.tolist() == [5, 10]
    assert found.peak_frame.tolist() == [4, 9]
    assert [NAMES[j] for j in found.peak_joint] == ["left_wrist", "right_knee"]
    np.testing.assert_allclose(found.peak_deg, [45.0, 30.0], atol=1e-4)
    assert found.rank.tolist() == [0, 1]
    markers = sorted((m.frame, m.name) for m in blender.scene.timeline_markers)
    assert markers == [(4, "? left_wrist 45°"), (9, "? right_knee 30°")]
    assert len(review.queue(rig, 26.0)) == 2 and len(review.queue(rig, 31.0)) == 1  # threshold splits/keeps
    blender.scene.timeline_markers.new("shot 2", frame=7)
    blender.scene.propose_review.threshold = 31.0  # markers follow the threshold; the user's marker stays
    assert sorted((m.frame, m.name) for m in blender.scene.timeline_markers) == [(4, "? left_wrist 45°"),
                                                                                  (7, "shot 2")]


def test_next_and_previous_land_on_peaks_and_select_the_bone(blender, tmp_path):
    rig = _clip(tmp_path, blender)
    scene = blender.scene
    scene.frame_set(1)
    assert bpy.ops.propose.review_next() == {"FINISHED"}
    assert scene.frame_current == 4 and _selected(rig) == ["left_wrist"]
    assert rig.data.bones.active.name == "left_wrist" and rig.mode == "POSE"
    assert bpy.ops.propose.review_next() == {"FINISHED"}
    assert scene.frame_current == 9 and _selected(rig) == ["right_knee"]
    assert bpy.ops.propose.review_next() == {"CANCELLED"}  # nothing after: stays
    assert scene.frame_current == 9
    assert bpy.ops.propose.review_previous() == {"FINISHED"}
    assert scene.frame_current == 4 and _selected(rig) == ["left_wrist"]
    assert bpy.ops.propose.review_jump(rank=1) == {"FINISHED"}
    assert scene.frame_current == 9


def test_selected_bones_only_ranks_those_bones(blender, tmp_path):
    rig = _clip(tmp_path, blender)
    scene = blender.scene
    review.select_bone(blender, rig, "head")
    scene.propose_review.selected_only = True
    found = review.queue(rig, 20.0, review.considered_joints(rig, True))
    assert found.peak_frame.tolist() == [10] and [NAMES[j] for j in found.peak_joint] == ["head"]
    scene.frame_set(1)
    assert bpy.ops.propose.review_next() == {"FINISHED"}
    assert scene.frame_current == 10 and _selected(rig) == ["head"]


def test_queue_survives_save_and_reload(blender, tmp_path):
    _clip(tmp_path, blender)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "scene.blend"))
    rig = rig_module.find_rigs(bpy.context.scene)[0]
    found = review.queue(rig, 20.0)
    assert found.peak_frame.tolist() == [4, 9]
    bpy.context.scene.frame_set(1)
    bpy.context.view_layer.objects.active = rig
    assert bpy.ops.propose.review_next() == {"FINISHED"} and bpy.context.scene.frame_current == 4


def test_spans_on_a_long_table_match_a_plain_loop():
    rng = np.random.default_rng(1)
    frames = np.arange(1, 5001)
    degrees = rng.gamma(2.0, 6.0, size=(5000, 24)).astype(np.float32)
    found = review.spans(frames, degrees, 35.0)
    worst = degrees.max(1)
    expected, run = [], []
    for f, w in zip(frames, worst):
        if w >= 35.0:
            run.append((f, w))
        elif run:
            expected.append(run)
            run = []
    if run:
        expected.append(run)
    assert len(found) == len(expected) > 100
    assert found.start.tolist() == [r[0][0] for r in expected]
    assert found.end.tolist() == [r[-1][0] for r in expected]
    assert found.peak_frame.tolist() == [max(r, key=lambda x: x[1])[0] for r in expected]
    assert list(found.peak_deg[found.rank]) == sorted(found.peak_deg, reverse=True)


def test_review_panels_draw(blender, tmp_path):
    from propose_blender.ui import review as review_panel
    from test_panel import _draw

    rig = _clip(tmp_path, blender)
    blender.scene.frame_set(4)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.propose.show_ghosts()
    bpy.ops.propose.select_ghost(index=1)
    drawn = [line for cls in review_panel.CLASSES for line in _draw(cls, bpy.context)]
    assert drawn.count("operator propose.review_jump") == 2
    assert "prop threshold" in drawn and "prop show_colors" in drawn
    assert "operator propose.apply_ghost_bones" in drawn
    assert "label This span: frames 3–5" in drawn


def test_snapshot_stills_carry_the_legend(blender, tmp_path):
    from propose_blender import snapshot, uncertainty

    rig = _clip(tmp_path, blender)
    blender.scene.frame_set(4)
    still = snapshot.render_overlay(rig, None, tmp_path / "overlay.png")
    image = bpy.data.images.load(str(still))
    w, h = image.size
    pixels = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(pixels)
    picture = pixels.reshape(h, w, 4)[::-1, :, :3]  # top row first
    assert h == blender.scene.render.resolution_y + 30  # the strip is added under the picture
    strip = picture[-30:]
    for _label, rgb in uncertainty.legend():  # every swatch's colour is in the strip, exactly
        assert np.any(np.all(np.abs(strip - np.array(rgb)) < 2.5 / 255, axis=2)), rgb
    assert "ProPose legend" not in bpy.data.scenes and not any("legend" in o.name for o in bpy.data.objects)


def test_the_ghosts_still_is_opaque_and_alike_on_every_blender(blender, tmp_path):
    """The ghosts still has no footage behind it. Workbench without a world leaves its background
    transparent, white under the alpha on 4.2 and black on 4.5 / 5.0, so the picture (its dark labels
    included) changed with the viewer and the release. It is laid on a white backdrop: every pixel opaque,
    the background white, on each release."""
    from propose_blender import snapshot

    rig = _clip(tmp_path, blender)
    blender.scene.frame_set(4)
    still = snapshot.render_ghosts(rig, tmp_path / "ghosts.png", resolution=(400, 150))
    image = bpy.data.images.load(str(still))
    w, h = image.size
    pixels = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(pixels)
    picture = pixels.reshape(h, w, 4)[::-1]  # top row first
    assert picture[..., 3].min() == 1.0
    np.testing.assert_allclose(picture[2, 2, :3], snapshot.BACKDROP, atol=1 / 255)
    assert np.ptp(picture[:150, :, :3].reshape(-1, 3), axis=0).max() > 0.3  # the bodies are there
