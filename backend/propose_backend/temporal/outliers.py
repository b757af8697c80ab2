"""Gross per-frame errors a smoother must not average in: 180° root turns and left/right swaps.

A monocular estimate sometimes sees the person from the wrong side for a frame or a few (the
pelvis turns by ~180° about the body's vertical axis) or swaps the left and right limbs. Both
are discrete alternatives of the same measurement, so we choose, per frame, which reading of
it to trust with a Viterbi pass over four hypotheses — as measured, root turned back, limbs
swapped back, both — scoring how far each reading jumps from the previous frame's (squared
geodesic angles, capped so that one other bad joint cannot decide) plus a fixed price for
every repaired frame, so a repair is only taken when it makes the motion clearly more
continuous. What is left (a single confused joint) is down-weighted by the smoother's robust
weights instead.
"""
from __future__ import annotations

import numpy as np

from ..skeleton import FLIP_PAIRS_24
from . import so3

TURN = so3.rot_y(np.pi)  # half turn about the SMPL model's vertical (y) axis
JUMP_SCALE_DEG = 30.0  # a frame-to-frame change of this size costs 1
JUMP_CAP = 9.0  # no single joint contributes more than (3 · JUMP_SCALE)²
REPAIR_COST = 1.5  # price of reading one frame differently from how it was measured
HYPOTHESES = ("as_measured", "root_turned", "limbs_swapped", "turned_and_swapped")


def _swap_order() -> np.ndarray:
    order = np.arange(24)
    for a, b in FLIP_PAIRS_24:
        order[a], order[b] = b, a
    return order


SWAP = _swap_order()


def reading(world: np.ndarray, info: np.ndarray, hypothesis: int) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (T, 24, 3, 3) and information of one hypothesis' reading of every frame."""
    world, info = world.copy(), info.copy()
    if hypothesis in (2, 3):
        world, info = world[:, SWAP], info[:, SWAP]
    if hypothesis in (1, 3):  # right-multiplying R by TURN conjugates its tangent information
        world[:, 0] = world[:, 0] @ TURN
        info[:, 0] = TURN.T @ info[:, 0] @ TURN
    return world, info


def choose_readings(world: np.ndarray, observed: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """(T,) hypothesis index per frame (0 = as measured) minimising jumps plus repair cost.

    world: (T, 24, 3, 3) measured world rotations; observed: (T,) frames with a measurement;
    reset: (T−1,) transitions that end a segment (nothing is compared across them).
    Unobserved frames keep hypothesis 0 and carry the previous observed frame's readings.
    """
    T = len(world)
    H = len(HYPOTHESES)
    choice = np.zeros(T, np.int64)
    rows = np.flatnonzero(observed)
    if len(rows) < 2:
        return choice
    readings = np.stack([reading(world[rows], np.zeros_like(world[rows]), h)[0] for h in range(H)])  # (H, n, 24, 3, 3)
    cross = np.cumsum(np.concatenate([[0], reset.astype(np.int64)]))[rows]  # segment id of each observed row
    cost = np.full(H, REPAIR_COST)
    cost[0] = 0.0
    total = cost.copy()
    back = np.zeros((len(rows), H), np.int64)
    for k in range(1, len(rows)):
        # angle between reading a at row k-1 and reading b at row k, all pairs: (H, H, 24)
        prev, cur = readings[:, k - 1], readings[:, k]
        angle = so3.angle_deg(prev[:, None], cur[None, :])
        jump = np.minimum((angle / JUMP_SCALE_DEG) ** 2, JUMP_CAP).sum(-1)
        if cross[k] != cross[k - 1]:
            jump[:] = 0.0
        step = total[:, None] + jump
        back[k] = step.argmin(0)
        total = step.min(0) + cost
    best = int(total.argmin())
    path = np.zeros(len(rows), np.int64)
    path[-1] = best
    for k in range(len(rows) - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    choice[rows] = path
    return choice
