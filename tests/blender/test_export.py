"""Export presets: every format re-imports into a clean scene with the same motion, rate and parts."""
from __future__ import annotations

import bpy
import numpy as np
import pytest

from motion_checks import world_heads
from propose_blender import export, importer, rig as rig_module

FPS = 25  # make_results' clip rate


def _reimport(path) -> bpy.types.Object:
    """`path` read back into an empty scene by Blender's own importer; returns the armature."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    suffix = path.suffix.lower()
    if suffix == ".fbx":
        # Blender's FBX importer shifts keys by one frame by default; the file's first key is scene frame 1
        bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    elif suffix == ".bvh":
        # Blender's BVH exporter writes Blender's own axes (Z up)
        bpy.ops.import_anim.bvh(filepath=str(path), update_scene_fps=True, axis_forward="Y", axis_up="Z")
    else:
        bpy.context.scene.render.fps = FPS  # glTF keeps seconds; the importer keys at the scene's rate
        bpy.ops.import_scene.gltf(filepath=str(path))
    armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(armatures) == 1
    return armatures[0]


@pytest.mark.parametrize("name", ["clip.fbx", "clip.bvh", "clip.glb"])
def test_round_trip_keeps_the_motion_the_body_and_the_camera(blender, results_file, tmp_path, name):
    path, data = results_file(num_frames=6, num_samples=0)
    rig = importer.import_results(blender, path).rig
    scene = blender.scene
    frames = range(scene.frame_start, scene.frame_end + 1)
    space = "ARMATURE" if name.endswith(".bvh") else "WORLD"  # BVH has no object transform
    before = world_heads(rig, rig_module.joint_names(), frames, space)
    assert np.ptp(before, axis=0).max() > 0.05  # the clip moves, so a still export would fail below

    out = export.export(blender, rig, tmp_path / name)
    again = _reimport(out)
    assert again.animation_data is not None and again.animation_data.action is not None
    assert bpy.context.scene.render.fps / bpy.context.scene.render.fps_base == pytest.approx(FPS)
    after = world_heads(again, rig_module.joint_names(), frames, space)
    assert np.linalg.norm(after - before, axis=-1).max() < 1e-3  # metres
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    cameras = [o for o in bpy.data.objects if o.type == "CAMERA"]
    if name.endswith(".bvh"):
        assert not meshes and not cameras
    else:
        body = max(meshes, key=lambda o: len(o.data.vertices))
        assert len(body.data.vertices) == len(data["rest_vertices"])
        assert {g.name for g in body.vertex_groups} >= set(rig_module.joint_names())
        assert any(m.type == "ARMATURE" and m.object == again for m in body.modifiers)
        assert len(cameras) == 1


def test_unity_preset_writes_metres_as_fbx_units(blender, results_file, tmp_path):
    path, _ = results_file(num_frames=3, num_samples=0)
    rig = importer.import_results(blender, path).rig
    frames = range(blender.scene.frame_start, blender.scene.frame_end + 1)
    before = world_heads(rig, rig_module.joint_names(), frames)
    again = _reimport(export.export(blender, rig, tmp_path / "unity.fbx", engine="UNITY"))
    after = world_heads(again, rig_module.joint_names(), frames)
    assert np.linalg.norm(after - before, axis=-1).max() < 1e-3


def test_unknown_format_and_engine_are_refused(blender, results_file, tmp_path):
    path, _ = results_file(num_frames=2, num_samples=0)
    rig = importer.import_results(blender, path).rig
    with pytest.raises(export.ExportFailed, match="format"):
        export.export(blender, rig, tmp_path / "clip.obj")
    with pytest.raises(export.ExportFailed, match="engine"):
        export.export(blender, rig, tmp_path / "clip.fbx", engine="GODOT")


def test_batch_fbx_carries_the_animation(results_file, tmp_path):
    """Regression: the batch's FBX had no animation at all (only NLA strips were exported)."""
    from propose_blender import headless as batch

    path, _ = results_file(num_frames=5, num_samples=0)
    fbx, bvh, glb = tmp_path / "a.fbx", tmp_path / "a.bvh", tmp_path / "a.glb"
    assert batch.run(["--input", str(path), "--output", str(tmp_path / "a.blend"), "--fbx", str(fbx),
                      "--bvh", str(bvh), "--gltf", str(glb)]) == ""
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "a.blend"))
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    before = world_heads(rig, rig_module.joint_names(), range(1, 6))
    for out in (fbx, glb):
        after = world_heads(_reimport(out), rig_module.joint_names(), range(1, 6))
        assert np.linalg.norm(after - before, axis=-1).max() < 1e-3, out.name
    assert bvh.read_text().count("\n") > 5 + 24  # a hierarchy and one motion line per frame


def test_batch_refuses_a_wrong_export_file_name_before_running(tmp_path):
    from propose_blender import headless as batch

    (tmp_path / "x.npz").write_bytes(b"never read: the names are checked first")
    with pytest.raises(batch.BatchFailed, match="--gltf needs a file name ending in .glb or .gltf"):
        batch.run(["--input", str(tmp_path / "x.npz"), "--output", str(tmp_path / "a.blend"),
                   "--gltf", str(tmp_path / "a.fbx")])


def test_a_still_over_a_video_without_a_backend_python_says_what_to_set(tmp_path, monkeypatch, capsys):
    """Decoding the video frame behind a batch still needs the backend's Python. With none set, the
    warning says what to pass (before: "[Errno 13] Permission denied: ''", from running an empty path)."""
    import argparse

    from propose_blender import headless, preferences

    monkeypatch.delenv(preferences.PYTHON_ENV_VAR, raising=False)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not decoded")
    assert headless._background_frame(clip, 17, argparse.Namespace(python=None), tmp_path) is None
    warning = capsys.readouterr().err
    assert "frame 16 of" in warning and "--python" in warning and preferences.PYTHON_ENV_VAR in warning, warning
    assert "Permission denied" not in warning
