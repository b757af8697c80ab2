"""Planted feet that stay put: a two-bone (hip, knee) reach of each leg towards its foot's anchor.

The pelvis path already carries most of the correction (ground.lock_feet); what is left — the
two feet disagreeing during double support, the path's own smoothness — is taken by the legs.
For a leg with hip H, knee K, ankle A and the ankle's wanted place P, in two steps:
1. *swing*: the whole leg turns rigidly about the hip, by the shortest arc taking the ankle's
   direction from the hip onto P's (the knee's own rotation is untouched);
2. *flex*: the knee bends or straightens as a hinge in the swung leg's plane (hip, knee,
   ankle: the leg bends the way it did) towards P's distance from the hip — a damped step: a
   nearly straight knee changes the leg's length by little per degree, so it takes only part
   of the distance (KNEE_DAMPING_M), and the pelvis takes the rest (`shortfall`, `pelvis_share`).
The ankle keeps its world rotation, so the whole foot moves with it. Turning thigh and shin each by its own shortest arc onto P in one go
(what this did before) also turned the knee about axes off its hinge whenever P was off the
leg's plane: a knee twisting a little every frame of a contact (docs/temporal.md).
"""
from __future__ import annotations

import numpy as np

from .ground import FOOT_POINTS, SHIFT_SMOOTH_S, lock_weights, smoothed
from .kinematics import joint_positions
from ..skeleton import NUM_SMPL_JOINTS

LEGS = ((1, 4, 7), (2, 5, 8))  # (hip, knee, ankle) of the left and right leg
FEET = tuple(points[:2] for points in FOOT_POINTS.values())  # (ankle, foot) joints of each foot: they turn together
# Which ankles a planted sole is laid flat for, by the per-frame ankle's uncertainty (deg): one the
# estimate reads to better than FLAT_FROM_DEG keeps its own pitch (a heel strike, a real tiptoe), one
# worse than FLAT_FULL_DEG (instant mode's prior-only ankles: ~30-35°) is laid flat, linear between.
FLAT_FROM_DEG, FLAT_FULL_DEG = 15.0, 25.0
SOLE = tuple((points[2:4], points[4]) for points in FOOT_POINTS.values())  # ((toes), heel) surface points of each foot
STRAIGHT = 1e-4  # never straighten a leg fully: the knee's bend direction would be lost
# Within this share of its length a leg nears full extension softly (the reach's distance eases
# exponentially towards its length). A hard limit makes the knee angle a square root of the
# target's remaining distance, steep at a straight leg, so a planted foot's anchor moving by
# millimetres about a straight stance leg's reach swung the knee by degrees per frame.
SOFT_REACH = 0.01
# Damped least squares for the knee's flex (m/rad): the flex moves the ankle along the leg by
# |∂d/∂θ| = thigh·shin·sin(knee)/d per radian, nearly nothing at a straight knee, so chasing a
# millimetre of anchor tremble there swung a stance knee by degrees per frame (the walk's front
# view: knees 3.3-3.9 °/frame against 2.1-2.6 without the legs' step). The flex takes the share
# |∂d/∂θ|² / (|∂d/∂θ|² + KNEE_DAMPING_M²) of the distance: all of it where a radian moves the ankle
# well over KNEE_DAMPING_M, half at ~16° of flexion (0.42 m thigh and shin), little at a straight knee.
KNEE_DAMPING_M = 0.06


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def shortest_arc(a: np.ndarray, b: np.ndarray, share: np.ndarray | float = 1.0) -> np.ndarray:
    """(n, 3, 3) rotations taking directions a onto b (n, 3), by the smallest angle (or `share` (n,) of it,
    about the same axis)."""
    a, b = _unit(a), _unit(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.einsum("ni,ni->n", a, b)
    k = axis / np.maximum(s, 1e-12)[:, None]
    K = np.zeros(a.shape[:-1] + (3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    K = K - np.swapaxes(K, -1, -2)
    angle = (np.arctan2(s, c) * share)[..., None, None]
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)


def _soft_reach(dist: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The distance a leg of `length` reaches towards a target `dist` away: the same up to
    (1 − SOFT_REACH)·length, then easing towards the length (smooth, never beyond it)."""
    soft = SOFT_REACH * length
    start = length - soft
    return np.where(dist > start, length - soft * np.exp(-(dist - start) / np.maximum(soft, 1e-12)), dist)


def _flexed(now: np.ndarray, wanted: np.ndarray, thigh: np.ndarray, shin: np.ndarray) -> np.ndarray:
    """The hip-ankle distance the knee's flex gives: a damped least-squares step from `now` towards
    `wanted`, |∂d/∂θ|² / (|∂d/∂θ|² + KNEE_DAMPING_M²) of the way (θ the knee's flexion)."""
    cos_knee = np.clip((thigh**2 + shin**2 - now**2) / (2 * thigh * shin), -1.0, 1.0)
    rate = thigh * shin * np.sqrt(1 - cos_knee**2) / np.maximum(now, 1e-9)  # |∂d/∂θ|, m/rad
    return now + (wanted - now) * rate**2 / np.maximum(rate**2 + KNEE_DAMPING_M**2, 1e-12)


def reach(world: np.ndarray, rest_joints: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """World rotations (n, 24, 3, 3) with each leg bent so its ankle moves by shift (n, 2, 3) metres,
    as far as the damped knee goes (what is left: `shortfall`).

    Frames where a leg's shift is zero are left exactly as they were.
    """
    out = world.copy()
    joints = joint_positions(world, rest_joints)
    for f, (hip, knee, ankle) in enumerate(LEGS):
        rows = np.flatnonzero(np.linalg.norm(shift[:, f], axis=-1) > 1e-6)
        if not len(rows):
            continue
        H, K, A = joints[rows, hip], joints[rows, knee], joints[rows, ankle]
        thigh, shin = np.linalg.norm(K - H, axis=-1), np.linalg.norm(A - K, axis=-1)
        to_target = A + shift[rows, f] - H
        swing = shortest_arc(A - H, to_target)  # the whole leg about the hip: the knee unchanged
        K = H + np.einsum("nij,nj->ni", swing, K - H)
        e = _unit(to_target)
        dist = _flexed(np.linalg.norm(A - H, axis=-1), _soft_reach(np.linalg.norm(to_target, axis=-1), thigh + shin),
                       thigh, shin)
        dist = np.clip(dist, np.abs(thigh - shin) + STRAIGHT, (thigh + shin) * (1 - STRAIGHT))
        cos_a = np.clip((thigh**2 + dist**2 - shin**2) / (2 * thigh * dist), -1.0, 1.0)
        bend = (K - H) - np.einsum("ni,ni->n", K - H, e)[:, None] * e
        forward = (swing @ world[rows, ankle]) @ np.array([0.0, 0.0, 1.0])  # toes' way: knees bend forward
        bend = np.where(np.linalg.norm(bend, axis=-1, keepdims=True) > 1e-6, bend,
                        forward - np.einsum("ni,ni->n", forward, e)[:, None] * e)
        new_knee = H + thigh[:, None] * (cos_a[:, None] * e + np.sqrt(1 - cos_a**2)[:, None] * _unit(bend))
        new_ankle = H + dist[:, None] * e
        # the flex: thigh and shin turn within the swung leg's plane, i.e. about the knee's hinge
        turn_thigh = shortest_arc(K - H, new_knee - H) @ swing
        shin_now = np.einsum("nij,nj->ni", turn_thigh, joints[rows, ankle] - joints[rows, knee])
        turn_shin = shortest_arc(shin_now, new_ankle - new_knee) @ turn_thigh
        out[rows, hip] = turn_thigh @ world[rows, hip]
        out[rows, knee] = turn_shin @ world[rows, knee]
        # the ankle and everything below keep their world rotations
    return out


def shortfall(world: np.ndarray, bent: np.ndarray, rest_joints: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(n, 2, 3) where each ankle was sent less where `reach` put it (zero where nothing was sent)."""
    before, after = joint_positions(world, rest_joints), joint_positions(bent, rest_joints)
    out = np.stack([before[:, ankle] + shift[:, f] - after[:, ankle] for f, (_, _, ankle) in enumerate(LEGS)], 1)
    return np.where(np.linalg.norm(shift, axis=-1, keepdims=True) > 1e-6, out, 0.0)


def pelvis_share(short: np.ndarray, contacts: np.ndarray, dt: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """(n, 3) the pelvis path's move that takes the planted feet's shortfall: the lock-weighted
    mean over the feet down (a foot in single support gets all of its own, two feet of a double
    support meet halfway), smoothed like the shift itself (ground.SHIFT_SMOOTH_S) within segments."""
    lock = lock_weights(contacts) * (np.linalg.norm(short, axis=-1) > 0)
    move = (lock[..., None] * short).sum(1) / np.maximum(lock.sum(1), 1.0)[:, None]
    return smoothed(move, dt, reset, SHIFT_SMOOTH_S)


def flat_share(ankle_deg: np.ndarray) -> np.ndarray:
    """(n, 2) how much of the way to a flat sole each foot goes, from its ankle's per-frame uncertainty."""
    return np.clip((ankle_deg - FLAT_FROM_DEG) / (FLAT_FULL_DEG - FLAT_FROM_DEG), 0.0, 1.0)


def flat_feet(world: np.ndarray, offsets: np.ndarray, up: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(n, 2, 3, 3) world turns of each foot about its ankle that lay its sole (heel → toes) flat on the
    floor (normal `up`), by `weight` (n, 2) of the way: 1 on a planted foot, 0 on a swinging one.

    Instant mode's ankles are prior-only and point the toes down (docs/temporal.md), so a performer
    standing flat-footed stood on tiptoe. The turn is the shortest arc from the sole's direction onto
    its own projection on the floor: its axis lies in the floor, so the foot keeps its heading.
    """
    turns = np.tile(np.eye(3), weight.shape + (1, 1))
    for f, (ankle, _) in enumerate(FEET):
        toes, heel = SOLE[f]
        local = offsets[[t - NUM_SMPL_JOINTS for t in toes]].mean(0) - offsets[heel - NUM_SMPL_JOINTS]
        sole = world[:, ankle] @ local  # heel → toes in the world
        flat = sole - (sole @ up)[:, None] * up
        rows = weight[:, f] > 0
        turns[rows, f] = shortest_arc(sole[rows], flat[rows], weight[rows, f])
    return turns
