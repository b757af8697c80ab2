"""The floor under the feet, when each foot touches it, and feet that stay put while they do.

Floor: a plane fitted, in the camera frame, to the lowest point of each foot over the clip. It
starts level with the body's mean up direction (ankles → neck) through the lowest soles, then
alternates: the soles near the current plane (the frames a foot is likely down) refit it by a
least-squares plane whose normal is pulled towards the body's up (so a clip where the person
stands still, or walks a strip as narrow as the stance, still gets the up direction right
across it). The camera's tilt is whatever that normal says.

Contact: a foot is down when its sole is near the floor and it barely moves, p = σ((h₀ − h)/s_h)
· σ((v₀ − v)/s_v), with h the lowest foot point's height and v the speed of the foot's centre over ±0.06 s (so
depth noise does not read as motion).

Support: a body that walks or stands has a foot on the floor. Where the lowest foot is slow (a
supporting foot, not one swinging) but off the floor, the estimate has put the whole body too
high or too low (its depth and scale along the camera ray are its weakest values), so the path
takes the smoothest vertical correction that puts the supporting foot on the floor
(ground_path) before contacts are read.

Locking: while a foot is down it should not move, and it stands on the floor. First the pelvis
path takes the smoothest correction that stills the planted feet (a banded least-squares
problem, lock_feet); what is left — mostly the two feet of a double support disagreeing — is
the distance of each planted foot from its contact's anchor on the floor (foot_shift), which
the legs take by bending hip and knee
(legs.reach).
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.ndimage import gaussian_filter1d
from scipy.sparse.linalg import spsolve

FOOT_POINTS = {"left": (7, 10, 29, 30, 31), "right": (8, 11, 32, 33, 34)}  # ankle, foot, toes, heel
CONTACT_HEIGHT_M, HEIGHT_SCALE_M = 0.06, 0.02
CONTACT_SPEED_MS, SPEED_SCALE_MS = 0.8, 0.2  # m/s: estimated planted feet move ~0.45 m/s, swinging ones ~1.6 (CMU walk)
CONTACT_HOLD_S = 0.3  # a foot changes between down and up about this often
SPEED_WINDOW_S = 0.06
MIN_AXIS_WEIGHT = 0.2  # a foot's speed along its noisiest axis counts at least this much
# How strongly the floor normal stays near the body's up (ankles → neck over the clip): as if
# the soles also spread this far (m²) in every direction across the up. A walker's soles lie on
# a strip as narrow as the stance (±10–15 cm), and the estimate's feet differ in height by a
# few cm (the foot nearer the camera higher on the CMU walk), so the soles alone tilt the floor
# across the strip by degrees: 4–5° on the walk's clips with 0.02², and under the dolly's solved
# path the planted left foot then stood 6–9 cm over it and was never locked. At 0.2² the body
# decides the tilt across a narrow strip and the soles the tilt along a long one (floor within
# 0.7–1.5° of the truth on the walk's views, 1.4–4.7° before; docs/temporal.md, "The floor").
UP_PRIOR_M2 = 0.2**2
LOCK_FROM, LOCK_FULL = 0.3, 0.7  # contact probability where locking starts / is complete
EASE_S = 0.2  # a planted leg eases onto its anchor over about this long
# A planted foot's remaining shift (what the legs take) is smoothed over about this long
# (Gaussian σ): its frame-to-frame part is the estimate's own foot noise (mostly depth), which
# the legs turned into knee and hip jerks (bench_temporal_walk's acceleration error, front view
# 4.9 → 6.2 mm/frame² once contacts locked most stance frames); the slow part, the slide, stays.
SHIFT_SMOOTH_S = 0.05
PATH_BEND = 0.3  # weight of the correction's bending (per frame²) against a planted foot's step
PATH_LEASH = 0.3  # pull of the correction back to zero: it fades within ~1/sqrt(PATH_LEASH) frames (~2)
# Along a noisier camera axis the correction is held less (PATH_LEASH · (σ_min/σ_axis)², from
# the path's own noise per axis; lock_feet): the estimate's depth wanders with the stride (the body's size in
# BlazePose's landmarks changes with the pose; ±10 cm on the CMU walk's front view), and a planted
# foot is the clip's best witness of that wander, while x and y are measured well.
# The shortest period of the body's height error that the path follows. Faster floats are left
# to the contacts and anchors: following 0.3–0.5 s ones let a foot walking along the (noisy,
# down-weighted) depth axis read as planted on the street clip, and locking then dragged it 20 cm
# up; 1 s kept only 57 % of a real 0.4 s jump's height (test_ground.py), 1.5 s keeps 72 %.
SUPPORT_S = 1.5
SUPPORT_SLACK_M = HEIGHT_SCALE_M  # a supporting sole this close to the floor is the estimate's noise: no correction
SUPPORT_LEASH = 1e-3  # where no foot is slow, the height correction drifts back to zero only gently


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


def fit_floor(sole: np.ndarray, up: np.ndarray, iterations: int = 6, up_prior_m2: float | None = None) -> np.ndarray:
    """Plane (nx, ny, nz, d) with n·p + d = 0 on the floor, n unit along the body's up
    (held near it by `up_prior_m2`, UP_PRIOR_M2 unless given)."""
    up_prior_m2 = UP_PRIOR_M2 if up_prior_m2 is None else up_prior_m2
    pts = sole.reshape(-1, 3)
    n = up.copy()
    d = -np.quantile(pts @ n, 0.05)
    for _ in range(iterations):
        h = pts @ n + d
        support = pts[h < max(np.quantile(h, 0.4), 0.02)]
        if len(support) < 3:
            break
        c = support.mean(0)
        cov = (support - c).T @ (support - c) / len(support) + up_prior_m2 * (np.eye(3) - np.outer(up, up))
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


def axis_weights(noise: np.ndarray | None) -> np.ndarray:
    """(3,) how much of a foot's speed along each camera axis counts, from the path's noise per axis.

    The depth (z, along the camera ray) counts in units of the picture axes' noise: on footage the
    estimated depth is often several times noisier than x and y (7× on the street clip) and wanders
    with the stride, and its jitter would read as a moving foot. A picture axis (x, y) is weighed
    down only by noise that could read as motion (its speed over the window above SPEED_SCALE_MS):
    weighing x by its ratio to y alone (a tracker's jittering crop makes x 4× y's 3 mm, still only
    ~0.1 m/s) let a walker crossing the picture at 2.7 m/s read as one planted foot for a second, and
    the legs then bent it 0.3-0.4 m back to that contact's anchor (the crossing clip's walker 3,
    docs/performance.md, issue 21).
    """
    if noise is None:
        return np.ones(3)
    noise = np.maximum(np.asarray(noise, float), 1e-6)
    # noise whose speed over the window (√2·σ / 2·SPEED_WINDOW_S) stays under SPEED_SCALE_MS cannot read as motion
    harmless = SPEED_SCALE_MS * 2 * SPEED_WINDOW_S / np.sqrt(2.0)
    picture = np.clip(max(noise[:2].min(), harmless) / noise[:2], MIN_AXIS_WEIGHT, 1.0)
    return np.concatenate([picture, np.clip(noise[:2].min() / noise[2:], MIN_AXIS_WEIGHT, 1.0)])


def contact_evidence(world: np.ndarray, floor: np.ndarray, dt: np.ndarray, reset: np.ndarray,
                     noise: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) per-frame chance that the left/right foot is down: sole near the floor, foot centre slow.

    noise: (3,) measurement noise of the path per camera axis (trajectory.measurement_noise).
    """
    height = soles(world, floor[:3]) @ floor[:3] + floor[3]
    return _sigmoid((CONTACT_HEIGHT_M - height) / HEIGHT_SCALE_M) * speed_evidence(world, dt, reset, noise)


def speed_evidence(world: np.ndarray, dt: np.ndarray, reset: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) chance that each foot is still enough to be planted, from its centre's speed (axis-weighted)."""
    speed = _speed(foot_centres(world) * axis_weights(noise), dt, reset)
    return _sigmoid((CONTACT_SPEED_MS - speed) / SPEED_SCALE_MS)


def _beyond_slack(height: np.ndarray | float, frames: float = 1.0) -> np.ndarray:
    """The part of a sole's height above or below the floor beyond the soles' own noise
    (SUPPORT_SLACK_M per frame; /sqrt(frames) for a mean over that many frames)."""
    slack = SUPPORT_SLACK_M / np.sqrt(max(frames, 1.0))
    return height - np.clip(height, -slack, slack)


def _smooth_fit(target: np.ndarray, weight: np.ndarray, frames: float, leash: float, reset: np.ndarray) -> np.ndarray:
    """(n,) the curve z minimising Σ w (z − target)² + frames⁴ Σ (Δ²z)² + leash Σ z², never bending across a split.

    A low-pass of the weighted targets: with weights near 1 it follows changes whose period is
    longer than about 2π·frames frames and smooths away faster ones; unweighted stretches are
    bridged smoothly.
    """
    system = sparse.diags(weight + leash) + frames**4 * _bending(len(target), reset)
    return spsolve(system.tocsc(), weight * target)


def _bending(n: int, reset: np.ndarray) -> sparse.csr_matrix:
    """(n, n) the quadratic form Σ (Δ²z)² over n frames, with no second difference across a split
    (`reset`, (n-1,): True where the step into the next frame starts a new segment): the smoothness
    term of both path fits (ground_path, lock_feet)."""
    keep = ~np.asarray(reset, bool)
    D2 = sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n), format="csr")
    return D2.T @ sparse.diags((keep[1:] & keep[:-1]).astype(float)) @ D2


def ground_path(world: np.ndarray, path: np.ndarray, floor: np.ndarray, dt: np.ndarray, reset: np.ndarray,
                noise: np.ndarray | None = None) -> np.ndarray:
    """The path moved along the floor's normal, smoothly, so that the supporting foot stands on the floor.

    In each frame the lowest sole is the supporting foot's, weighted by how slow that foot is (a
    swinging foot says nothing about the floor). A planted foot hovering 10 cm up, or sunk into
    the floor, for a stretch of the clip is the estimate's error in the body's height (its depth
    and scale along the camera ray), not motion; the correction follows changes slower than
    SUPPORT_S and keeps the body's own bounce. A long hop whose feet stay slow at the top would
    be flattened too.
    """
    n = len(path)
    if n < 3:
        return path
    height = soles(world, floor[:3]) @ floor[:3] + floor[3]  # (n, 2)
    lowest = height.argmin(1)
    slow = speed_evidence(world, dt, reset, noise)[np.arange(n), lowest]
    frames = SUPPORT_S / (2 * np.pi * max(float(np.median(dt)) if len(dt) else 1.0, 1e-6))
    lift = _smooth_fit(-_beyond_slack(height[np.arange(n), lowest]), slow, frames, SUPPORT_LEASH, reset)
    return path + lift[:, None] * floor[:3]


def sticky(evidence: np.ndarray, dt: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """Posterior of a two-state (down / up) chain per foot with per-frame likelihoods p and 1 − p.

    A foot changes state about once per CONTACT_HOLD_S, so one odd frame inside a contact (or a
    swing) does not break it; forward–backward over each segment, restarted at splits.
    """
    n = len(evidence)
    switch = 1.0 - np.exp(-np.asarray(dt, float) / CONTACT_HOLD_S)
    like = np.stack([np.clip(evidence, 1e-6, 1 - 1e-6), np.clip(1 - evidence, 1e-6, 1 - 1e-6)], -1)  # (n, 2, 2)
    alpha = np.empty_like(like)
    a = 0.5 * like[0]
    alpha[0] = a / a.sum(-1, keepdims=True)
    for t in range(1, n):
        s = 0.5 if reset[t - 1] else switch[t - 1]
        prior = (1 - s) * alpha[t - 1] + s * alpha[t - 1][..., ::-1]
        a = prior * like[t]
        alpha[t] = a / a.sum(-1, keepdims=True)
    post = alpha.copy()
    beta = np.ones_like(like[0])
    for t in range(n - 2, -1, -1):
        s = 0.5 if reset[t] else switch[t]
        b = like[t + 1] * beta
        beta = (1 - s) * b + s * b[..., ::-1]
        beta = beta / beta.sum(-1, keepdims=True)
        post[t] = alpha[t] * beta
    post = post / post.sum(-1, keepdims=True)
    return post[..., 0]


def contact_probability(world: np.ndarray, floor: np.ndarray, dt: np.ndarray, reset: np.ndarray,
                        noise: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) probability that the left/right foot is on the floor (per-frame evidence, made sticky)."""
    return sticky(contact_evidence(world, floor, dt, reset, noise), dt, reset)


def lock_weights(contacts: np.ndarray) -> np.ndarray:
    """(n, 2) how firmly each foot is held: 0 below LOCK_FROM, 1 from LOCK_FULL, linear between."""
    return np.clip((contacts - LOCK_FROM) / (LOCK_FULL - LOCK_FROM), 0.0, 1.0)


def lock_feet(world: np.ndarray, path: np.ndarray, contacts: np.ndarray, reset: np.ndarray,
              noise: np.ndarray | None = None) -> np.ndarray:
    """The pelvis path plus the smoothest correction that keeps the feet in contact still.

    The correction c (n, 3) minimises, per camera axis a,  Σ_t Σ_f v_f,t (Δfoot_f,t,a + Δc_t,a)²
    + PATH_BEND Σ (Δ²c_t,a)²  +  ℓ_a Σ c_t,a²  (v: the lock weight of both frames of a step):
    planted feet stop, the path bends no more than it must, and it never wanders far from where
    the footage put it, held less along the path's noisier axes: ℓ_a = PATH_LEASH · w_a², w_a
    the contacts' weight of axis a (axis_weights, at least MIN_AXIS_WEIGHT; noise: (3,) the path's
    measurement noise per axis, trajectory.measurement_noise; None: every axis alike).
    Nothing couples across a split.
    """
    n = len(path)
    if n < 3:
        return path
    lock = lock_weights(contacts)
    foot = foot_centres(world)
    keep = ~np.asarray(reset, bool)
    v = np.minimum(lock[1:], lock[:-1]) * keep[:, None]  # (n-1, 2)
    step_foot = np.diff(foot, axis=0)  # (n-1, 2, 3)
    D1 = sparse.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csr")
    steps = D1.T @ sparse.diags(v.sum(1)) @ D1 + PATH_BEND * _bending(n, reset)
    rhs = -(D1.T @ (v[..., None] * step_foot).sum(1))  # (n, 3)
    leash = PATH_LEASH * axis_weights(noise) ** 2
    out = np.array(path, dtype=np.float64)
    for axis in range(3):
        out[:, axis] += spsolve((steps + leash[axis] * sparse.identity(n)).tocsc(), rhs[:, axis])
    return out


def eased(lock: np.ndarray, dt: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """(n, 2) lock weights smoothed over ±EASE_S (within segments), so a leg moves onto its anchor gradually."""
    return smoothed(lock, dt, reset, EASE_S / 2)


def foot_shift(world: np.ndarray, contacts: np.ndarray, dt: np.ndarray, reset: np.ndarray,
               floor: np.ndarray | None = None) -> np.ndarray:
    """(n, 2, 3) how far each planted foot must still move to stay at its contact's anchor.

    The anchor of a contact is the lock-weighted mean of the foot's positions over it, lowered
    or raised along the floor's normal (when the floor is given) by the mean height of its sole
    over the contact, less that mean's own noise, so a planted foot stands on the floor rather
    than where it hovered; the shift is scaled by the lock weight, so a foot eases into and out
    of its anchor.
    """
    lock = lock_weights(contacts)
    lock = lock * eased(lock, dt, reset)  # ease in and out: a leg never snaps to its anchor
    foot = foot_centres(world)
    sole = soles(world, floor[:3]) @ floor[:3] + floor[3] if floor is not None else np.zeros(lock.shape)
    shift = np.zeros_like(foot)
    seg = np.concatenate([[0], np.cumsum(reset)])
    for f in range(2):
        down = lock[:, f] > 0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], down.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            for s in np.unique(seg[a:b]):  # a contact never spans a split
                run = np.arange(a, b)[seg[a:b] == s]
                w = lock[run, f]
                anchor = (w[:, None] * foot[run, f]).sum(0) / w.sum()
                if floor is not None:
                    # the mean sole height's own noise shrinks with the contact's length
                    anchor = anchor - _beyond_slack((w * sole[run, f]).sum() / w.sum(), w.sum()) * floor[:3]
                shift[run, f] = w[:, None] * (anchor - foot[run, f])
    return smoothed(shift, dt, reset, SHIFT_SMOOTH_S)


def smoothed(values: np.ndarray, dt: np.ndarray, reset: np.ndarray, sigma_s: float) -> np.ndarray:
    """(n, ...) values smoothed over time by a Gaussian of σ = sigma_s, within segments (never across a split)."""
    sigma = sigma_s / max(float(np.median(dt)) if len(dt) else 1.0, 1e-6)
    if sigma < 0.25:
        return values
    seg = np.concatenate([[0], np.cumsum(reset)])
    out = np.empty_like(values)
    for s in np.unique(seg):
        rows = seg == s
        out[rows] = gaussian_filter1d(values[rows], sigma, axis=0, mode="nearest")
    return out


def feet_on_floor(points: np.ndarray, path: np.ndarray, dt: np.ndarray, reset: np.ndarray,
                  noise: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Floor plane (or None with too few frames), (n, 2) contacts and the foot-locked path.

    points: (n, 35, 3) pelvis-relative points; path: (n, 3) pelvis in the camera frame; noise:
    the path's measurement noise per axis (contact_evidence).
    """
    if len(path) < 3:
        return None, np.zeros((len(path), 2)), path
    world = points + path[:, None]
    up = body_up(points)
    floor = fit_floor(soles(world, up), up)
    if floor[:3] @ path.mean(0) + floor[3] < 0:  # the pelvis must be above the floor
        floor = -floor
    path = ground_path(world, path, floor, dt, reset, noise)
    world = points + path[:, None]
    contacts = contact_probability(world, floor, dt, reset, noise)
    locked = lock_feet(world, path, contacts, reset, noise)
    return floor, contacts, locked
