"""A smooth-shaded, z-buffered CPU rendering of a mesh, for checking whether the flat faces of the
project's renderer (render.py) are what limits a detector on rendered pictures (benchmark support:
bench_hand_reading.py --smooth; the product never draws these).

Per-vertex normals and colours, shaded by a key light, a fill light and a little specular sheen,
interpolated across each triangle (Gouraud), supersampled twice and averaged down.
"""
from __future__ import annotations

import cv2
import numpy as np
from propose_backend.geometry import project

KEY_LIGHT = (0.3, -0.5, -1.0)  # towards the light, camera axes (the flat renderer's light)
FILL_LIGHT = (-0.6, -0.2, -0.8)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-12)


def vertex_colours(vertices: np.ndarray, faces: np.ndarray, face_colors: np.ndarray) -> np.ndarray:
    """(V, 3) RGB in [0, 1] of each vertex, shaded: its faces' mean colour under the two lights."""
    tri = vertices[faces]
    face_normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal, colour, count = np.zeros_like(vertices), np.zeros_like(vertices), np.zeros(len(vertices))
    for k in range(3):
        np.add.at(normal, faces[:, k], face_normal)
        np.add.at(colour, faces[:, k], face_colors)
        np.add.at(count, faces[:, k], 1.0)
    normal, colour = _unit(normal), colour / np.maximum(count, 1.0)[:, None]
    key, fill = _unit(np.array(KEY_LIGHT)), _unit(np.array(FILL_LIGHT))
    half = _unit(key - _unit(vertices))  # halfway between the light and the camera (at the origin)
    sheen = 0.12 * np.clip(np.einsum("ij,ij->i", normal, half), 0.0, 1.0) ** 20
    light = 0.18 + 0.75 * np.clip(normal @ key, 0.0, 1.0) + 0.18 * np.clip(normal @ fill, 0.0, 1.0)
    return np.clip(colour * light[:, None] + sheen[:, None], 0.0, 1.0)


def render_smooth(vertices: np.ndarray, faces: np.ndarray, image: np.ndarray, focal: float,
                  face_colors: np.ndarray, supersample: int = 2) -> np.ndarray:
    """The mesh (camera axes, in front of the camera at the origin) drawn over `image` (BGR uint8)."""
    h, w = image.shape[:2]
    H, W = h * supersample, w * supersample
    rgb = vertex_colours(vertices, faces, face_colors)  # normals from every face, seen or not
    tri = vertices[faces]
    facing = np.einsum("ij,ij->i", np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), tri.mean(1)) < 0
    faces = faces[facing & (tri[:, :, 2].min(1) > 1e-3)]
    p = project(vertices, focal * supersample, (W / 2, H / 2))[faces]  # (F, 3, 2)
    low = np.floor(p.min(1)).astype(int)
    extent = (np.ceil(p.max(1)).astype(int) - low).max(1) + 1
    box = 2 ** np.ceil(np.log2(extent)).astype(int)  # faces grouped by the size of their pixel box
    pixel_ids, depths, owners, weights = [], [], [], []
    for size in np.unique(box):
        sel = np.flatnonzero(box == size)
        oy, ox = np.mgrid[0:size, 0:size]
        gx = low[sel, 0, None] + ox.ravel()[None] + 0.5
        gy = low[sel, 1, None] + oy.ravel()[None] + 0.5
        a, b, c = (p[sel, k, :, None] for k in range(3))  # (n, 2, 1) each
        area = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
        area = np.where(np.abs(area) < 1e-12, 1e-12, area)
        l0 = ((b[:, 1] - c[:, 1]) * (gx - c[:, 0]) + (c[:, 0] - b[:, 0]) * (gy - c[:, 1])) / area
        l1 = ((c[:, 1] - a[:, 1]) * (gx - c[:, 0]) + (a[:, 0] - c[:, 0]) * (gy - c[:, 1])) / area
        bary = np.stack([l0, l1, 1.0 - l0 - l1], -1)
        inside = (bary >= -1e-6).all(-1) & (gx >= 0) & (gx < W) & (gy >= 0) & (gy < H)
        f, q = np.nonzero(inside)
        pixel_ids.append(gy[f, q].astype(int) * W + gx[f, q].astype(int))
        depths.append(np.einsum("nk,nk->n", bary[f, q], vertices[faces[sel[f]], 2]))
        owners.append(sel[f])
        weights.append(bary[f, q])
    ids, depth, owner, weight = (np.concatenate(x) for x in (pixel_ids, depths, owners, weights))
    order = np.lexsort((depth, ids))  # nearest first within each pixel
    ids, owner, weight = ids[order], owner[order], weight[order]
    first = np.r_[True, ids[1:] != ids[:-1]]
    big = cv2.resize(image, (W, H), interpolation=cv2.INTER_NEAREST).reshape(-1, 3).astype(np.float64)
    big[ids[first]] = 255.0 * np.einsum("nk,nkc->nc", weight[first], rgb[faces[owner[first]]])[:, ::-1]
    return np.clip(cv2.resize(big.reshape(H, W, 3), (w, h), interpolation=cv2.INTER_AREA), 0, 255).astype(np.uint8)
