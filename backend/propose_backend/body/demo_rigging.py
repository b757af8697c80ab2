"""The demo body's rigging data: part labels, skinning weights, the joint regressor, pose
correctives and the surface-point vertices, from its topology and rest geometry (see demo.py)."""
from __future__ import annotations

import numpy as np

from ..skeleton import EXTRA_POINT_NAMES, EXTRA_VERTEX_IDS, NUM_SMPL_JOINTS
from .demo_topology import _TUBES, _Topology

# --- rigging data ----------------------------------------------------------------------------

def _part_labels(topo: _Topology) -> np.ndarray:
    labels = np.full(topo.num_vertices, -1)
    labels[: len(topo.cube)] = 0
    for k, tube in enumerate(_TUBES, start=1):
        labels[topo.rings[tube.name].ravel()] = k
        labels[topo.cap[tube.name][0]] = k
    return labels


_TUBE_CHAINS = {  # joints along each tube, and the fraction of the tube path where each starts
    "left_leg": (1, 4, 7, 10), "right_leg": (2, 5, 8, 11),
    "left_arm": (16, 18, 20, 22), "right_arm": (17, 19, 21, 23), "head": (12, 15),
}


def _skinning(topo: _Topology, v: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Skinning weights: along each tube blend between consecutive joints; torso by height."""
    V = topo.num_vertices
    w = np.zeros((V, NUM_SMPL_JOINTS))
    nc = len(topo.cube)
    # torso: soft bands over pelvis / spine1 / spine2 / spine3, collars at the upper corners
    y = v[:nc, 1]
    centers = np.array([j[0, 1] - 0.03, j[3, 1], j[6, 1], j[9, 1] + 0.06])
    band = np.exp(-((y[:, None] - centers[None]) / 0.07) ** 2)
    w[:nc, [0, 3, 6, 9]] = band
    x = v[:nc, 0]
    collar = np.clip((np.abs(x) - 0.06) / 0.08, 0, 1) * np.clip((y - j[9, 1]) / 0.08, 0, 1)
    w[:nc, 13] += np.where(x > 0, collar, 0) * 2
    w[:nc, 14] += np.where(x < 0, collar, 0) * 2
    for tube in _TUBES:
        chain = _TUBE_CHAINS[tube.name]
        ids = np.concatenate([topo.rings[tube.name].ravel(), topo.cap[tube.name][0]])
        # projection of each vertex on the chain's joints: distance-weighted nearest segment
        seg_end = [j[c] for c in chain[1:]] + [v[topo.cap[tube.name][0]].mean(axis=0)]
        dists = []
        for a, b in zip([j[c] for c in chain], seg_end):
            ab = b - a
            t = np.clip(((v[ids] - a) @ ab) / (ab @ ab), 0, 1)
            dists.append(np.linalg.norm(v[ids] - (a + t[:, None] * ab), axis=1))
        dists = np.stack(dists, axis=1)
        soft = np.exp(-((dists - dists.min(axis=1, keepdims=True)) / 0.02) ** 2)
        w[ids] = 0.0  # cap vertices started life as torso vertices: drop their torso weights
        w[np.ix_(ids, list(chain))] = soft
        # the first rings blend into the torso joint they hang from
        root = {"left_leg": 0, "right_leg": 0, "left_arm": 13, "right_arm": 14, "head": 9}[tube.name]
        near = np.linalg.norm(v[ids] - j[chain[0]], axis=1)
        w[ids, root] += np.exp(-(near / 0.05) ** 2) * 0.5 * (tube.name != "head")
    w /= w.sum(axis=1, keepdims=True)
    return w.astype(np.float32)


def _regressor(topo: _Topology, v: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Joint regressor: each joint is the mean of a symmetric set of vertices that surround it."""
    reg = np.zeros((NUM_SMPL_JOINTS, topo.num_vertices))
    labels = _part_labels(topo)
    tube_of = {c: t for t, chain in _TUBE_CHAINS.items() for c in chain}
    for joint in range(NUM_SMPL_JOINTS):
        if joint in (1, 2):  # hips sit where thigh meets pelvis: no single ring surrounds them
            reg[joint] = _regressor_row_at(v, j[joint], radius=0.12)
        elif joint in tube_of:  # the ring closest to the joint surrounds it
            rings = topo.rings[tube_of[joint]]
            centers = v[rings].mean(axis=1)
            ring = rings[np.argmin(np.linalg.norm(centers - j[joint], axis=1))]
            reg[joint, ring] = 1.0 / len(ring)
        else:  # torso joints: a horizontal slice of the torso (collars: their corner)
            torso = np.flatnonzero(labels == 0)
            if joint in (13, 14):
                sel = torso[np.linalg.norm(v[torso] - j[joint], axis=1) < 0.09]
            else:
                sel = torso[np.abs(v[torso, 1] - j[joint, 1]) < 0.02]
            reg[joint, sel] = 1.0 / len(sel)
    return reg.astype(np.float32)


def _regressor_row_at(v: np.ndarray, target: np.ndarray, radius: float) -> np.ndarray:
    """Non-negative vertex weights near `target` whose weighted mean is exactly `target`.

    Start from a Gaussian weighting and apply the smallest correction that satisfies the
    4 linear constraints (mean = target, sum = 1), re-solving without vertices that went negative.
    """
    support = np.flatnonzero(np.linalg.norm(v - target, axis=1) < radius)
    w0 = np.exp(-(np.linalg.norm(v[support] - target, axis=1) / (radius / 2)) ** 2)
    w0 /= w0.sum()
    for _ in range(20):
        A = np.vstack([v[support].T, np.ones(len(support))])
        b = np.concatenate([target, [1.0]])
        w = w0 + A.T @ np.linalg.solve(A @ A.T, b - A @ w0)
        if (w >= 0).all():
            break
        keep = w > 0
        support, w0 = support[keep], w0[keep] / w0[keep].sum()
    row = np.zeros(len(v))
    row[support] = np.clip(w, 0, None)
    return row


def _pose_correctives(topo: _Topology, v: np.ndarray, j: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pose blend shapes: flesh bulges outward near a bending joint (driven by R - I diagonals)."""
    normals = _vertex_normals(v, _triangles(topo.quads))
    posedirs = np.zeros((topo.num_vertices, 3, 23 * 9))
    for k in range(1, NUM_SMPL_JOINTS):
        near = np.exp(-(np.linalg.norm(v - j[k], axis=1) / 0.05) ** 2) * (w[:, k] > 0.05)
        for diag in (0, 4, 8):  # (R - I)_ii = cos(angle) - 1 <= 0 when the joint bends
            posedirs[:, :, (k - 1) * 9 + diag] = -0.01 * near[:, None] * normals
    return posedirs.astype(np.float32)


def _triangles(quads: np.ndarray) -> np.ndarray:
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]).reshape(2, -1, 3).transpose(1, 0, 2).reshape(-1, 3)


def _vertex_normals(v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / (np.linalg.norm(n, axis=1, keepdims=True) + 1e-12)


def _landmark_vertices(topo: _Topology, v: np.ndarray, j: np.ndarray) -> list[int]:
    """Pick the vertices that play nose, eyes, ears, toes and heels (EXTRA_POINT_NAMES order)."""
    labels = _part_labels(topo)
    head = np.flatnonzero(labels == 5)

    def best(ids: np.ndarray, target: np.ndarray) -> int:
        return int(ids[np.argmin(np.linalg.norm(v[ids] - target, axis=1))])

    h = j[15]
    picks = [
        best(head, h + (0, 0.035, 0.2)),       # nose: most forward point at nose height
        best(head, h + (-0.035, 0.07, 0.2)),   # right eye (-x is the body's right)
        best(head, h + (0.035, 0.07, 0.2)),    # left eye
        best(head, h + (-0.2, 0.05, -0.01)),   # right ear
        best(head, h + (0.2, 0.05, -0.01)),    # left ear
    ]
    for side, foot in ((1, 1), (-1, 2)):
        ids = np.flatnonzero(labels == foot)
        ankle, ball = j[7 if side > 0 else 8], j[10 if side > 0 else 11]
        picks += [
            best(ids, ball + (-side * 0.03, -0.02, 0.12)),  # big toe: front, medial
            best(ids, ball + (side * 0.04, -0.02, 0.10)),   # small toe: front, lateral
            best(ids, ankle + (0, -0.09, -0.1)),             # heel: back, bottom
        ]
    assert len(set(picks)) == len(picks), "landmark vertices must be distinct"
    return picks


def _permutation(picks: list[int], n: int) -> np.ndarray:
    """new index -> old index, moving each picked vertex to its SMPL vertex id."""
    order = np.arange(n)
    where = np.arange(n)  # old index -> current position
    for target, old in zip(EXTRA_VERTEX_IDS, picks):
        pos = where[old]
        displaced = order[target]
        order[target], order[pos] = old, displaced
        where[old], where[displaced] = target, pos
    return order
