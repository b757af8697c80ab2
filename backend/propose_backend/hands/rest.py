"""The rest hand of a body without finger bones: the 21 hand landmarks of each hand in SMPL's rest frame.

The rig's 30 finger bones, the posterior's rest bone directions and the benchmark's ground truth
all come from one rest hand, so the three agree. The licence-free Anny body has finger bones (its
rest hand and finger skinning: body/anny_hands.py), and so do SMPL-H / SMPL-X files (body/smplh.py);
SMPL, which has no hands, gets an anatomical average hand scaled to the wrist-to-knuckle distance.
"""
from __future__ import annotations

import numpy as np

from ..body.anny_hands import hand_joints  # noqa: F401 (the hands' callers read it here)
from ..skeleton import HAND_SIDES, HAND_TEMPLATE_LEFT, NUM_HAND_LANDMARKS, WRIST_OF_SIDE

_TEMPLATE_LEFT = np.array(HAND_TEMPLATE_LEFT)
_MIRROR = np.array([-1.0, 1.0, 1.0])


def template_hands(rest_joints: np.ndarray) -> np.ndarray:
    """(2, 21, 3) rest landmarks of the left and right hand for a body without finger bones."""
    r = np.asarray(rest_joints, dtype=np.float64).reshape(-1, 3)
    out = np.zeros((2, NUM_HAND_LANDMARKS, 3))
    for h, side in enumerate(HAND_SIDES):
        wrist = WRIST_OF_SIDE[side]
        length = np.linalg.norm(r[wrist + 2] - r[wrist])  # the hand joint: SMPL's wrist + 2
        out[h] = r[wrist] + length * _TEMPLATE_LEFT * (_MIRROR if side == "right" else 1.0)
    return out
