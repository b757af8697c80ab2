"""SMPL-H and SMPL-X body files seen as the rig's body: 24 SMPL joints plus 30 finger joints.

SMPL-H has 52 joints: SMPL's first 22 (pelvis .. wrists), then 15 per hand in MANO order (index,
middle, pinky, ring, thumb; three joints each), left hand first. SMPL-X has 55: the same 22, then
jaw and the two eyes (children of the head), then the same 30 finger joints. Neither has SMPL's
joints 22/23 ("left_hand"/"right_hand", beyond the wrists); the network and the instant estimate
need them, so they stand at each hand's middle-finger knuckle (SMPL-H joint 25/40, SMPL-X 28/43),
and skin what the fingers skin when the fingers are not posed. The finger joints keep the file's
own skinning, so on the rig (whose 30 finger bones are exactly these joints, after SMPL's 24) the
fingers deform the mesh.
"""
from __future__ import annotations

import numpy as np

from ..skeleton import (EXTRA_POINT_NAMES, EXTRA_VERTEX_IDS, FINGER_BONE_LANDMARKS, HAND_SIDES, NUM_FINGER_JOINTS,
                        NUM_RIG_JOINTS, NUM_SMPL_JOINTS, RIG_PARENTS, SMPL_PARENTS, WRIST_OF_SIDE)
from .anny_hands import fingertip

BODY_JOINTS = 22  # pelvis .. right wrist, shared by SMPL, SMPL-H and SMPL-X
HEAD = 15
KINDS = {24: "smpl", 52: "smplh", 55: "smplx"}
FIRST_FINGER = {"smplh": 22, "smplx": 25}  # index of left_index1
VERTICES = {"smpl": 6890, "smplh": 6890, "smplx": 10475}
LABELS = {"smpl": "SMPL", "smplh": "SMPL-H", "smplx": "SMPL-X"}
MIDDLE_KNUCKLE = 3  # left_middle1 - left_index1 (MANO order)
MANO_JOINTS = 16  # a MANO hand-only model: wrist + 15 finger joints
# smplx's vertex_ids names of the 11 surface points, in skeleton.EXTRA_POINT_NAMES order
_SMPLX_POINT_KEYS = ("nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
                     "RSmallToe", "RHeel")


def file_parents(kind: str) -> tuple[int, ...]:
    """The kinematic tree of an SMPL-H / SMPL-X file (root = -1)."""
    if kind == "smpl":
        return SMPL_PARENTS
    fingers = [p if p < NUM_SMPL_JOINTS and p in (20, 21) else p - NUM_SMPL_JOINTS + FIRST_FINGER[kind]
               for p in RIG_PARENTS[NUM_SMPL_JOINTS:]]
    face = (HEAD, HEAD, HEAD) if kind == "smplx" else ()
    return SMPL_PARENTS[:BODY_JOINTS] + face + tuple(fingers)


def extra_vertex_ids(kind: str) -> tuple[int, ...]:
    """Vertex ids of the 11 surface points on this mesh (SMPL-H shares SMPL's mesh; SMPL-X has its own)."""
    if kind != "smplx":
        return EXTRA_VERTEX_IDS
    from smplx.vertex_ids import vertex_ids

    assert len(_SMPLX_POINT_KEYS) == len(EXTRA_POINT_NAMES)
    return tuple(int(vertex_ids["smplx"][key]) for key in _SMPLX_POINT_KEYS)


def joint_count_error(count: int, source: str, named: str | None) -> str | None:
    """What to tell the user about a file with `count` joints (None when the count is one we read)."""
    if count == MANO_JOINTS:
        return (f"{source} is a MANO hand-only model (16 joints), not a body. Put the SMPL-H body "
                "(SMPLH_NEUTRAL/MALE/FEMALE.pkl or .npz, SMPL with MANO hands) or SMPL-X (SMPLX_*.npz/.pkl) "
                "in model_files/ instead; see model_files/README.md.")
    if count not in KINDS:
        return (f"{source} has {count} joints; SMPL has 24, SMPL-H 52 and SMPL-X 55. Is it a body model "
                "file? See model_files/README.md.")
    kind = KINDS[count]
    if named is not None and named != kind:
        return (f"{source} is named like an {LABELS[named]} file but holds an {LABELS[kind]} body "
                f"({count} joints). Rename it (e.g. {kind.upper()}_NEUTRAL{'' if '.' not in source else source[source.rfind('.'):]}) "
                f"or download the {LABELS[named]} model; see model_files/README.md.")
    return None


def kind_named(filename: str) -> str | None:
    """The body kind a file name claims (SMPLX_*, SMPLH_*, SMPL_*), None if it claims none."""
    upper = filename.upper()
    for prefix, kind in (("SMPLX", "smplx"), ("SMPLH", "smplh"), ("SMPL_", "smpl")):
        if upper.startswith(prefix):
            return kind
    return None


def split_hands(kind: str, J_regressor: np.ndarray, weights: np.ndarray, posedirs: np.ndarray) -> dict:
    """The 24-joint view of an SMPL-H / SMPL-X body and its finger arrays.

    Returns J_regressor (24, V), weights (V, 24), posedirs (V, 3, 207), finger_regressor (30, V)
    and rig_weights (V, 54) (the rig's SMPL 24 then the 30 fingers; SMPL's hand joints 22/23
    skin nothing there, the fingers do).
    """
    first = FIRST_FINGER[kind]
    fingers = slice(first, first + 2 * NUM_FINGER_JOINTS)
    left = slice(first, first + NUM_FINGER_JOINTS)
    right = slice(first + NUM_FINGER_JOINTS, first + 2 * NUM_FINGER_JOINTS)
    weights = np.clip(weights, 0.0, None)  # (a file's rounding must not fail the results' weight check)
    body_w = weights[:, :BODY_JOINTS].astype(np.float64)
    if kind == "smplx":  # jaw and eyes move with the head here (the rig has no face bones)
        body_w[:, HEAD] += weights[:, BODY_JOINTS:first].sum(axis=1)
    knuckles = [first + MIDDLE_KNUCKLE, first + NUM_FINGER_JOINTS + MIDDLE_KNUCKLE]
    V = weights.shape[0]
    body_pose_features = (BODY_JOINTS - 1) * 9  # the body joints' features come first in posedirs
    return {
        "J_regressor": np.concatenate([J_regressor[:BODY_JOINTS], J_regressor[knuckles]]).astype(np.float32),
        "weights": np.concatenate([body_w, weights[:, left].sum(1, keepdims=True),
                                   weights[:, right].sum(1, keepdims=True)], axis=1).astype(np.float32),
        "posedirs": np.concatenate([posedirs[:, :, :body_pose_features],
                                    np.zeros((V, 3, 18), posedirs.dtype)], axis=2).astype(np.float32),
        "finger_regressor": np.asarray(J_regressor[fingers], dtype=np.float32),
        "rig_weights": np.concatenate([body_w, np.zeros((V, 2)), weights[:, fingers]], axis=1).astype(np.float32),
    }


def rig_posedirs(kind: str, posedirs: np.ndarray) -> np.ndarray:
    """(V, 3, 53 * 9) the file's pose blend shapes over the rig's 54 joints (hand joints: none),
    for checking the rig's skinning against smplx's own SMPL-H / SMPL-X layer."""
    first = FIRST_FINGER[kind]
    V = posedirs.shape[0]
    return np.concatenate([posedirs[:, :, :(BODY_JOINTS - 1) * 9], np.zeros((V, 3, 18), posedirs.dtype),
                           posedirs[:, :, (first - 1) * 9:]], axis=2)


assert len(file_parents("smplh")) == 52 and len(file_parents("smplx")) == 55
assert NUM_RIG_JOINTS == NUM_SMPL_JOINTS + 2 * NUM_FINGER_JOINTS


def rest_hands(rest24: np.ndarray, fingers30: np.ndarray, vertices: np.ndarray, rig_weights: np.ndarray) -> np.ndarray:
    """(2, 21, 3) rest hand landmarks (MediaPipe order) of a body with finger joints: the wrists, the
    30 finger joints, and each fingertip on the mesh beyond its last joint."""
    owner = np.argmax(rig_weights, axis=1)
    out = np.zeros((2, 21, 3))
    for h, side in enumerate(HAND_SIDES):
        out[h, 0] = rest24[WRIST_OF_SIDE[side]]
        for j, (a, b) in enumerate(FINGER_BONE_LANDMARKS):
            out[h, a] = fingers30[h * NUM_FINGER_JOINTS + j]
        for j in range(2, NUM_FINGER_JOINTS, 3):  # each finger's last joint
            a, b = FINGER_BONE_LANDMARKS[j]
            column = NUM_SMPL_JOINTS + h * NUM_FINGER_JOINTS + j
            out[h, b] = fingertip(out[h, a - 1], out[h, a], vertices[owner == column])
    return out
