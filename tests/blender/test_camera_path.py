"""A solved moving camera (schema 3 `world_from_camera`): camera keys, the body in the world, exports, the switch."""
from __future__ import annotations

import bpy
import numpy as np
import pytest

from addon_testing import make_results
from motion_checks import world_heads
from propose_backend.results import write_results
from propose_blender import camera, export, importer, rig as rig_module

FPS = 25


def _rotation(axis: int, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != axis]
    R = np.eye(3)
    R[i, i], R[i, j], R[j, i], R[j, j] = c, -s, s, c
    return R


def _camera_path(T: int) -> np.ndarray:
    """(T, 4, 4) world_from_camera: level camera 1.5 m up, panning 12° and tilting 5°, sliding 0.3 m."""
    base = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # camera (x right, y down, z fwd) → world z up
    M = np.tile(np.eye(4), (T, 1, 1))
    for t in range(T):
        u = t / max(T - 1, 1)
        M[t, :3, :3] = base @ _rotation(1, 12 * u) @ _rotation(0, -5 * u)
        M[t, :3, 3] = (0.3 * u, -3.0, 1.5)
    return M.astype(np.float32)


@pytest.fixture
def moving(tmp_path):
    data = make_results(num_frames=6, num_samples=2)
    data["world_from_camera"] = _camera_path(6)
    data["meta"]["camera"] = {"method": "test", "still": False}
    return write_results(tmp_path / "moving.npz", data), data


def _pelvis_world(data: dict) -> np.ndarray:
    M = data["world_from_camera"].astype(np.float64)
    return np.einsum("tij,tj->ti", M[:, :3, :3], data["transl"].astype(np.float64)) + M[:, :3, 3]


def test_the_camera_follows_the_solved_path_and_the_body_stands_in_the_world(blender, moving) -> None:
    path, data = moving
    rig = importer.import_results(blender, path).rig
    scene = blender.scene
    cam = scene.camera
    assert rig[importer.STILL_CAMERA] == 0
    expected = camera.object_matrices(data["world_from_camera"])
    frames = list(range(scene.frame_start, scene.frame_end + 1))
    for t, frame in enumerate(frames):
        scene.frame_set(frame)
        np.testing.assert_allclose(np.array(cam.matrix_world), expected[t], atol=1e-4)
    # the camera looks the way OpenCV's camera of that frame does: its -z is the frame's +z
    scene.frame_set(frames[-1])
    forward = -np.array(cam.matrix_world)[:3, 2]
    np.testing.assert_allclose(forward, data["world_from_camera"][-1, :3, 2], atol=1e-4)
    heads = world_heads(rig, [rig_module.joint_names()[0]], frames)[:, 0]
    np.testing.assert_allclose(heads, _pelvis_world(data), atol=2e-3)


def test_the_still_camera_switch_keeps_the_camera_in_place(blender, moving) -> None:
    path, data = moving
    blender.scene.propose.still_camera = True
    rig = importer.import_results(blender, path).rig
    cam = blender.scene.camera
    assert rig[importer.STILL_CAMERA] == 1 and cam.animation_data is None
    M0 = data["world_from_camera"][0].astype(np.float64)
    frames = list(range(blender.scene.frame_start, blender.scene.frame_end + 1))
    heads = world_heads(rig, [rig_module.joint_names()[0]], frames)[:, 0]
    np.testing.assert_allclose(heads, data["transl"] @ M0[:3, :3].T + M0[:3, 3], atol=2e-3)


def test_a_still_solve_gives_a_still_camera(blender, tmp_path) -> None:
    data = make_results(num_frames=6, num_samples=0)
    data["world_from_camera"] = np.tile(_camera_path(6)[:1], (6, 1, 1))  # what a tripod solve writes
    path = write_results(tmp_path / "tripod.npz", data)
    rig = importer.import_results(blender, path).rig
    assert rig[importer.STILL_CAMERA] == 1 and blender.scene.camera.animation_data is None


@pytest.mark.parametrize("name", ["clip.fbx", "clip.glb"])
def test_exports_carry_the_camera_animation(blender, moving, tmp_path, name) -> None:
    path, data = moving
    rig = importer.import_results(blender, path).rig
    scene = blender.scene
    frames = list(range(scene.frame_start, scene.frame_end + 1))
    before = []
    for frame in frames:
        scene.frame_set(frame)
        before.append(np.array(scene.camera.matrix_world))
    out = export.export(blender, rig, tmp_path / name)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if name.endswith(".fbx"):
        bpy.ops.import_scene.fbx(filepath=str(out), anim_offset=0.0)
    else:
        bpy.context.scene.render.fps = FPS
        bpy.ops.import_scene.gltf(filepath=str(out))
    cams = [o for o in bpy.data.objects if o.type == "CAMERA"]
    assert len(cams) == 1 and cams[0].animation_data is not None and cams[0].animation_data.action is not None
    after = []
    for frame in frames:
        bpy.context.scene.frame_set(frame)
        after.append(np.array(cams[0].matrix_world))
    before, after = np.array(before), np.array(after)
    np.testing.assert_allclose(after[:, :3, 3], before[:, :3, 3], atol=1e-3)
    # the viewing direction (-z) and up (+y) of the camera survive the file, frame by frame
    for axis in (1, 2):
        cos = np.einsum("ti,ti->t", after[:, :3, axis] / np.linalg.norm(after[:, :3, axis], axis=1, keepdims=True),
                        before[:, :3, axis])
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.1
