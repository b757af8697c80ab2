"""The camera the backend estimated, with the footage behind it, so the body overlays the video.

The camera sits where the clip's world puts it (world.py: floor at z = 0, level camera looking
along +y unless the floor says it was tilted); when the backend solved the camera's motion it
is keyed along that path (key_path), so the camera view matches the footage on every frame.
Its lens and shift
reproduce the pinhole focal length and principal point in pixels; the scene's render size is set
to the image size so one Blender pixel is one footage pixel.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from . import axes, bridge, keyframes, rotations

SENSOR_WIDTH_MM = 36.0


def lens_and_shift(focal_px: float, principal_pt: tuple[float, float],
                   image_size: tuple[int, int]) -> tuple[float, float, float]:
    """Blender lens (mm, horizontal sensor fit) and shift_x / shift_y for a pinhole camera in pixels.

    Shift is measured in units of the larger image side; a positive shift moves the frame right/up,
    so the optical axis (the principal point) lands left of/below the image centre.
    """
    width, height = image_size
    largest = float(max(width, height))
    lens = focal_px * SENSOR_WIDTH_MM / width
    shift_x = (width / 2.0 - principal_pt[0]) / largest
    shift_y = (principal_pt[1] - height / 2.0) / largest
    return lens, shift_x, shift_y


def build_camera(name: str, focal_px: float, principal_pt: tuple[float, float], image_size: tuple[int, int],
                 footage: Path | None, collection: bpy.types.Collection,
                 world: tuple[np.ndarray, np.ndarray] | None = None, mirrored: bool = False) -> bpy.types.Object:
    """A camera object matching the estimate, with `footage` (image or video) as its background.

    world: (R, t) with world = R @ camera point + t (default: level, at the origin). mirrored: the
    results describe the real scene of mirrored footage (meta `mirrored`), so the footage is shown
    flipped left-right, the way the estimate overlays it.
    """
    data = bpy.data.cameras.new(f"{name} camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = SENSOR_WIDTH_MM
    data.lens, data.shift_x, data.shift_y = lens_and_shift(focal_px, principal_pt, image_size)
    data.clip_start, data.clip_end = 0.01, 1000.0
    camera = bpy.data.objects.new(f"{name} camera", data)
    rotation, position = world if world is not None else (axes.WORLD_FROM_CAMERA, np.zeros(3))
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(rotation) @ np.diag([1.0, -1.0, -1.0])  # Blender cameras look down their -z
    matrix[:3, 3] = position
    camera.matrix_world = Matrix(matrix.tolist())
    collection.objects.link(camera)
    if footage is not None and footage.is_file():
        try:
            set_background(data, footage, mirrored)
        except RuntimeError as exc:  # a format Blender cannot read: the rig is still worth having
            print(f"ProPose: no camera background, Blender cannot open {footage}: {exc}")
    return camera


def object_matrices(world_from_camera: np.ndarray) -> np.ndarray:
    """(T, 4, 4) Blender camera-object matrices of OpenCV-convention camera poses (they look down -z, y up)."""
    out = np.array(world_from_camera, dtype=np.float64)
    out[:, :3, :3] = out[:, :3, :3] @ np.diag([1.0, -1.0, -1.0])
    return out


def key_path(camera: bpy.types.Object, frames: np.ndarray, world_from_camera: np.ndarray) -> None:
    """Key the camera object's location and rotation on every frame of a solved camera path.

    Quaternion keys (sign-continuous) so the interpolation between frames never flips.
    """
    matrices = object_matrices(world_from_camera)
    camera.rotation_mode = "QUATERNION"
    bag = keyframes.channelbag(camera)
    quats = rotations.continuous(rotations.quaternions(matrices[:, :3, :3]), axis=0)
    keyframes.write_vector(bag, "location", frames, matrices[:, :3, 3], group="Object Transforms")
    keyframes.write_vector(bag, "rotation_quaternion", frames, quats, group="Object Transforms")
    camera.matrix_world = Matrix(matrices[0].tolist())


def set_background(data: bpy.types.Camera, footage: Path, flip_x: bool = False) -> None:
    """Show `footage` behind the scene in camera view (a movie clip for videos, else an image),
    flipped left-right for mirrored footage (about the image centre, the results' principal point)."""
    background = data.background_images.new()
    if footage.suffix.lower() in bridge.request().VIDEO_SUFFIXES:
        background.source = "MOVIE_CLIP"
        background.clip = bpy.data.movieclips.load(str(footage), check_existing=True)
    else:
        background.source = "IMAGE"
        background.image = bpy.data.images.load(str(footage), check_existing=True)
    background.alpha = 1.0
    background.frame_method = "FIT"
    background.use_flip_x = flip_x
    data.show_background_images = True


def match_render_size(scene: bpy.types.Scene, image_size: tuple[int, int]) -> None:
    scene.render.resolution_x, scene.render.resolution_y = int(image_size[0]), int(image_size[1])
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
