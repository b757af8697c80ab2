"""Clothes for the benchmarks' rendered bodies: a person-like look helps the detectors tell front
from back (benchmark support, not product code)."""
from __future__ import annotations

import numpy as np

# Clothing by skinning joint: a person-like look helps detectors tell front from back.
_SHIRT, _TROUSERS, _SHOES, _SKIN = (0.2, 0.35, 0.7), (0.25, 0.25, 0.3), (0.08, 0.08, 0.08), (0.8, 0.62, 0.5)
_JOINT_COLORS = {**{j: _SHIRT for j in (0, 3, 6, 9, 13, 14, 16, 17)}, **{j: _TROUSERS for j in (1, 2, 4, 5)},
                 **{j: _SHOES for j in (7, 8, 10, 11)}}


def clothed_face_colors(vertices: np.ndarray, faces: np.ndarray, weights: np.ndarray,
                        eyes: tuple[int, int], nose: int) -> np.ndarray:
    """(F, 3) colours for an SMPL-format rest mesh: shirt, trousers, shoes, skin, eyes and mouth."""
    dominant = weights.argmax(axis=1)
    vertex_rgb = np.array([_JOINT_COLORS.get(int(j), _SKIN) for j in dominant])
    for eye in eyes:
        near = np.linalg.norm(vertices - vertices[eye], axis=1) < 0.012
        vertex_rgb[near] = (0.1, 0.07, 0.05)
    mouth = vertices[nose] + np.array([0.0, -0.04, -0.01])
    vertex_rgb[np.linalg.norm(vertices - mouth, axis=1) < 0.015] = (0.55, 0.2, 0.2)
    return vertex_rgb[faces].mean(axis=1)
