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


def _pelvis_world_rotation(rig, frame: int) -> np.ndarray:
    """The pelvis bone's rotation in Blender's world on `frame`, as the animator sees it."""
    bpy.context.scene.frame_set(frame)
    name = rig_module.joint_names()[0]
    return (np.array(rig.matrix_world) @ np.array(rig.pose.bones[name].matrix))[:3, :3]


@pytest.mark.parametrize("still", [False, True], ids=["camera-path", "still-camera-switch"])
def test_a_root_pin_under_a_moving_camera_lands_where_the_animator_put_it(blender, tmp_path, still) -> None:
    """The re-solve takes the root pin in the first frame's camera, smooths there and writes each
    frame back into its own camera; the add-on carries it back (or, with the Still camera switch,
    shows each frame in its own camera and sends its root pins from there): the pinned pelvis must
    come back turned exactly as posed, not off by the camera's turn since frame 1."""
    from propose_backend.resolve import pins_from_json, resolve
    from propose_blender import pins, review

    T, pin_frame, turn_deg = 60, 40, 30.0
    raw = make_results(num_frames=T, num_samples=2)
    M = np.tile(np.eye(4), (T, 1, 1))
    base = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
    for t in range(T):  # the camera pans 24° and tilts 6° over the clip, so frame 40 is ~16° from frame 1
        u = t / (T - 1)
        M[t, :3, :3] = base @ _rotation(1, 24 * u) @ _rotation(0, -6 * u)
        M[t, :3, 3] = (0.0, -3.0, 1.5)
    raw["world_from_camera"] = M.astype(np.float32)
    data = resolve(raw, pins_from_json([]), seed=1)  # as imported: smoothed in the reference camera
    blender.scene.propose.still_camera = still
    rig = importer.import_results(blender, write_results(tmp_path / "moving.npz", data)).rig
    assert rig[importer.STILL_CAMERA] == int(still)
    name = rig_module.joint_names()[0]
    blender.scene.frame_set(pin_frame)
    bone = rig.pose.bones[name]
    half = np.radians(turn_deg) / 2
    w1, x1, y1, z1 = np.array(bone.rotation_quaternion)
    w2, x2, y2, z2 = np.cos(half), 0.0, np.sin(half), 0.0  # turn the body about its own up axis
    bone.rotation_quaternion = (w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                                w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2)
    review.select_bone(blender, rig, name)
    assert bpy.ops.propose.pin_pose() == {"FINISHED"}
    posed = _pelvis_world_rotation(rig, pin_frame)
    solved = resolve(data, pins_from_json(pins.message(rig, data)), seed=1)
    changed = pins.apply_resolved(rig, solved)
    assert pin_frame in changed.tolist()
    after = _pelvis_world_rotation(rig, pin_frame)
    angle = np.degrees(np.arccos(np.clip((np.trace(posed.T @ after) - 1) / 2, -1, 1)))
    assert angle < 0.05, angle  # where the animator put it (float32 keys)
    # the file says the same: its root on that frame, in the rig's frame (the first frame's camera;
    # with the switch, the frame's own), is the pin
    t = pin_frame - 1
    rel = np.linalg.inv(solved["world_from_camera"][0].astype(np.float64)) @ solved["world_from_camera"][t]
    pinned = pins.get(rig)[2][0]
    root = solved["rotmats"][t, 0].astype(np.float64)
    np.testing.assert_allclose(root if still else rel[:3, :3] @ root, pinned, atol=1e-4)
    # the camera turned ~16° since frame 1: the two frames differ by that much
    assert np.degrees(np.arccos(np.clip((np.trace(rel[:3, :3]) - 1) / 2, -1, 1))) > 10
