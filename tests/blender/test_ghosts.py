"""Ghost poses: shown per sample, densest first, and applying one rewrites exactly that frame's keys."""
from __future__ import annotations

import bpy
import numpy as np
import pytest

from propose_blender import compat, ghosts, importer, keyframes

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
    rig = importer.import_results(blender, path).rig
    blender.scene.frame_set(2)
    assert bpy.ops.propose.show_ghosts() == {"FINISHED"}
    shown = ghosts.ghosts_of(rig)
    assert [ghosts.ghost_index(g) for g in shown] == [0, 1, 2, 3]
    assert all(sorted(c.type for c in g.children) == ["FONT", "MESH"] for g in shown)  # body and label
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
    rig = importer.import_results(blender, path).rig
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


def test_hiding_ghosts_removes_them_and_their_data(blender, results_file):
    path, _ = results_file(num_frames=2, num_samples=3)
    rig = importer.import_results(blender, path).rig
    objects, armatures = len(bpy.data.objects), len(bpy.data.armatures)
    bpy.ops.propose.show_ghosts()
    assert len(bpy.data.objects) == objects + 9  # per ghost: armature, body, label
    bpy.ops.propose.hide_ghosts()
    assert (len(bpy.data.objects), len(bpy.data.armatures)) == (objects, armatures)
    assert not ghosts.ghosts_of(rig)
    assert f"{rig.name} ghosts" not in bpy.data.collections


def _quats(rig, frame):
    """Pose-bone quaternions (24, 4) the keys give on `frame`, sign-normalised (w >= 0)."""
    from propose_blender import motion, rig as rig_module

    q = np.array([[c.evaluate(frame) for c in motion.rotation_curves(rig, n)] for n in rig_module.joint_names()])
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.where(q[:, :1] < 0, -q, q)


def _angle(a, b):
    return np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(a * b, axis=-1)), 0, 1)))


def test_part_of_a_ghost_changes_only_the_chosen_chain_on_this_frame(blender, results_file):
    from propose_blender import review, rig as rig_module

    path, data = results_file(num_frames=5, num_samples=3)
    rig = importer.import_results(blender, path).rig
    names = rig_module.joint_names()
    arm = ["left_shoulder", "left_elbow", "left_wrist", "left_hand"]
    before = _all_keys(rig)
    blender.scene.frame_set(3)
    review.select_bone(blender, rig, "left_shoulder")
    bpy.ops.propose.show_ghosts()
    bpy.ops.propose.select_ghost(index=1)
    assert bpy.ops.propose.apply_ghost_bones() == {"FINISHED"}
    after = _all_keys(rig)
    for (path_, index), keys in after.items():
        changed = set(keys[np.any(keys != before[path_, index], axis=1), 0].tolist())
        bone = path_.split('"')[1] if path_.startswith("pose.bones") else None
        assert changed <= ({3.0} if bone in arm and "rotation" in path_ else set()), path_
    blender.scene.frame_set(3)
    smpl = evaluated_smpl_rotations(rig)
    for j, name in enumerate(names):
        expected = data["samples"][2, 1, j] if name in arm else data["rotmats"][2, j]
        np.testing.assert_allclose(smpl[j], expected, atol=1e-4, err_msg=name)


def test_part_of_a_ghost_over_a_range_eases_in_and_out(blender, results_file):
    from propose_blender import review, rig as rig_module

    path, data = results_file(num_frames=20, num_samples=2)
    rig = importer.import_results(blender, path).rig
    scene = blender.scene
    j = rig_module.joint_names().index("right_knee")
    original = {f: _quats(rig, f) for f in range(1, 21)}
    sample = {f: ghosts.samples_at(rig, f)[0][0] for f in range(1, 21)}
    review.select_bone(blender, rig, "right_knee")
    settings = scene.propose_review
    settings.ghost_use_range, settings.ghost_first, settings.ghost_last, settings.ghost_ease = True, 5, 16, 3
    assert bpy.ops.propose.apply_ghost_bones(index=0) == {"FINISHED"}
    weights = []
    for f in range(1, 21):
        now = _quats(rig, f)
        others = [k for k in range(24) if k not in (j, j + 3, j + 6)]  # knee, ankle, foot follow
        np.testing.assert_allclose(_angle(now[others], original[f][others]), 0, atol=1e-3)
        to_original, to_sample = _angle(now[j], original[f][j]), _angle(now[j], sample[f][j])
        total = _angle(original[f][j], sample[f][j])
        weights.append(to_original / total if total > 1e-3 else 0.0)
        assert abs(to_original + to_sample - total) < 0.05  # on the arc between the two poses
    weights = np.array(weights)
    np.testing.assert_allclose(weights[:4], 0, atol=1e-3)  # frames 1-4 untouched
    np.testing.assert_allclose(weights[16:], 0, atol=1e-3)  # frames 17-20 untouched
    np.testing.assert_allclose(weights[7:13], 1, atol=1e-3)  # fully the sample inside
    np.testing.assert_allclose(weights[4:16], ghosts.ease_weights(np.arange(5, 17), 5, 16, 3), atol=2e-3)
    assert 0 < weights[4] < 0.25 and 0 < weights[15] < 0.25  # small first and last steps: no pop
    assert np.all(np.diff(weights[3:8]) > 0) and np.all(np.diff(weights[12:17]) < 0)


def test_part_of_a_ghost_needs_selected_bones(blender, results_file):
    path, _ = results_file(num_frames=3, num_samples=2)
    rig = importer.import_results(blender, path).rig
    for bone in rig.pose.bones:
        compat.set_pose_bone_selected(bone, False)
    before = _all_keys(rig)
    with pytest.raises(RuntimeError, match="Select the bones"):
        bpy.ops.propose.apply_ghost_bones(index=0)
    assert all(np.array_equal(v, before[k]) for k, v in _all_keys(rig).items())


def test_ghost_labels_show_rank_and_density_relative_to_the_mode(blender, results_file):
    from propose_blender import rig as rig_module

    path, data = results_file(num_frames=2, num_samples=3)
    rig = importer.import_results(blender, path).rig
    blender.scene.frame_set(2)
    bpy.ops.propose.show_ghosts()
    for ghost in ghosts.ghosts_of(rig):
        index = ghosts.ghost_index(ghost)
        label = ghosts.label_of(ghost)
        value = data["sample_log_density"][1, index]
        assert label.data.body == f"#{index + 1}\nΔlog p {value:.1f}".replace("-", "−")
        assert rig_module.rig_of(label) is rig and ghosts.ghost_index(label) == index  # clicking it picks it
    blender.scene.frame_set(1)  # labels follow the frame with the ghosts
    first = ghosts.label_of(ghosts.ghosts_of(rig)[0])
    assert first.data.body == ghosts.label_text(1, float(data["sample_log_density"][0, 0]))
    bpy.context.view_layer.update()
    head = ghosts.ghosts_of(rig)[0]
    tip = head.matrix_world @ head.pose.bones["head"].tail
    assert (first.matrix_world.translation - tip).length < 1e-4  # rides on the head


def test_ghosts_of_a_smoothed_clip_are_whole_motions_ranked_by_their_clip_density(blender, results_file, tmp_path):
    """The file, the labels and the panel say the same: ghost N of a smoothed clip is the N-th densest
    motion (log density summed over the clip), not the N-th densest pose on each frame."""
    from propose_backend.results import is_coherent, motion_log_density, write_results
    from propose_backend.temporal.smooth import smooth_results
    from propose_blender.ui import panel
    from test_panel import _draw

    _, data = results_file(num_frames=30, num_samples=4)
    smoothed = smooth_results(data, seed=3)
    assert is_coherent(smoothed)
    motion = motion_log_density(smoothed)
    assert np.all(np.diff(motion) <= 1e-3 * len(motion))  # the file: densest motion first
    per_frame = smoothed["sample_log_density"]
    assert np.any(np.diff(per_frame, axis=1) > 0)  # ... which is not every frame's own order
    rig = importer.import_results(blender, write_results(tmp_path / "smoothed.npz", smoothed)).rig
    np.testing.assert_allclose(rig[ghosts.SAMPLE_MOTION_DENSITY], motion, rtol=1e-5)
    bpy.ops.propose.show_ghosts()
    for frame in (1, 17):
        blender.scene.frame_set(frame)
        for ghost in ghosts.ghosts_of(rig):
            index = ghosts.ghost_index(ghost)
            value = f"{per_frame[frame - 1, index]:.1f}".replace("-", "−")
            assert ghosts.label_of(ghost).data.body == f"motion #{index + 1}\nΔlog p {value}"
    drawn = _draw(panel.PROPOSE_PT_ghosts, blender)
    assert "label Ranked as whole motions (densest over the clip)" in drawn
    # per-frame results keep per-frame ranks, and say so
    path, _ = results_file(name="raw", num_frames=3, num_samples=2)
    raw_rig = importer.import_results(blender, path).rig
    assert not ghosts.are_motions(raw_rig)
    blender.view_layer.objects.active = raw_rig
    bpy.ops.propose.show_ghosts()
    assert ghosts.label_of(ghosts.ghosts_of(raw_rig)[0]).data.body.startswith("#1\n")
    assert "label Ranked on this frame (densest first)" in _draw(panel.PROPOSE_PT_ghosts, blender)


def _mesh_pieces(faces: np.ndarray, count: int) -> np.ndarray:
    """Connected piece of every vertex (the smallest vertex index it reaches)."""
    piece = np.arange(count)
    while True:
        reached = piece.copy()
        low = np.minimum(piece[faces], piece[np.roll(faces, 1, axis=1)])
        np.minimum.at(reached, faces, low)
        np.minimum.at(reached, np.roll(faces, 1, axis=1), low)
        reached = reached[reached]
        if np.array_equal(reached, piece):
            return piece
        piece = reached


def test_translucent_ghosts_show_nothing_from_inside_the_head(blender, results_file):
    """The Anny body models eyeballs, teeth and tongue inside the head: a translucent ghost must not
    show them (or the mouth behind the lips) through its skin, and must keep the skin itself."""
    path, data = results_file(num_frames=2, num_samples=2)
    rig = importer.import_results(blender, path).rig
    bpy.ops.propose.show_ghosts()
    rest, faces = np.asarray(data["rest_vertices"]), np.asarray(data["faces"])
    piece = _mesh_pieces(faces, len(rest))
    sizes = np.bincount(piece, minlength=len(rest))
    small = [p for p in np.flatnonzero(sizes) if p != np.argmax(sizes)]
    assert len(small) == 3  # the Anny body: mouth (teeth and tongue) and two eyeballs
    group = ghosts.OUTER_SURFACE
    body = next(c for c in rig.children if c.type == "MESH" and ghosts.GHOST_OF not in c)
    shown = np.array([any(g.group == body.vertex_groups[group].index for g in v.groups) for v in body.data.vertices])
    assert not shown[np.isin(piece, small)].any()  # no eyeball, tooth or tongue
    skin = piece == np.argmax(sizes)
    assert shown[skin].mean() > 0.9 and shown[np.argmax(np.where(skin, rest[:, 2], -np.inf))]  # nose tip shows
    inside_skin = rest[skin & ~shown]  # the mouth behind the lips, the sockets behind the eyes: in the face
    face = rest[np.isin(piece, small)]
    assert len(inside_skin) > 50 and np.all(np.linalg.norm(inside_skin - face.mean(0), axis=1) < 0.1)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for ghost in ghosts.ghosts_of(rig):
        shell = ghosts.shell_of(ghost).evaluated_get(depsgraph)
        assert len(shell.data.vertices) == shown.sum()  # what the translucent ghost draws
