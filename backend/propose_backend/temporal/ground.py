"""The floor under the feet, when each foot touches it, and feet that stay put while they do.

Floor: a plane fitted, in the camera frame, to the lowest point of each foot over the clip. It
starts level with the body's mean up direction (ankles → neck) through the lowest soles, then
alternates: the soles near the current plane (the frames a foot is likely down) refit it by a
least-squares plane whose normal is pulled towards the body's up (so a clip where the person
stands still still gets the up direction right). The camera's tilt is whatever that normal says.

Contact: a foot is down when its sole is near the floor and it barely moves, p = σ((h₀ − h)/s_h)
· σ((v₀ − v)/s_v), with h the lowest foot point's height and v the speed of the foot's centre over ±0.06 s (so
depth noise does not read as motion).

Locking: while a foot is down its sole is held at one anchor per contact (the median of its
positions), by moving the pelvis path: with one foot down it is exactly still; with both down
the path takes the mean correction. The rotations are not changed.
"""
from __future__ import annotations

import numpy as np

FOOT_POINTS = {"left": (7, 10, 29, 30, 31), "right": (8, 11, 32, 33, 34)}  # ankle, foot, toes, heel
CONTACT_HEIGHT_M, HEIGHT_SCALE_M = 0.06, 0.02
CONTACT_SPEED_MS, SPEED_SCALE_MS = 0.5, 0.15
SPEED_WINDOW_S = 0.06
UP_PRIOR_M2 = 0.02**2  # how strongly the floor normal stays near the body's up
LOCK_FROM, LOCK_FULL = 0.3, 0.7  # contact probability where locking starts / is complete


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def body_up(points: np.ndarray) -> np.ndarray:
    """Unit up direction in the camera frame: median of ankles-midpoint → neck."""
    v = points[:, 12] - 0.5 * (points[:, 7] + points[:, 8])
    v = np.median(v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9), axis=0)
    return v / max(np.linalg.norm(v), 1e-9)


def soles(world: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(n, 2, 3) lowest point (along `up`) of the left and right foot in every frame."""
    out = []
    for idx in FOOT_POINTS.values():
        pts = world[:, list(idx)]
        low = np.argmin(pts @ up, axis=1)
        out.append(pts[np.arange(len(pts)), low])
    return np.stack(out, axis=1)


def fit_floor(sole: np.ndarray, up: np.ndarray, iterations: int = 6) -> np.ndarray:
    """Plane (nx, ny, nz, d) with n·p + d = 0 on the floor, n unit along the body's up."""
    pts = sole.reshape(-1, 3)
    n = up.copy()
    d = -np.quantile(pts @ n, 0.05)
    for _ in range(iterations):
        h = pts @ n + d
        support = pts[h < max(np.quantile(h, 0.4), 0.02)]
        if len(support) < 3:
            break
        c = support.mean(0)
        cov = (support - c).T @ (support - c) / len(support) + UP_PRIOR_M2 * (np.eye(3) - np.outer(up, up))
        w, V = np.linalg.eigh(cov)
        n = V[:, 0] * np.sign(V[:, 0] @ up)
        d = -(c @ n)
    return np.concatenate([n, [d]])


def _speed(x: np.ndarray, dt: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """(n, ...) speed over ±SPEED_WINDOW_S (clamped at segment ends)."""
    n = len(x)
    t = np.concatenate([[0.0], np.cumsum(np.where(reset, 0.0, dt))])
    seg = np.concatenate([[0], np.cumsum(reset)])
    k = max(1, int(round(SPEED_WINDOW_S / max(np.median(dt) if len(dt) else 1.0, 1e-6))))
    idx = np.arange(n)
    lo, hi = np.maximum(idx - k, 0), np.minimum(idx + k, n - 1)
    lo = np.where(seg[lo] == seg, lo, idx)
    hi = np.where(seg[hi] == seg, hi, idx)
    span = np.maximum(t[hi] - t[lo], 1e-6)
    return np.linalg.norm(x[hi] - x[lo], axis=-1) / span.reshape((-1,) + (1,) * (x.ndim - 2))


def foot_centres(world: np.ndarray) -> np.ndarray:
    """(n, 2, 3) mean of each foot's points: a stable point to measure foot motion by."""
    return np.stack([world[:, list(idx)].mean(1) for idx in FOOT_POINTS.values()], axis=1)


def contact_probability(world: np.ndarray, floor: np.ndarray, dt: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """(n, 2) probability that the left/right foot is on the floor (height of its sole, speed of its centre)."""
    height = soles(world, floor[:3]) @ floor[:3] + floor[3]
    speed = _speed(foot_centres(world), dt, reset)
    return (_sigmoid((CONTACT_HEIGHT_M - height) / HEIGHT_SCALE_M)
            * _sigmoid((CONTACT_SPEED_MS - speed) / SPEED_SCALE_MS))


def lock_feet(world: np.ndarray, path: np.ndarray, contacts: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """The pelvis path moved so that feet in contact stay at their anchors."""
    n = len(path)
    lock = np.clip((contacts - LOCK_FROM) / (LOCK_FULL - LOCK_FROM), 0.0, 1.0)  # (n, 2)
    foot = foot_centres(world)
    correction = np.zeros((n, 2, 3))
    seg = np.concatenate([[0], np.cumsum(reset)])
    for f in range(2):
        down = lock[:, f] > 0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], down.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            for s in np.unique(seg[a:b]):  # a contact never spans a split
                run = np.arange(a, b)[seg[a:b] == s]
                anchor = np.median(foot[run, f], axis=0)
                correction[run, f] = anchor - foot[run, f]
    total = lock.sum(1, keepdims=True)
    shift = (lock[..., None] * correction).sum(1) / np.maximum(total, 1.0)
    return path + shift


def feet_on_floor(points: np.ndarray, path: np.ndarray, dt: np.ndarray,
                  reset: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Floor plane (or None with too few frames), (n, 2) contacts and the foot-locked path.

    points: (n, 35, 3) pelvis-relative points; path: (n, 3) pelvis in the camera frame.
    """
    if len(path) < 3:
        return None, np.zeros((len(path), 2)), path
    world = points + path[:, None]
    up = body_up(points)
    floor = fit_floor(soles(world, up), up)
    if floor[:3] @ path.mean(0) + floor[3] < 0:  # the pelvis must be above the floor
        floor = -floor
    contacts = contact_probability(world, floor, dt, reset)
    locked = lock_feet(world, path, contacts, reset)
    return floor, contacts, locked
