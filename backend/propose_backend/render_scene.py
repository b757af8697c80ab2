"""A textured set for the CPU renderer: a patterned floor, boxes at several depths and a back wall.

Footage of a moving camera needs a background with something to track and a known camera path.
The set is built in a Y-up world (as SMPL's rest frame: floor y = 0); every face has its own
colour (tiles of varying brightness, patterned box sides), so corners are everywhere, as on a
real street. Cameras are given as (R, eye): R's rows are the camera's right, down and forward
axes in the world, so a world point p is at R (p − eye) in the camera frame (the results' axes).
"""
from __future__ import annotations

import numpy as np

from .render import render_mesh

TILE_M = 0.25


def _quad(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return corners, np.array([[0, 1, 2], [0, 2, 3]])


def _box(centre: np.ndarray, size: np.ndarray, cells: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A box as quads, each side cut into cells × cells patches (each its own colour)."""
    verts, faces = [], []
    c, h = np.asarray(centre, float), 0.5 * np.asarray(size, float)
    for axis in range(3):
        for sign in (-1.0, 1.0):
            u, v = [a for a in range(3) if a != axis]
            for i in range(cells):
                for j in range(cells):
                    a0, a1 = -1 + 2 * i / cells, -1 + 2 * (i + 1) / cells
                    b0, b1 = -1 + 2 * j / cells, -1 + 2 * (j + 1) / cells
                    quad = []
                    for a, b in ((a0, b0), (a1, b0), (a1, b1), (a0, b1)):
                        p = np.zeros(3)
                        p[axis], p[u], p[v] = sign, a, b
                        quad.append(c + h * p)
                    quad = np.array(quad)
                    normal = np.cross(quad[1] - quad[0], quad[2] - quad[0])
                    if normal @ (quad.mean(0) - c) < 0:  # outward-facing, for back-face culling
                        quad = quad[::-1]
                    base = sum(len(x) for x in verts)
                    verts.append(quad)
                    faces.append(np.array([[0, 1, 2], [0, 2, 3]]) + base)
    return np.concatenate(verts), np.concatenate(faces)


def textured_set(centre: tuple[float, float] = (0.0, 0.0), half: float = 7.0,
                 variant: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (V, 3), faces (F, 3), face colours (F, 3) RGB 0–1) of the set around `centre` (x, z);
    `variant` picks another arrangement of boxes and colours."""
    rng = np.random.default_rng(variant)
    verts, faces, colours = [], [], []

    def add(v: np.ndarray, f: np.ndarray, rgb: np.ndarray) -> None:
        faces.append(f + sum(len(x) for x in verts))
        verts.append(v)
        colours.append(rgb)

    cx, cz = centre
    n = int(2 * half / TILE_M)
    xs = cx - half + TILE_M * np.arange(n + 1)
    zs = cz - half + TILE_M * np.arange(n + 1)
    X, Z = np.meshgrid(xs, zs, indexing="ij")
    grid = np.stack([X, np.zeros_like(X), Z], -1).reshape(-1, 3)
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    tiles = np.concatenate([np.stack([a, c, b], 1), np.stack([a, d, c], 1)])  # facing up (+y)
    checker = ((np.arange(n)[:, None] + np.arange(n)[None]) % 2).ravel()
    shade = 0.35 + 0.3 * checker + 0.25 * rng.random(n * n)
    tint = np.array([0.9, 0.85, 0.75])
    tile_rgb = np.clip(shade[:, None] * tint, 0, 1)
    add(grid, tiles, np.concatenate([tile_rgb, tile_rgb]))
    for k in range(9):  # boxes at several depths around the set
        angle = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(3.0, half - 1.0)
        size = rng.uniform([0.4, 0.4, 0.4], [1.2, 2.2, 1.2])
        centre3 = np.array([cx + dist * np.cos(angle), size[1] / 2, cz + dist * np.sin(angle)])
        v, f = _box(centre3, size)
        add(v, f, np.repeat(rng.uniform(0.1, 0.95, (len(f) // 2, 3)), 2, axis=0))
    for wall in range(4):  # walls around the set, patterned
        v, f = _box(np.array([cx, 2.0, cz]) + np.array([[0, 0, half], [0, 0, -half], [half, 0, 0], [-half, 0, 0]][wall]),
                    np.array([[2 * half, 4, 0.1], [2 * half, 4, 0.1], [0.1, 4, 2 * half], [0.1, 4, 2 * half]][wall]), 12)
        add(v, f, np.repeat(rng.uniform(0.15, 0.9, (len(f) // 2, 3)), 2, axis=0))
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(colours)


def look_at(eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """Camera rotation (rows right, down, forward) at `eye` looking at `target`, rolled about its axis."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, -1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    r = np.radians(roll_deg)
    roll = np.array([[np.cos(r), -np.sin(r), 0.0], [np.sin(r), np.cos(r), 0.0], [0.0, 0.0, 1.0]])
    return roll @ R


def render_view(scene: tuple[np.ndarray, np.ndarray, np.ndarray], R: np.ndarray, eye: np.ndarray,
                size: tuple[int, int], focal: float,
                extra: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = ()) -> np.ndarray:
    """BGR image of the set (and `extra` meshes: world vertices, faces, face colours) from camera (R, eye)."""
    meshes = [scene, *extra]
    verts = np.concatenate([(v - eye) @ R.T for v, _, _ in meshes])
    offsets = np.cumsum([0] + [len(v) for v, _, _ in meshes])
    faces = np.concatenate([f + o for (_, f, _), o in zip(meshes, offsets)])
    colours = np.concatenate([c for _, _, c in meshes])
    w, h = size
    sky = np.zeros((h, w, 3), np.uint8)
    sky[:] = (200, 180, 160)
    return render_mesh(verts, faces, image=sky, focal=focal, face_colors=colours)
