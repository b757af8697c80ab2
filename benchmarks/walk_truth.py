"""Ground-truth motion for the temporal benchmark: the CMU walk (BVH) retargeted onto the body's 24 joints.

The BVH (cgspeed conversion of CMU 12_01: Y up, the actor facing +Z, left = +X, Z-Y-X Euler
channels, rest pose = all rotations zero) shares SMPL's rest axes, so each SMPL joint takes the
world rotation of the BVH joint that drives the same body segment, corrected by the fixed
rotation that turns the body's rest bone onto the BVH's rest segment:
    G_smpl_j(t) = G_bvh_k(t) · C_j,   C_j d_body_j = d_bvh_k  (shortest arc).
So every bone points where the mocap's does and keeps the mocap's twist; the bone lengths are
the body's own. The root translation is scaled by the ratio of leg lengths (body / BVH).
Nothing here knows which body it is: only the rest joints come from the body API.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from propose_backend.skeleton import NUM_SMPL_JOINTS, SMPL_PARENTS

# SMPL joint -> (BVH joint whose rotation drives the segment, BVH start, BVH end of that segment).
# A None segment: an end joint; it keeps its parent's rest correction.
SMPL_FROM_BVH: dict[int, tuple[str, tuple[str, str] | None]] = {
    0: ("Hips", None),
    1: ("LeftUpLeg", ("LeftUpLeg", "LeftLeg")), 2: ("RightUpLeg", ("RightUpLeg", "RightLeg")),
    3: ("LowerBack", ("LowerBack", "Spine")),
    4: ("LeftLeg", ("LeftLeg", "LeftFoot")), 5: ("RightLeg", ("RightLeg", "RightFoot")),
    6: ("Spine", ("Spine", "Spine1")),
    7: ("LeftFoot", ("LeftFoot", "LeftToeBase")), 8: ("RightFoot", ("RightFoot", "RightToeBase")),
    9: ("Neck", ("Neck", "Neck1")),
    10: ("LeftToeBase", None), 11: ("RightToeBase", None),
    12: ("Neck1", ("Neck1", "Head")),
    13: ("LeftShoulder", ("LeftShoulder", "LeftArm")), 14: ("RightShoulder", ("RightShoulder", "RightArm")),
    15: ("Head", None),
    16: ("LeftArm", ("LeftArm", "LeftForeArm")), 17: ("RightArm", ("RightArm", "RightForeArm")),
    18: ("LeftForeArm", ("LeftForeArm", "LeftHand")), 19: ("RightForeArm", ("RightForeArm", "RightHand")),
    20: ("LeftFingerBase", ("LeftFingerBase", "LeftHandIndex1")),
    21: ("RightFingerBase", ("RightFingerBase", "RightHandIndex1")),
    22: ("LeftFingerBase", None), 23: ("RightFingerBase", None),
}
# The segment end in SMPL for each joint with a segment (its child along the bone).
SMPL_SEGMENT_END = {1: 4, 2: 5, 3: 6, 4: 7, 5: 8, 6: 9, 7: 10, 8: 11, 9: 12, 12: 15, 13: 16, 14: 17,
                    16: 18, 17: 19, 18: 20, 19: 21, 20: 22, 21: 23}


@dataclass
class Bvh:
    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3)
    frame_time: float
    root_position: np.ndarray  # (T, 3)
    local: np.ndarray  # (T, J, 3, 3)


def read_bvh(path: str | Path) -> Bvh:
    """A BVH with a 6-channel root and 3 rotation channels per joint (any Euler order)."""
    tokens = Path(path).read_text().split()
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    i = 0
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif tok == "End":  # End Site: an offset block with no channels
            depth, i = 0, i + 2
            while True:
                depth += tokens[i] == "{"
                depth -= tokens[i] == "}"
                i += 1
                if depth == 0:
                    break
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets.append([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels.append(tokens[i + 2:i + 2 + n])
            i += 2 + n
        else:
            i += 1
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = np.array(tokens[i + 6:], dtype=np.float64).reshape(frames, -1)
    local = np.empty((frames, len(names), 3, 3))
    col = 0
    root_position = np.zeros((frames, 3))
    for j, chans in enumerate(channels):
        rot = [c for c in chans if c.endswith("rotation")]
        for c in chans:
            if c.endswith("position"):
                root_position[:, "XYZ".index(c[0])] = values[:, col]
                col += 1
        order = "".join(c[0] for c in rot)
        local[:, j] = Rotation.from_euler(order, values[:, col:col + 3], degrees=True).as_matrix()
        col += 3
    return Bvh(names, parents, np.array(offsets), frame_time, root_position, local)


def bvh_world(bvh: Bvh, local: np.ndarray, root_position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (T, J, 3, 3) and joint positions (T, J, 3) by forward kinematics."""
    T, J = local.shape[:2]
    rot, pos = np.empty_like(local), np.empty((T, J, 3))
    for j, p in enumerate(bvh.parents):
        if p < 0:
            rot[:, j], pos[:, j] = local[:, j], root_position
        else:
            rot[:, j] = rot[:, p] @ local[:, j]
            pos[:, j] = pos[:, p] + rot[:, p] @ bvh.offsets[j]
    return rot, pos


def _shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation taking direction a onto direction b."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-9:
        return np.eye(3)
    return Rotation.from_rotvec(axis / s * np.arctan2(s, c)).as_matrix()


@dataclass
class TruthMotion:
    """The walk on the body: SMPL local rotations, pelvis positions (body's world frame, metres, Y up)."""

    local: np.ndarray  # (T, 24, 3, 3)
    pelvis: np.ndarray  # (T, 3)
    fps: float


def resample(bvh: Bvh, fps: float, start_s: float, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations and root positions at `fps` over [start_s, start_s + seconds] (slerp / linear)."""
    from scipy.spatial.transform import Slerp

    src_t = np.arange(len(bvh.local)) * bvh.frame_time
    t = start_s + np.arange(int(round(seconds * fps))) / fps
    t = t[t <= src_t[-1]]
    local = np.empty((len(t), len(bvh.names), 3, 3))
    for j in range(len(bvh.names)):
        local[:, j] = Slerp(src_t, Rotation.from_matrix(bvh.local[:, j]))(t).as_matrix()
    root = np.stack([np.interp(t, src_t, bvh.root_position[:, a]) for a in range(3)], -1)
    return local, root


def retarget(bvh: Bvh, rest_joints: np.ndarray, fps: float = 30.0, start_s: float = 0.1,
             seconds: float = 4.0) -> TruthMotion:
    """The BVH walk on a body with these (24, 3) rest joints (Y up, facing +Z, as SMPL)."""
    local_bvh, root = resample(bvh, fps, start_s, seconds)
    index = {n: k for k, n in enumerate(bvh.names)}
    zero = np.broadcast_to(np.eye(3), (1,) + local_bvh.shape[1:]).copy()
    _, rest_bvh = bvh_world(bvh, zero, np.zeros((1, 3)))
    world_bvh, _ = bvh_world(bvh, local_bvh, root)
    corr = np.broadcast_to(np.eye(3), (NUM_SMPL_JOINTS, 3, 3)).copy()
    for j in range(NUM_SMPL_JOINTS):
        segment = SMPL_FROM_BVH[j][1]
        if segment is None:
            corr[j] = corr[max(SMPL_PARENTS[j], 0)] if j else np.eye(3)
            continue
        d_bvh = rest_bvh[0, index[segment[1]]] - rest_bvh[0, index[segment[0]]]
        d_body = rest_joints[SMPL_SEGMENT_END[j]] - rest_joints[j]
        corr[j] = _shortest_arc(d_body, d_bvh)
    world = np.stack([world_bvh[:, index[SMPL_FROM_BVH[j][0]]] @ corr[j] for j in range(NUM_SMPL_JOINTS)], 1)
    parents = [max(p, 0) for p in SMPL_PARENTS]
    local = np.swapaxes(world[:, parents], -1, -2) @ world
    local[:, 0] = world[:, 0]

    def leg(p: np.ndarray, a: int, b: int, c: int) -> float:
        return float(np.linalg.norm(p[b] - p[a]) + np.linalg.norm(p[c] - p[b]))

    bvh_leg = leg(rest_bvh[0], index["LeftUpLeg"], index["LeftLeg"], index["LeftFoot"])
    body_leg = leg(rest_joints, 1, 4, 7)
    return TruthMotion(local=local, pelvis=root * body_leg / bvh_leg, fps=fps)
