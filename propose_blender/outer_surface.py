"""What of a body can be seen from outside: the part of its mesh a translucent ghost shows.

The Anny body models eyeballs, teeth and a tongue inside its head, and a mouth behind its lips. A
translucent ghost drawn with all of it shows them through its skin (every layer of a translucent
surface blends in, in the viewport and in stills). So the ghosts draw only the outer surface: the
skin (the mesh's largest connected piece) without the head's inside, kept as a vertex group on the
body that the ghosts' Mask modifiers read (they share the body's mesh). SMPL has no inside: nothing
is hidden.
"""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from .names import OUTER_SURFACE

INSIDE_REGION = ("head", "neck")  # joints whose skin may hide something inside the body (eyes, mouth)
SIGHT_LINES = 64  # directions tried from each vertex to see whether it can be seen from outside


def _pieces(mesh: bpy.types.Mesh) -> np.ndarray:
    """The connected piece of every vertex (labelled by the smallest vertex index it reaches)."""
    edges = np.empty(2 * len(mesh.edges), dtype=np.int64)
    mesh.edges.foreach_get("vertices", edges)
    edges = edges.reshape(-1, 2)
    piece = np.arange(len(mesh.vertices))
    while True:
        reached = piece.copy()
        low = np.minimum(piece[edges[:, 0]], piece[edges[:, 1]])
        np.minimum.at(reached, edges[:, 0], low)
        np.minimum.at(reached, edges[:, 1], low)
        reached = reached[reached]  # jump along chains of smaller labels: far fewer passes
        if np.array_equal(reached, piece):
            return piece
        piece = reached


def _sight_lines(count: int) -> list[Vector]:
    """Directions spread evenly over the sphere (a Fibonacci spiral)."""
    k = np.arange(count) + 0.5
    polar, turn = np.arccos(1 - 2 * k / count), np.pi * (1 + 5 ** 0.5) * k
    return [Vector(d) for d in np.stack([np.cos(turn) * np.sin(polar), np.sin(turn) * np.sin(polar),
                                         np.cos(polar)], axis=1)]


def _unseen(mesh: bpy.types.Mesh, candidates: np.ndarray) -> np.ndarray:
    """Which candidate vertices no line in SIGHT_LINES directions leaves the mesh from (all pieces block)."""
    points = np.empty(3 * len(mesh.vertices))
    mesh.vertices.foreach_get("co", points)
    corners = np.empty(len(mesh.loops), dtype=np.int64)
    mesh.loops.foreach_get("vertex_index", corners)
    starts, sizes = np.empty(len(mesh.polygons), dtype=np.int64), np.empty(len(mesh.polygons), dtype=np.int64)
    mesh.polygons.foreach_get("loop_start", starts)
    mesh.polygons.foreach_get("loop_total", sizes)
    tree = BVHTree.FromPolygons(points.reshape(-1, 3).tolist(),
                                [corners[a:a + n].tolist() for a, n in zip(starts, sizes)])
    lines = _sight_lines(SIGHT_LINES)
    vertices = mesh.vertices
    return np.array([all(tree.ray_cast(vertices[int(i)].co + 1e-4 * line, line)[0] is not None for line in lines)
                     for i in candidates], dtype=bool)


def outer_surface(body: bpy.types.Object) -> str | None:
    """The body's vertex group of what a ghost shows, made on first use (about a second, then saved
    with the body); None when the whole mesh can be seen.

    Shown: the skin, except the head and neck vertices that no straight line leaves the body from
    (the mouth behind the lips, the eye sockets behind the eyeballs). Hidden: every other piece of
    the mesh (eyeballs, teeth, tongue).
    """
    if OUTER_SURFACE in body.vertex_groups:
        return OUTER_SURFACE
    mesh = body.data
    piece = _pieces(mesh)
    skin = piece == np.argmax(np.bincount(piece))
    region = {body.vertex_groups[name].index for name in INSIDE_REGION if name in body.vertex_groups}
    near = np.array([skin[v.index] and any(g.group in region and g.weight > 0 for g in v.groups)
                     for v in mesh.vertices], dtype=bool)
    candidates = np.flatnonzero(near)
    shown = skin.copy()
    shown[candidates[_unseen(mesh, candidates)]] = False
    if shown.all():
        return None
    body.vertex_groups.new(name=OUTER_SURFACE).add(np.flatnonzero(shown).tolist(), 1.0, "REPLACE")
    return OUTER_SURFACE
