"""The demo body's mesh topology: a cube-sphere torso with tubes extruded for the limbs and head,
counted so that the closed surface has exactly SMPL's 6890 vertices (see demo.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TORSO_GRID = 20  # cube-sphere subdivisions per face edge
NUM_VERTICES = 6890


@dataclass(frozen=True)
class _Tube:
    """An extruded limb: which cube face patch it grows from and how many rings it has."""

    name: str
    face: int  # cube face index (see _cube_faces)
    cells: tuple[int, int, int, int]  # (i0, i1, j0, j1) patch cell range on that face
    rings: int


# m x m patches: legs 8, arms 6, head 6; rings chosen so 6N^2 + 2 + 4 sum(m L) = 6890.
_TUBES = (
    _Tube("left_leg", 3, (11, 19, 6, 14), 36),
    _Tube("right_leg", 3, (1, 9, 6, 14), 36),
    _Tube("left_arm", 0, (7, 13, 14, 20), 30),
    _Tube("right_arm", 1, (7, 13, 14, 20), 30),
    _Tube("head", 2, (7, 13, 7, 13), 31),
)


# --- topology -------------------------------------------------------------------------------

def _cube_faces() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(origin, axis_u, axis_v) per cube face, with u x v pointing outward."""
    e = np.eye(3)
    return [
        (e[0], -e[2], e[1]),   # 0: +x (left side of the body), u = -z, v = +y
        (-e[0], e[2], e[1]),   # 1: -x (right side), u = +z, v = +y
        (e[1], e[0], -e[2]),   # 2: +y (top), u = +x, v = -z
        (-e[1], e[0], e[2]),   # 3: -y (bottom), u = +x, v = +z
        (e[2], e[0], e[1]),    # 4: +z (front)
        (-e[2], -e[0], e[1]),  # 5: -z (back)
    ]


def _cube_sphere(n: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Unique cube-surface grid points (in [-1,1]^3), outward quads, and (face,i,j) -> vertex id."""
    points: dict[tuple[int, int, int], int] = {}
    coords: list[np.ndarray] = []
    grid: dict[tuple[int, int, int], int] = {}
    for f, (o, u, v) in enumerate(_cube_faces()):
        for i in range(n + 1):
            for j in range(n + 1):
                p = o + u * (2 * i / n - 1) + v * (2 * j / n - 1)
                key = tuple(int(round(c * n)) for c in p)
                if key not in points:
                    points[key] = len(coords)
                    coords.append(p)
                grid[(f, i, j)] = points[key]
    quads = []
    for f in range(6):
        for i in range(n):
            for j in range(n):
                quads.append((grid[(f, i, j)], grid[(f, i + 1, j)], grid[(f, i + 1, j + 1)], grid[(f, i, j + 1)]))
    return np.array(coords), np.array(quads, dtype=np.int64), grid


def _square_angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle that walks a square's perimeter uniformly, so square rings map evenly onto circles."""
    level = np.maximum(np.abs(u), np.abs(v)) + 1e-12
    a, b = u / level, v / level
    # perimeter parameter in [0, 8): start at (1, -1) and go counter-clockwise
    t = np.where(a >= 1 - 1e-9, 1 + b,
        np.where(b >= 1 - 1e-9, 3 - a,
        np.where(a <= -1 + 1e-9, 5 - b, 7 + a)))
    return (t - 1) % 8 * (np.pi / 4)


@dataclass
class _Topology:
    quads: np.ndarray  # (Q, 4)
    cube: np.ndarray  # (Vc, 3) cube coordinates of torso vertices
    rings: dict[str, np.ndarray]  # tube name -> (L, 4m) vertex ids (ring 1..L)
    ring_angle: dict[str, np.ndarray]  # tube name -> (4m,) angle of each ring slot
    cap: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # name -> (ids, rho, angle)
    base_ring: dict[str, np.ndarray]  # name -> (4m,) torso vertex ids around the patch
    num_vertices: int


def _topology() -> _Topology:
    n = TORSO_GRID
    cube, quads, grid = _cube_sphere(n)
    quads = [tuple(q) for q in quads]
    next_id = len(cube)
    rings, ring_angle, caps, base_rings = {}, {}, {}, {}
    for tube in _TUBES:
        i0, i1, j0, j1 = tube.cells
        m = i1 - i0
        ci, cj = (i0 + i1) / 2, (j0 + j1) / 2
        # the patch boundary, walked counter-clockwise in (i, j)
        loop = ([(i, j0) for i in range(i0, i1)] + [(i1, j) for j in range(j0, j1)]
                + [(i, j1) for i in range(i1, i0, -1)] + [(i0, j) for j in range(j1, j0, -1)])
        base = np.array([grid[(tube.face, i, j)] for i, j in loop])
        uu = np.array([(i - ci) / (m / 2) for i, _ in loop])
        vv = np.array([(j - cj) / (m / 2) for _, j in loop])
        angle = _square_angle(uu, vv)
        ring_ids = next_id + np.arange(tube.rings * 4 * m).reshape(tube.rings, 4 * m)
        next_id += tube.rings * 4 * m
        # replace patch-boundary vertices in the patch quads by the last ring (the cap moves out)
        remap = dict(zip(base.tolist(), ring_ids[-1].tolist()))
        patch = {(tube.face, i, j) for i in range(i0, i1) for j in range(j0, j1)}
        for f, i, j in patch:
            k = (f * n + i) * n + j
            quads[k] = tuple(remap.get(x, x) for x in quads[k])
        # walls between consecutive rings; the loop runs with the patch's own orientation
        levels = np.vstack([base[None], ring_ids])
        for r in range(tube.rings):
            a, b = levels[r], levels[r + 1]
            for s in range(4 * m):
                t = (s + 1) % (4 * m)
                quads.append((a[s], a[t], b[t], b[s]))
        interior = [(i, j) for i in range(i0 + 1, i1) for j in range(j0 + 1, j1)]
        ids = np.array([grid[(tube.face, i, j)] for i, j in interior])
        iu = np.array([(i - ci) / (m / 2) for i, _ in interior])
        iv = np.array([(j - cj) / (m / 2) for _, j in interior])
        caps[tube.name] = (ids, np.maximum(np.abs(iu), np.abs(iv)), _square_angle(iu, iv))
        rings[tube.name], ring_angle[tube.name], base_rings[tube.name] = ring_ids, angle, base
    return _Topology(np.array(quads, dtype=np.int64), cube, rings, ring_angle, caps, base_rings, next_id)
