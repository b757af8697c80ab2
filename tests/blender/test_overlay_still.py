"""The camera-view check a screenshot would give: render the rig over the footage and compare silhouettes.

Bones do not render, so each bone gets an octahedron mesh in its uncertainty colour, parented to
it. The still (rig over footage) is kept in artifacts/ as the test's visual record.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import cv2
import numpy as np

from propose_backend.results import write_results
from propose_blender import importer, rig as rig_module, uncertainty

from addon_testing import footage_frame, make_results

ROW = 1


def _bone_octahedra(rig: bpy.types.Object, frame: int) -> None:
    """A coloured octahedron along every bone, so the skeleton shows up in renders."""
    degrees = uncertainty.at_frame(rig, frame)
    for j, name in enumerate(rig_module.joint_names()):
        length = rig.data.bones[name].length
        w = 0.12 * length
        # a bone-parented object sits at the bone's tail, y along the bone
        verts = [(0, -length, 0), (w, -0.8 * length, 0), (0, -0.8 * length, w), (-w, -0.8 * length, 0),
                 (0, -0.8 * length, -w), (0, 0, 0)]
        faces = [(0, 2, 1), (0, 3, 2), (0, 4, 3), (0, 1, 4), (5, 1, 2), (5, 2, 3), (5, 3, 4), (5, 4, 1)]
        mesh = bpy.data.meshes.new(f"octahedron {name}")
        mesh.from_pydata(verts, [], faces)
        material = bpy.data.materials.new(f"bone {name}")
        material.diffuse_color = (*uncertainty.CLASS_COLORS[uncertainty.class_of(degrees[j])], 1.0)
        mesh.materials.append(material)
        shape = bpy.data.objects.new(f"octahedron {name}", mesh)
        bpy.context.scene.collection.objects.link(shape)
        shape.parent, shape.parent_type, shape.parent_bone = rig, "BONE", name


def _render(scene: bpy.types.Scene, path: Path) -> np.ndarray:
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.render.film_transparent = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_rendered_rig_overlays_the_footage(blender, tmp_path):
    data = make_results(num_frames=3, num_samples=0)
    footage = footage_frame(data, ROW)
    footage_path = tmp_path / "footage.png"
    cv2.imwrite(str(footage_path), footage)
    rig = importer.import_results(blender, write_results(tmp_path / "clip.npz", data), footage=footage_path).rig
    scene = blender.scene
    scene.frame_set(ROW + 1)
    assert scene.camera.data.background_images[0].image.filepath == str(footage_path)

    body = next(c for c in rig.children if c.type == "MESH")
    body_only = _render(scene, tmp_path / "body.png")
    body_mask = body_only[..., 3] > 127
    footage_mask = np.any(footage != 96, axis=2)  # render_mesh's grey background
    near = np.ones((5, 5), np.uint8)  # 2 px: anti-aliased edges and the backend's pose correctives
    body_covered = (body_mask & cv2.dilate(footage_mask.astype(np.uint8), near).astype(bool)).sum() / body_mask.sum()
    footage_covered = (footage_mask & cv2.dilate(body_mask.astype(np.uint8), near).astype(bool)).sum() / footage_mask.sum()
    assert body_mask.sum() > 1000 and body_covered > 0.99 and footage_covered > 0.99, (body_covered, footage_covered)

    body.hide_render = True  # the footage shows the body; the still shows the skeleton on it
    _bone_octahedra(rig, ROW + 1)
    overlay = _render(scene, tmp_path / "rig.png").astype(np.float32)
    alpha = overlay[..., 3:] / 255.0
    still = (overlay[..., :3] * alpha + footage * (1 - alpha)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "overlay.png"), still)  # to look at when the test runs by hand
    bones = overlay[..., 3] > 127  # the skeleton lies inside the body the footage shows
    inside = cv2.dilate(footage_mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert bones.sum() > 200 and (bones & inside).sum() / bones.sum() > 0.95, (bones.sum(), (bones & inside).sum())


def test_mirrored_footage_is_shown_flipped_under_the_rig(blender, tmp_path):
    """A file from mirrored footage (meta `mirrored`, --mirrored) describes the real scene: the
    selfie goes behind the camera flipped left-right, and the rendered body lies exactly on the
    footage as shown (the selfie flipped back), not on the selfie as stored."""
    data = make_results(num_frames=3, num_samples=0)
    data["meta"] = {**data.get("meta", {}), "mirrored": True}
    real = footage_frame(data, ROW)
    selfie_path = tmp_path / "selfie.png"
    cv2.imwrite(str(selfie_path), np.ascontiguousarray(real[:, ::-1]))  # what the selfie camera stored
    importer.import_results(blender, write_results(tmp_path / "clip.npz", data), footage=selfie_path)
    scene = blender.scene
    scene.frame_set(ROW + 1)
    background = scene.camera.data.background_images[0]
    assert background.image.filepath == str(selfie_path) and background.use_flip_x

    shown = cv2.imread(str(selfie_path))[:, ::-1]  # the background as the camera view shows it
    body = _render(scene, tmp_path / "body.png")[..., 3] > 127
    near = np.ones((5, 5), np.uint8)
    for footage, expected in ((shown, True), (cv2.imread(str(selfie_path)), False)):
        mask = np.any(footage != 96, axis=2)
        covered = (body & cv2.dilate(mask.astype(np.uint8), near).astype(bool)).sum() / body.sum()
        assert (covered > 0.99) == expected, covered


def test_plain_footage_is_not_flipped(blender, tmp_path):
    data = make_results(num_frames=2, num_samples=0)
    footage_path = tmp_path / "footage.png"
    cv2.imwrite(str(footage_path), footage_frame(data, 0))
    importer.import_results(blender, write_results(tmp_path / "clip.npz", data), footage=footage_path)
    assert not blender.scene.camera.data.background_images[0].use_flip_x
