"""The demo body in SMPL-H's and SMPL-X's file layouts: 30 finger joints inside its flat hands.

SMPL-H and SMPL-X are licence-gated like SMPL, so the tests that read them (and smplx, which
must load them too) use the procedural demo body (demo.py) re-rigged in their layouts: the 22
body joints unchanged, five fingers of three joints laid across each flat hand (thumb along its
upper edge), each vertex beyond the knuckles skinned to the finger segment it lies on, and for
SMPL-X a mesh of 10,475 vertices (3,585 triangles split at their centroids; the 11 surface-point
vertices moved to SMPL-X's ids), jaw and eyes in the head, and face landmarks.
Arrays are returned under the official files' key names (what smplx's loaders read).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..skeleton import EXTRA_VERTEX_IDS, HAND_SIDES, NUM_FINGER_JOINTS, WRIST_OF_SIDE
from .demo import demo_body
from .demo_rigging import _regressor_row_at
from .smplh import BODY_JOINTS, FIRST_FINGER, VERTICES, extra_vertex_ids, file_parents

# Left-hand joint offsets from the wrist (metres; x along the hand, y towards the thumb, which is
# up in the demo body's T-pose with palms forward, before the hands are turned palm down) for
# index, middle, pinky, ring, thumb (MANO order).
_FINGER_Y = {"index": 0.018, "middle": 0.006, "pinky": -0.018, "ring": -0.006}
_KNUCKLE_X = {"index": 0.088, "middle": 0.091, "pinky": 0.080, "ring": 0.088}
_SEGMENTS = (0.040, 0.027, 0.021)  # proximal, middle, distal phalanx lengths
_THUMB = ((0.022, 0.016), (0.045, 0.019), (0.066, 0.021))  # (x, y) of thumb1..3
_BLEND = 0.006  # half-width of the skinning blend across a joint (m)


def _finger_joints(wrist: np.ndarray, mirror: float) -> np.ndarray:
    """(15, 3) finger joints of one hand in MANO order (mirror = -1 for the right hand, along x)."""
    rows = []
    for finger in ("index", "middle", "pinky", "ring"):
        x = _KNUCKLE_X[finger] + np.concatenate([[0.0], np.cumsum(_SEGMENTS[:2])])
        rows += [(xi, _FINGER_Y[finger]) for xi in x]
    rows += list(_THUMB)
    offsets = np.array([(mirror * x, y, 0.0) for x, y in rows])
    return wrist + offsets


def _hat(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(N, 3) soft membership of positions x (along the finger) in its 3 segments beginning at `starts`."""
    up = [np.clip((x - s) / (2 * _BLEND) + 0.5, 0, 1) for s in starts]  # past joint k
    return np.stack([up[0] - up[1], up[1] - up[2], up[2]], axis=1)


def _hand_skinning(v: np.ndarray, w: np.ndarray, j24: np.ndarray) -> np.ndarray:
    """(V, 52) SMPL-H skinning: the demo's body weights, each hand's share split between its wrist
    (the palm) and the finger segments beyond the knuckles."""
    out = np.zeros((len(v), 52))
    out[:, :BODY_JOINTS] = w[:, :BODY_JOINTS]
    for h, side in enumerate(HAND_SIDES):
        wrist, hand = WRIST_OF_SIDE[side], 22 + h
        mirror = 1.0 if side == "left" else -1.0
        rel = (v - j24[wrist]) * (mirror, 1, 1)  # x along the hand, y towards the thumb
        share = w[:, hand] + np.where(rel[:, 0] > 0, w[:, wrist], 0.0)
        out[:, wrist] = np.where(rel[:, 0] > 0, 0.0, w[:, wrist])
        cols = 22 + h * NUM_FINGER_JOINTS
        # which finger a vertex belongs to: across the hand for the four fingers, the upper edge for the thumb
        logits = np.stack([-((rel[:, 1] - _FINGER_Y[f]) / 0.005) ** 2 for f in ("index", "middle", "pinky", "ring")], 1)
        across = np.exp(logits - logits.max(axis=1, keepdims=True))
        across /= across.sum(axis=1, keepdims=True)
        thumb = np.clip((rel[:, 1] - 0.016) / 0.008, 0, 1) * np.clip((0.085 - rel[:, 0]) / 0.01, 0, 1)
        for k, f in enumerate(("index", "middle", "pinky", "ring")):
            starts = _KNUCKLE_X[f] + np.concatenate([[0.0], np.cumsum(_SEGMENTS[:2])])
            out[:, cols + 3 * k: cols + 3 * k + 3] = (share * (1 - thumb) * across[:, k])[:, None] * _hat(rel[:, 0], starts)
        out[:, cols + 12: cols + 15] = (share * thumb)[:, None] * _hat(rel[:, 0], np.array([x for x, _ in _THUMB]))
        out[:, wrist] += share - out[:, cols: cols + NUM_FINGER_JOINTS].sum(axis=1)  # the palm
    out = np.clip(out, 0.0, None)  # (rounding)
    return out / out.sum(axis=1, keepdims=True)


def _full_layout(kind: str) -> dict[str, np.ndarray]:
    body = demo_body()
    v = body.v_template.astype(np.float64)
    j24 = body.J_regressor.astype(np.float64) @ v
    first = FIRST_FINGER[kind]
    n = len(file_parents(kind))
    fingers = np.concatenate([_finger_joints(j24[WRIST_OF_SIDE[s]], 1.0 if s == "left" else -1.0)
                              for s in HAND_SIDES])
    w52 = _hand_skinning(v, body.weights.astype(np.float64), j24)
    # SMPL-H's rest hands are palm down, thumb forward: turn the demo's (palm forward, thumb up)
    # hands a quarter turn about the forearm, easing in over the last 3 cm of the forearm
    turns = np.zeros((len(v), 3, 3))
    turns[:] = np.eye(3)
    shapedirs = body.shapedirs.astype(np.float64)
    posedirs_body = body.posedirs.astype(np.float64)
    for side in HAND_SIDES:
        wrist = j24[WRIST_OF_SIDE[side]]
        along = (v[:, 0] - wrist[0]) * (1.0 if side == "left" else -1.0)
        angle = 0.5 * np.pi * np.clip((along + 0.03) / 0.03, 0, 1) * (np.abs(v[:, 1] - wrist[1]) < 0.1)
        c, s_ = np.cos(angle), np.sin(angle)
        turn = np.zeros((len(v), 3, 3))
        turn[:, 0, 0], turn[:, 1, 1], turn[:, 1, 2], turn[:, 2, 1], turn[:, 2, 2] = 1, c, -s_, s_, c
        moved = angle > 0
        turns[moved] = turn[moved]
        v[moved] = wrist + np.einsum("vij,vj->vi", turn[moved], v[moved] - wrist)
    shapedirs = np.einsum("vij,vjk->vik", turns, shapedirs)
    posedirs_body = np.einsum("vij,vjk->vik", turns, posedirs_body)
    quarter = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    for h, side in enumerate(HAND_SIDES):
        wrist = j24[WRIST_OF_SIDE[side]]
        rows = slice(h * NUM_FINGER_JOINTS, (h + 1) * NUM_FINGER_JOINTS)
        fingers[rows] = wrist + (fingers[rows] - wrist) @ quarter.T
    regressor = np.zeros((n, len(v)))
    regressor[:BODY_JOINTS] = body.J_regressor[:BODY_JOINTS]
    for k, target in enumerate(fingers):
        regressor[first + k] = _regressor_row_at(v, target, radius=0.03)
    weights = np.zeros((len(v), n))
    weights[:, :BODY_JOINTS] = w52[:, :BODY_JOINTS]
    weights[:, first:] = w52[:, BODY_JOINTS:]
    posedirs = np.zeros((len(v), 3, (n - 1) * 9))
    posedirs[:, :, :(BODY_JOINTS - 1) * 9] = posedirs_body[:, :, :(BODY_JOINTS - 1) * 9]
    if kind == "smplx":  # jaw below the head joint, eyes behind the eye landmarks
        eyes = v[[EXTRA_VERTEX_IDS[2], EXTRA_VERTEX_IDS[1]]] - (0, 0, 0.03)
        for row, target in zip((22, 23, 24), [j24[15] + (0, -0.02, 0.04), *eyes]):
            nearest = np.argsort(np.linalg.norm(v - target, axis=1))[:8]
            regressor[row, nearest] = 1 / 8
        shapedirs = np.concatenate([shapedirs, np.zeros_like(shapedirs)], axis=2)  # + 10 expressions
    parents = np.array(file_parents(kind), dtype=np.int64)
    return {"v_template": v, "f": body.faces.astype(np.uint32), "shapedirs": shapedirs, "posedirs": posedirs,
            "J_regressor": regressor, "weights": weights,
            "kintree_table": np.stack([np.where(parents < 0, 4294967295, parents), np.arange(n)]).astype(np.int64),
            "hands_componentsl": np.eye(45), "hands_componentsr": np.eye(45),
            "hands_meanl": np.zeros(45), "hands_meanr": np.zeros(45)}


def _split_faces(arrays: dict[str, np.ndarray], count: int) -> dict[str, np.ndarray]:
    """Split the first `count` triangles at their centroids (each adds one vertex, two triangles);
    the new vertex's arrays are the mean of its triangle's, and it moves no joint."""
    faces = arrays["f"].astype(np.int64)
    split, keep = faces[:count], faces[count:]
    base = len(arrays["v_template"])
    centre = base + np.arange(count)
    out = dict(arrays)
    for name in ("v_template", "shapedirs", "posedirs", "weights"):
        out[name] = np.concatenate([arrays[name], arrays[name][split].mean(axis=1)])
    out["J_regressor"] = np.concatenate([arrays["J_regressor"], np.zeros((len(arrays["J_regressor"]), count))], 1)
    new = np.concatenate([np.stack([split[:, 0], split[:, 1], centre], 1), np.stack([split[:, 1], split[:, 2], centre], 1),
                          np.stack([split[:, 2], split[:, 0], centre], 1)])
    out["f"] = np.concatenate([keep, new]).astype(np.uint32)
    return out


def _move_vertices(arrays: dict[str, np.ndarray], sources: tuple[int, ...], targets: tuple[int, ...]):
    """Renumber vertices so that vertex sources[k] gets id targets[k] (swaps; faces follow)."""
    order = np.arange(len(arrays["v_template"]))
    for s, t in zip(sources, targets):
        at = int(np.flatnonzero(order == s)[0])
        order[at], order[t] = order[t], order[at]
    new_id = np.argsort(order)
    out = dict(arrays)
    for name in ("v_template", "shapedirs", "posedirs", "weights"):
        out[name] = arrays[name][order]
    out["J_regressor"] = arrays["J_regressor"][:, order]
    out["f"] = new_id[arrays["f"].astype(np.int64)].astype(np.uint32)
    return out


@lru_cache(maxsize=2)
def _layout(kind: str) -> tuple[tuple[str, np.ndarray], ...]:
    arrays = _full_layout(kind)
    if kind == "smplx":
        arrays = _split_faces(arrays, VERTICES["smplx"] - len(arrays["v_template"]))
        arrays = _move_vertices(arrays, EXTRA_VERTEX_IDS, extra_vertex_ids("smplx"))
        faces = arrays["f"].astype(np.int64)
        head = np.flatnonzero(arrays["weights"][faces[:, 0], 15] > 0.9)[:51]
        arrays["lmk_faces_idx"] = head.astype(np.int64)
        arrays["lmk_bary_coords"] = np.full((len(head), 3), 1 / 3)
    return tuple((k, v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in arrays.items())


def demo_hands_arrays(kind: str = "smplh") -> dict[str, np.ndarray]:
    """The demo body's arrays in the `kind` ("smplh" or "smplx") file layout (a fresh dict each call)."""
    return {k: v.copy() for k, v in _layout(kind)}
