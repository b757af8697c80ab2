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

from functools import lru_cache

import numpy as np

from ..skeleton import SMPL_PARENTS
from .demo_rigging import _landmark_vertices, _permutation, _pose_correctives, _regressor, _skinning, _triangles
from .demo_topology import NUM_VERTICES, _TUBES, _Topology, _topology
from .files import BodyModelData

# Shape parameters (each blend shape is the derivative of the geometry w.r.t. one of them).
SHAPE_PARAMETERS = (
    "height", "girth", "leg_length", "shoulder_width", "arm_length",
    "torso_length", "hip_width", "head_size", "belly", "neck_length",
)
_SHAPE_STEP = np.array([0.035, 0.10, 0.05, 0.012, 0.05, 0.04, 0.07, 0.05, 0.02, 0.012])


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
