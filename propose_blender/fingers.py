"""The fingers on the rig: 30 bones after SMPL's 24, keyed from the results' hand fields.

Results from before fingers (schema 1 and 2) still import: their rig has the same finger bones
(an average hand placed on the body's wrists), at rest, without uncertainty, so a clip
can be finished by hand and every rig has one layout.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .bridge import skeleton


def rest_joints(rest24: np.ndarray, hand_rest: np.ndarray | None) -> np.ndarray:
    """(54, 3) rest joints, SMPL rest frame: the body's 24 and its 30 finger joints (the results'
    `hand_rest_joints`, else the average hand of skeleton.HAND_TEMPLATE_LEFT on the wrists)."""
    rest24 = np.asarray(rest24, dtype=np.float64).reshape(-1, 3)[:24]
    if hand_rest is not None:
        return np.concatenate([rest24, np.asarray(hand_rest, dtype=np.float64).reshape(30, 3)])
    sk = skeleton()
    template = np.asarray(sk.HAND_TEMPLATE_LEFT)
    joints = [a for a, _ in sk.FINGER_BONE_LANDMARKS]
    hands = []
    for side in sk.HAND_SIDES:
        wrist = sk.WRIST_OF_SIDE[side]
        length = np.linalg.norm(rest24[wrist + 2] - rest24[wrist])
        mirror = np.array([-1.0, 1.0, 1.0]) if side == "right" else np.ones(3)
        hands.append(rest24[wrist] + length * template[joints] * mirror)
    return np.concatenate([rest24, *hands])


def skin_weights(data: dict[str, Any]) -> np.ndarray:
    """(V, 54) skinning: the results' `rig_lbs_weights`, else SMPL's 24 (fingers move no vertex)."""
    if "rig_lbs_weights" in data:
        return np.asarray(data["rig_lbs_weights"], dtype=np.float32)
    weights = np.asarray(data["lbs_weights"], dtype=np.float32)
    return np.concatenate([weights, np.zeros((len(weights), 30), np.float32)], axis=1)


def rotations(data: dict[str, Any]) -> np.ndarray:
    """(T, 54, 3, 3) local rotations: the body's, then the fingers' (rest where the file has none)."""
    body = np.asarray(data["rotmats"], dtype=np.float64)
    hands = np.asarray(data["hand_rotmats"], dtype=np.float64) if "hand_rotmats" in data \
        else np.broadcast_to(np.eye(3), (len(body), 30, 3, 3))
    return np.concatenate([body, hands], axis=1)


def uncertainty(data: dict[str, Any]) -> np.ndarray:
    """(T, 54) degrees: the body's, then the fingers'; (T, 24) for a file without fingers (their bones
    then keep their own colour and stay out of the review queue: nothing is known about them)."""
    body = np.asarray(data["uncertainty_deg"], dtype=np.float32)
    if "hand_uncertainty_deg" not in data:
        return body
    return np.concatenate([body, np.asarray(data["hand_uncertainty_deg"], dtype=np.float32)], axis=1)


def samples(data: dict[str, Any]) -> np.ndarray:
    """(T, S, 54, 3, 3) local rotations of the ghosts: the body's, then the fingers' (rest if absent)."""
    body = np.asarray(data["samples"])
    hands = np.asarray(data["hand_samples"]) if "hand_samples" in data \
        else np.broadcast_to(np.eye(3, dtype=body.dtype), body.shape[:2] + (30, 3, 3))
    return np.concatenate([body, hands], axis=2)
