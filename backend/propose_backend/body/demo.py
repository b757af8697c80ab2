"""A procedurally generated "demo body" in exactly SMPL's file format.

SMPL itself is licence-gated, so tests and the no-download demo need a stand-in with the same
arrays: 6890 vertices, 13776 triangles, SMPL's 24-joint tree, a joint regressor, skinning
weights, 10 shape blend shapes and 207 pose blend shapes, and the 11 surface-point vertex ids
(nose 332, eyes, ears, toes, heels) sitting on those body parts.

How it is built: a closed genus-0 surface with V vertices has 2V - 4 triangles, and
2 * 6890 - 4 = 13776 is SMPL's face count, so the body is one closed surface. We start from a
cube-sphere torso (6 N^2 + 2 vertices) and extrude square patches of it into tubes for the legs
(with feet), the arms (with flat hands) and the neck + head; an extruded m x m patch with L
rings adds 4 m L vertices and quads. The counts below are chosen so the total is exactly 6890.
Geometry is a function of 10 proportion parameters; the shape blend shapes are its linearisation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..skeleton import EXTRA_VERTEX_IDS, NUM_SMPL_JOINTS, SMPL_PARENTS
from .files import BodyModelData

TORSO_GRID = 20  # cube-sphere subdivisions per face edge
NUM_VERTICES = 6890

# Shape parameters (each blend shape is the derivative of the geometry w.r.t. one of them).
SHAPE_PARAMETERS = (
    "height", "girth", "leg_length", "shoulder_width", "arm_length",
    "torso_length", "hip_width", "head_size", "belly", "neck_length",
)
_SHAPE_STEP = np.array([0.035, 0.10, 0.05, 0.012, 0.05, 0.04, 0.07, 0.05, 0.02, 0.012])


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


# --- geometry -------------------------------------------------------------------------------

def _smooth_path(points: np.ndarray, samples: int) -> np.ndarray:
    """Sample a polyline evenly by arc length after corner rounding (Chaikin), so tubes bend smoothly."""
    p = points
    for _ in range(3):
        q = [p[0]]
        for a, b in zip(p[:-1], p[1:]):
            q += [0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b]
        q.append(p[-1])
        p = np.array(q)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    target = np.linspace(0, s[-1], samples)
    return np.stack([np.interp(target, s, p[:, k]) for k in range(3)], axis=1)


def _frames(path: np.ndarray, first_axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation-minimising frames (tangent, e1, e2) along a sampled path."""
    t = np.gradient(path, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    e1 = np.zeros_like(path)
    prev = first_axis - first_axis @ t[0] * t[0]
    for k in range(len(path)):
        prev = prev - prev @ t[k] * t[k]
        prev /= np.linalg.norm(prev)
        e1[k] = prev
    return t, e1, np.cross(t, e1)


def _joints(p: np.ndarray) -> np.ndarray:
    """Rest joint targets (24, 3) for the proportion parameters p (y up, +z forward, +x = left)."""
    s = 1 + p[0]
    leg = 1 + p[2]
    arm = 1 + p[4]
    torso = 1 + p[5]
    hip_x = 0.085 * (1 + p[6])
    sh_x = 0.175 + p[3]
    neck = p[9]
    j = np.zeros((24, 3))
    j[0] = (0, 0, 0)
    j[1] = (hip_x, -0.075, 0.0)
    j[3] = (0, 0.11 * torso, -0.01)
    j[4] = (hip_x + 0.01, -0.075 - 0.40 * leg, 0.01)
    j[6] = (0, 0.23 * torso, 0.0)
    j[7] = (hip_x + 0.015, -0.075 - 0.79 * leg, -0.03)
    j[9] = (0, 0.30 * torso, 0.01)
    j[10] = (hip_x + 0.02, -0.075 - 0.85 * leg, 0.09)
    j[12] = (0, 0.47 * torso + neck, -0.015)
    j[13] = (0.075, 0.42 * torso, -0.01)
    j[15] = (0, 0.56 * torso + 1.4 * neck, 0.02)
    j[16] = (sh_x, 0.43 * torso, -0.015)
    j[18] = (sh_x + 0.26 * arm, 0.43 * torso, -0.025)
    j[20] = (sh_x + 0.50 * arm, 0.43 * torso, -0.02)
    j[22] = (sh_x + 0.585 * arm, 0.43 * torso, -0.02)
    for left, right in ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23)):
        j[right] = j[left] * (-1, 1, 1)
    return j * s


def _geometry(topo: _Topology, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Vertex positions for parameters p, plus the joints and each tube's path arc-length data."""
    s = 1 + p[0]
    girth = 1 + p[1]
    torso = 1 + p[5]
    j = _joints(p) / s  # build at unit scale, scale at the end
    v = np.zeros((topo.num_vertices, 3))

    # torso: a boxy superellipsoid between the hips and the shoulders
    c = topo.cube
    d = c / (np.sum(np.abs(c) ** 4, axis=1, keepdims=True) ** 0.25)
    y_lo, y_hi = -0.15, 0.49 * torso
    y = (y_lo + y_hi) / 2 + d[:, 1] * (y_hi - y_lo) / 2
    hn = (y - y_lo) / (y_hi - y_lo)  # 0 at the crotch, 1 at the shoulders
    width = (0.165 * (1 + p[6] * 0.6) * (1 - hn) + (0.175 + p[3]) * hn - 0.03 * np.sin(np.pi * hn)) * girth
    depth = (0.11 - 0.015 * np.sin(np.pi * hn) + p[8] * np.exp(-((hn - 0.3) / 0.2) ** 2)) * girth
    v[: len(c), 0] = d[:, 0] * width
    v[: len(c), 1] = y
    v[: len(c), 2] = d[:, 2] * depth + 0.01

    hand_tip = j[22] + np.array([0.1 * (1 + p[4]), 0, 0])
    toe_tip = j[10] + np.array([0, -0.02, 0.09 * (1 + p[2])])
    head_top = j[15] + np.array([0, 0.19 * (1 + p[7]), -0.02])
    paths = {
        "left_leg": np.array([j[4], j[7] + (0, -0.03, 0), j[10] + (0, -0.015, 0), toe_tip]),
        "left_arm": np.array([j[16] + (0.01, 0, 0), j[18], j[20], j[22], hand_tip]),
        "head": np.array([j[15], j[15] + (0, 0.08 * (1 + p[7]), -0.01), head_top]),
    }
    paths["right_leg"] = paths["left_leg"] * (-1, 1, 1)
    paths["right_arm"] = paths["left_arm"] * (-1, 1, 1)
    path_info = {}
    for tube in _TUBES:
        ring_ids = topo.rings[tube.name]
        base = topo.base_ring[tube.name]
        start = v[base].mean(axis=0)
        knots = np.vstack([start, paths[tube.name]])
        samples = _smooth_path(knots, 400)
        arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(samples, axis=0), axis=1))])
        L = tube.rings
        # ring k sits at arc fraction (k/L)^0.9: slightly denser near the body
        frac = (np.arange(1, L + 1) / L) ** 0.9
        idx = np.clip(np.searchsorted(arc, frac * arc[-1]), 0, len(arc) - 1)
        # the first frame axis: the patch's +u direction (slot angle 0), so slots line up with it
        u_axis = v[base[np.argmin(np.abs(topo.ring_angle[tube.name]))]] - start
        tang, e1, e2 = _frames(samples, u_axis)
        rx, ry = _tube_radius(tube.name, arc[idx] / arc[-1], p)
        ang = topo.ring_angle[tube.name]
        # align slot angles with the patch loop: angle 0 is the loop's start direction
        off = np.cos(ang)[None, :, None] * e1[idx][:, None] * rx[:, None, None] * girth \
            + np.sin(ang)[None, :, None] * e2[idx][:, None] * ry[:, None, None] * girth
        v[ring_ids] = samples[idx][:, None] + off
        ids, rho, cang = topo.cap[tube.name]
        end, t_end, f1, f2 = samples[-1], tang[-1], e1[-1], e2[-1]
        cap_r = np.array([rx[-1], ry[-1]]) * girth
        dome = 0.6 * cap_r.mean()
        v[ids] = (end + np.cos(cang)[:, None] * rho[:, None] * f1 * cap_r[0]
                  + np.sin(cang)[:, None] * rho[:, None] * f2 * cap_r[1]
                  + np.sqrt(np.clip(1 - rho ** 2, 0, 1))[:, None] * t_end * dome)
        path_info[tube.name] = (samples, arc)
    _face_features(topo, v, j, p)
    return v * s, j * s, path_info


def _tube_radius(name: str, f: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-section half-axes (along e1, e2) as a function of arc fraction f along the tube."""
    def interp(points):
        xs, ys = zip(*points)
        return np.interp(f, xs, ys)
    if name.endswith("leg"):
        r = interp([(0, 0.085), (0.12, 0.082), (0.35, 0.058), (0.42, 0.05), (0.62, 0.042),
                    (0.74, 0.03), (0.8, 0.034), (0.88, 0.036), (1, 0.028)])
        flat = interp([(0, 1), (0.74, 1), (0.84, 0.65), (1, 0.55)])
        return r, r * flat
    if name.endswith("arm"):
        r = interp([(0, 0.055), (0.08, 0.05), (0.35, 0.042), (0.45, 0.037), (0.75, 0.027),
                    (0.8, 0.03), (0.9, 0.032), (1, 0.022)])
        flat = interp([(0, 1), (0.77, 1), (0.85, 0.45), (1, 0.4)])
        return r * flat, r
    head = 1 + p[7]
    r = interp([(0, 0.06), (0.18, 0.055), (0.3, 0.065), (0.45, 0.09 * head), (0.7, 0.095 * head),
                (0.9, 0.075 * head), (1, 0.05 * head)])
    return r, r * 1.08


def _face_features(topo: _Topology, v: np.ndarray, j: np.ndarray, p: np.ndarray) -> None:
    """Bump a nose out of the head's front so the nose vertex is a real landmark."""
    ids = np.concatenate([topo.rings["head"].ravel(), topo.cap["head"][0]])
    nose = j[15] + (0, 0.035, 0.12)
    d = np.linalg.norm(v[ids] - nose, axis=1)
    front = v[ids, 2] > j[15][2]
    v[ids, 2] += front * 0.022 * np.exp(-(d / 0.025) ** 2)


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


@lru_cache(maxsize=1)
def demo_body() -> BodyModelData:
    """Build (once per process) the deterministic demo body."""
    topo = _topology()
    assert topo.num_vertices == NUM_VERTICES, topo.num_vertices
    zero = np.zeros(len(SHAPE_PARAMETERS))
    v, j, _ = _geometry(topo, zero)
    shapedirs = np.zeros((topo.num_vertices, 3, len(SHAPE_PARAMETERS)))
    for k in range(len(SHAPE_PARAMETERS)):
        step = np.zeros_like(zero)
        step[k] = _SHAPE_STEP[k] * 0.01
        shapedirs[:, :, k] = (_geometry(topo, step)[0] - v) / 0.01
    weights = _skinning(topo, v, j)
    regressor = _regressor(topo, v, j)
    posedirs = _pose_correctives(topo, v, j, weights)
    order = _permutation(_landmark_vertices(topo, v, j), topo.num_vertices)
    inverse = np.argsort(order)
    faces = inverse[_triangles(topo.quads)]
    return BodyModelData(
        v_template=v[order].astype(np.float32),
        faces=faces.astype(np.int64),
        shapedirs=shapedirs[order].astype(np.float32),
        posedirs=posedirs[order],
        J_regressor=regressor[:, order],
        weights=weights[order],
        parents=np.array(SMPL_PARENTS, dtype=np.int64),
    ).validate("demo body")
