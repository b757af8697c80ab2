"""A tiny CPU mesh renderer (painter's algorithm + Lambert shading) on OpenCV.

Used where we need pictures of a body with known ground truth and no GPU: the synthetic
training set, the synthetic instant-mode benchmark, test footage for the inference pipeline,
and quick visual checks of the demo body. Not a substitute for Blender's renderers.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import project


def render_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    image: np.ndarray | None = None,
    size: tuple[int, int] = (256, 256),
    focal: float = 1000.0,
    center: tuple[float, float] | None = None,
    color: tuple[float, float, float] = (0.75, 0.62, 0.52),
    light: tuple[float, float, float] = (0.3, -0.5, -1.0),
    face_colors: np.ndarray | None = None,
) -> np.ndarray:
    """Draw a mesh given in camera coordinates onto `image` (BGR uint8) or a grey background.

    Faces are filled far-to-near, so nearer surfaces cover farther ones; back faces are culled.
    `face_colors` (F, 3) RGB in [0, 1] overrides the single `color`.
    """
    h, w = size if image is None else image.shape[:2]
    canvas = np.full((h, w, 3), 96, np.uint8) if image is None else image.copy()
    center = (w / 2, h / 2) if center is None else center
    tri = vertices[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    centroid = tri.mean(axis=1)
    facing = np.einsum("ij,ij->i", normal, centroid) < 0  # towards the camera at the origin
    visible = facing & (tri[:, :, 2].min(axis=1) > 1e-3)
    light_dir = np.asarray(light, dtype=np.float64)
    light_dir /= np.linalg.norm(light_dir)
    shade = 0.25 + 0.75 * np.clip(normal @ light_dir, 0, 1)  # light_dir points towards the light
    order = np.flatnonzero(visible)[np.argsort(-centroid[visible, 2])]
    pixels = np.round(project(tri[order], focal, center) * 4).astype(np.int32)  # 2 bits subpixel
    rgb = np.broadcast_to(np.asarray(color, dtype=np.float64), (len(faces), 3)) if face_colors is None else face_colors
    bgr = rgb[order][:, ::-1] * 255 * shade[order, None]
    for poly, c in zip(pixels, bgr):
        cv2.fillConvexPoly(canvas, poly, c.tolist(), lineType=cv2.LINE_AA, shift=2)
    return canvas
