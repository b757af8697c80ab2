"""Still pictures of an imported rig, for headless runs: the camera view and the ghost poses.

Bones do not render, so each bone gets a small octahedron in its uncertainty colour, parented to
the bone. The overlay is rendered with Workbench on a transparent film and composited over the
footage with numpy (camera background images do not render). Everything here adds temporary
objects and removes them again, so the saved .blend stays clean. Every still carries the colour
legend as a strip under the picture (rendered flat in a scene of its own, so its colours are exact), and
the ghosts still shows each ghost's label (rank, log density relative to the mode).
"""
from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import bpy
import numpy as np
from mathutils import Vector

from . import ghosts, results, rig as rig_module, uncertainty
from .names import MARKER_TAG, META  # noqa: F401 (callers read module.NAME too)


BACKDROP = (1.0, 1.0, 1.0)  # behind a still without footage (the ghosts), on every Blender
_OCTAHEDRON_FACES = [(0, 2, 1), (0, 3, 2), (0, 4, 3), (0, 1, 4), (5, 1, 2), (5, 2, 3), (5, 3, 4), (5, 4, 1)]


def _linear(srgb: tuple[float, float, float]) -> tuple[float, ...]:
    """Material colours are linear; the palette is given in sRGB like bone colour sets."""
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb)


def _material(name: str, rgb: tuple[float, float, float]) -> bpy.types.Material:
    material = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    material.diffuse_color = (*_linear(rgb), 1.0)
    return material


def add_bone_markers(rig: bpy.types.Object, degrees: np.ndarray | None) -> list[bpy.types.Object]:
    """An octahedron along every bone, coloured by `degrees` (24, or 54 with the fingers) like the bone
    colours; bones without a degree (fingers of a file from before fingers) are grey."""
    made = []
    for j, name in enumerate(rig_module.all_joint_names(rig)):
        length = rig.data.bones[name].length
        w = 0.12 * length
        # a bone-parented object sits at the bone's tail with y along the bone
        verts = [(0, -length, 0), (w, -0.8 * length, 0), (0, -0.8 * length, w), (-w, -0.8 * length, 0),
                 (0, -0.8 * length, -w), (0, 0, 0)]
        mesh = bpy.data.meshes.new(f"ProPose marker {name}")
        mesh.from_pydata(verts, [], _OCTAHEDRON_FACES)
        known = degrees is not None and j < len(degrees)  # a rig from before fingers: grey fingers
        rgb = tuple(uncertainty.colors_of(degrees[j] if known else np.nan)[0])
        mesh.materials.append(_material(f"ProPose marker {tuple(round(c, 3) for c in rgb)}", rgb))
        marker = bpy.data.objects.new(f"ProPose marker {name}", mesh)
        marker[MARKER_TAG] = True
        bpy.context.scene.collection.objects.link(marker)
        marker.parent, marker.parent_type, marker.parent_bone = rig, "BONE", name
        made.append(marker)
    return made


def _remove(objects: list[bpy.types.Object]) -> None:
    for obj in objects:
        data = obj.data if obj.type in {"MESH", "FONT"} else None
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            (bpy.data.meshes if isinstance(data, bpy.types.Mesh) else bpy.data.curves).remove(data)


@contextmanager
def _workbench(scene: bpy.types.Scene, transparent: bool, light: str = "STUDIO") -> Iterator[None]:
    """Workbench with material colours and the Standard view transform (so the palette keeps its
    colours), restoring the scene's render settings afterwards."""
    render, shading, view = scene.render, scene.display.shading, scene.view_settings
    saved = (render.engine, render.film_transparent, shading.light, shading.color_type,
             render.image_settings.file_format, render.image_settings.color_mode, render.filepath,
             view.view_transform, view.look)
    render.engine = "BLENDER_WORKBENCH"
    render.film_transparent = transparent
    shading.light, shading.color_type = light, "MATERIAL"
    render.image_settings.file_format, render.image_settings.color_mode = "PNG", "RGBA"
    view.view_transform, view.look = "Standard", "None"
    try:
        yield
    finally:
        (render.engine, render.film_transparent, shading.light, shading.color_type,
         render.image_settings.file_format, render.image_settings.color_mode, render.filepath,
         view.view_transform, view.look) = saved


def _render_rgba(scene: bpy.types.Scene, path: Path) -> np.ndarray:
    """Render to `path` and return the picture as (H, W, 4) floats, top row first."""
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return _read_png(path)


def _read_png(path: Path) -> np.ndarray:
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = image.size
        pixels = np.empty(w * h * 4, np.float32)
        image.pixels.foreach_get(pixels)  # always RGBA, bottom row first
        return pixels.reshape(h, w, 4)[::-1]
    finally:
        bpy.data.images.remove(image)


def _write_png(rgb: np.ndarray, path: Path) -> None:
    h, w = rgb.shape[:2]
    image = bpy.data.images.new("ProPose still", w, h, alpha=False)
    try:
        rgba = np.concatenate([rgb[::-1], np.ones((h, w, 1), np.float32)], axis=2)
        image.pixels.foreach_set(rgba.astype(np.float32).ravel())
        image.filepath_raw = str(path)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)


def render_overlay(rig: bpy.types.Object, footage: Path | None, path: str | Path) -> Path:
    """The camera view at the current frame: coloured bone markers over the footage (flipped
    left-right for a rig from mirrored footage, as the camera background shows it)."""
    scene = bpy.context.scene
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = [c for c in rig.children if c.type == "MESH" and ghosts.GHOST_OF not in c]
    hidden = [b.hide_render for b in body]
    for b in body:
        b.hide_render = True  # the footage shows the person; the still shows the skeleton on it
    markers = add_bone_markers(rig, uncertainty.at_frame(rig, scene.frame_current))
    try:
        with _workbench(scene, transparent=True, light="FLAT"):  # flat: markers show the legend's colours
            layer = _render_rgba(scene, path)
    finally:
        _remove(markers)
        for b, h in zip(body, hidden):
            b.hide_render = h
    alpha = layer[..., 3:]
    if footage is not None and Path(footage).is_file():
        background = _read_png_any(Path(footage), layer.shape[1], layer.shape[0])
        if results.is_mirrored({"meta": json.loads(rig.get(META, "{}"))}):
            background = background[:, ::-1]
    else:
        background = np.full(layer.shape[:2] + (3,), 0.35, np.float32)
    _write_png(layer[..., :3] * alpha + background * (1 - alpha), path)
    return append_legend(path)


def _read_png_any(path: Path, width: int, height: int) -> np.ndarray:
    """Footage picture as (H, W, 3) floats at the render size (Blender reads most image formats)."""
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        if tuple(image.size) != (width, height):
            image.scale(width, height)
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
        return pixels.reshape(height, width, 4)[::-1, :, :3]
    finally:
        bpy.data.images.remove(image)


def render_ghosts(rig: bpy.types.Object, path: str | Path, spacing: float = 0.9,
                  resolution: tuple[int, int] = (1600, 600)) -> Path:
    """The pose at the current frame beside its posterior samples (densest first), seen from the
    footage camera's side with an orthographic camera that frames them all."""
    scene = bpy.context.scene
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    made = ghosts.show(rig, scene.frame_current, spacing)
    shells = [c for g in made for c in g.children]
    body = [c for c in rig.children if c.type == "MESH" and ghosts.GHOST_OF not in c]
    markers = add_bone_markers(rig, uncertainty.at_frame(rig, scene.frame_current))
    saved_camera, saved_res = scene.camera, (scene.render.resolution_x, scene.render.resolution_y)
    camera_data = bpy.data.cameras.new("ProPose ghost camera")
    camera = bpy.data.objects.new("ProPose ghost camera", camera_data)
    scene.collection.objects.link(camera)
    try:
        for shell in shells:
            shell.hide_render = False
        bpy.context.view_layer.update()
        lo, hi = _bounds([*body, *shells])
        forward = (saved_camera.matrix_world.to_3x3() @ Vector((0, 0, -1))) if saved_camera else Vector((0, 1, 0))
        forward.z = 0.0
        forward = forward.normalized() if forward.length > 1e-6 else Vector((0, 1, 0))
        center = (lo + hi) / 2
        camera_data.type = "ORTHO"
        camera_data.ortho_scale = 1.1 * max(hi.x - lo.x, (hi.z - lo.z) * resolution[0] / resolution[1])
        camera.location = center - forward * (10.0 + (hi - lo).length)
        camera.rotation_euler = forward.to_track_quat("-Z", "Z").to_euler()
        camera_data.clip_end = 100.0
        scene.camera = camera
        scene.render.resolution_x, scene.render.resolution_y = resolution
        with _workbench(scene, transparent=False):
            layer = _render_rgba(scene, path)
        # Workbench leaves the background transparent where the scene has no world (white under the
        # alpha on 4.2, black on 4.5 / 5.0): lay the picture on one backdrop, alike everywhere
        alpha = layer[..., 3:]
        _write_png(layer[..., :3] * alpha + np.asarray(BACKDROP, np.float32) * (1 - alpha), path)
    finally:
        scene.camera = saved_camera
        scene.render.resolution_x, scene.render.resolution_y = saved_res
        bpy.data.objects.remove(camera)
        bpy.data.cameras.remove(camera_data)
        _remove(markers)
        ghosts.hide(rig)
    return append_legend(path)


def _bounds(objects: list[bpy.types.Object]) -> tuple[Vector, Vector]:
    """World-space bounding box of the evaluated (posed) objects."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    points = []
    for obj in objects:
        evaluated = obj.evaluated_get(depsgraph)
        points += [evaluated.matrix_world @ Vector(corner) for corner in evaluated.bound_box]
    xs, ys, zs = zip(*points)
    return Vector((min(xs), min(ys), min(zs))), Vector((max(xs), max(ys), max(zs)))


# --- the legend burned into stills -------------------------------------------------------------

_LEGEND_TITLE = "expected error:"
_LEGEND_STRIP = 0.06  # strip height, of the picture's height
_LEGEND_MIN_PX = 30  # the strip is never thinner than this many pixels
_LEGEND_PAPER = (0.96, 0.96, 0.96)
_LEGEND_INK = (0.08, 0.08, 0.08)


def _legend_item(scene: bpy.types.Scene, name: str, data) -> bpy.types.Object:
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    return obj


def _legend_layout(scene: bpy.types.Scene, width: int, height: int) -> None:
    """Swatches and labels (the panel's words and colours) across a width x height strip, 1 unit = 1 px."""
    from . import uncertainty  # the palette's one home

    entries = [(_LEGEND_TITLE, None), *uncertainty.legend()]
    texts, swatches = [], []
    for k, (label, rgb) in enumerate(entries):
        curve = bpy.data.curves.new(f"ProPose legend {k}", "FONT")
        curve.body, curve.size, curve.align_y = label, 0.5 * height, "CENTER"
        curve.materials.append(_material("ProPose legend ink", _LEGEND_INK))
        texts.append(_legend_item(scene, curve.name, curve))
        if rgb is not None:
            mesh = bpy.data.meshes.new(f"ProPose legend swatch {k}")
            mesh.from_pydata([(0, -0.5, 0), (1, -0.5, 0), (1, 0.5, 0), (0, 0.5, 0)], [], [(0, 1, 2, 3)])
            mesh.materials.append(_material(f"ProPose marker {tuple(round(c, 3) for c in rgb)}", rgb))
            swatches.append(_legend_item(scene, mesh.name, mesh))
        else:
            swatches.append(None)
    scene.view_layers[0].update()
    side, gap = 0.5 * height, 0.35 * height
    widths = [t.dimensions.x + (side + 0.25 * height if s is not None else 0) for t, s in zip(texts, swatches)]
    scale = min(1.0, (width - gap * (len(entries) + 1)) / sum(widths))  # shrink all alike if too wide
    spare = width - scale * sum(widths) - gap * (len(entries) + 1)
    x = -width / 2 + gap + max(0.0, spare) / (2 * len(entries))  # spread any room left evenly
    for text, swatch, w in zip(texts, swatches, widths):
        if swatch is not None:
            swatch.scale = (side * scale, side * scale, 1.0)
            swatch.location = (x, 0.0, 0.0)
            x += (side + 0.25 * height) * scale
        text.scale = (scale, scale, scale)
        text.location = (x, 0.0, 0.0)
        x += text.dimensions.x * scale + gap + max(0.0, spare) / len(entries)


def legend_strip(width: int, height: int) -> np.ndarray:
    """The colour legend as an (height, width, 3) picture, rendered flat (exact palette colours) in a
    scene of its own, so nothing of the user's scene is touched or shows."""
    scene = bpy.data.scenes.new("ProPose legend")
    camera_data = bpy.data.cameras.new("ProPose legend camera")
    try:
        camera_data.type, camera_data.ortho_scale = "ORTHO", float(width)
        camera = _legend_item(scene, camera_data.name, camera_data)
        camera.location = (0.0, 0.0, 10.0)
        scene.camera = camera
        scene.render.resolution_x, scene.render.resolution_y = width, height
        scene.render.resolution_percentage = 100
        _legend_layout(scene, width, height)
        with _workbench(scene, transparent=True, light="FLAT"), tempfile.TemporaryDirectory() as folder:
            scene.render.filepath = str(Path(folder) / "legend.png")
            bpy.ops.render.render(write_still=True, scene=scene.name)
            layer = _read_png(Path(scene.render.filepath))
    finally:
        _remove([o for o in scene.objects if o.type != "CAMERA"])
        for obj in [o for o in scene.objects if o.type == "CAMERA"]:
            bpy.data.objects.remove(obj)
        bpy.data.cameras.remove(camera_data)
        bpy.data.scenes.remove(scene)
    alpha = layer[..., 3:]
    return layer[..., :3] * alpha + np.asarray(_LEGEND_PAPER, np.float32) * (1 - alpha)


def append_legend(path: str | Path) -> Path:
    """Add the legend strip under the still at `path` (the picture itself stays whole)."""
    path = Path(path)
    picture = _read_png(path)  # RGBA: a still without footage may have a transparent background
    height, width = picture.shape[:2]
    strip = legend_strip(width, max(_LEGEND_MIN_PX, round(_LEGEND_STRIP * height)))
    strip = np.concatenate([strip, np.ones(strip.shape[:2] + (1,), np.float32)], axis=2)
    _write_rgba_png(np.concatenate([picture, strip], axis=0), path)
    return path


def _write_rgba_png(rgba: np.ndarray, path: Path) -> None:
    h, w = rgba.shape[:2]
    image = bpy.data.images.new("ProPose still", w, h, alpha=True)
    try:
        image.pixels.foreach_set(np.ascontiguousarray(rgba[::-1], dtype=np.float32).ravel())
        image.filepath_raw = str(path)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)
