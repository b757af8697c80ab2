"""Floor, foot contacts and foot locking on a synthetic stepping clip with known contacts."""
from __future__ import annotations

import numpy as np

from propose_backend.temporal import ground

FPS = 30.0


def _stepping_clip(T: int = 120, tilt_deg: float = 12.0, jitter_m: float = 0.01):
    """World points (T, 35, 3) of alternating steps on a tilted floor; true contacts (T, 2)."""
    rng = np.random.default_rng(0)
    a = np.radians(tilt_deg)
    up = np.array([0.0, -np.cos(a), -np.sin(a)])  # camera y points down; the camera looks down a little
    forward = np.cross(up, [1.0, 0.0, 0.0])
    floor_point = np.array([0.0, 1.0, 5.0])
    phase = (np.arange(T) // 20) % 2  # 20-frame steps, feet alternate
    contacts = np.stack([phase == 0, phase == 1], 1)
    feet = np.zeros((T, 2, 3))
    for f in range(2):
        x = floor_point + (0.12 if f == 0 else -0.12) * np.array([1.0, 0, 0])
        pos = 0.0
        for t in range(T):
            if not contacts[t, f]:
                pos += 0.03  # moves forward while lifted
            lift = 0.0 if contacts[t, f] else 0.08 * np.sin(np.pi * ((t % 20) + 0.5) / 20)
            feet[t, f] = x + pos * forward + lift * up
    points = np.zeros((T, 35, 3))
    pelvis = feet.mean(1) + 0.9 * up
    points[:, 0] = pelvis
    points[:, 12] = pelvis + 0.5 * up
    for f, idx in enumerate(ground.FOOT_POINTS.values()):
        ankle = feet[:, f] + 0.08 * up
        offsets = [0.08 * up, 0.0 * up + 0.1 * forward, 0.16 * forward, 0.14 * forward, -0.05 * forward]
        for k, off in zip(idx, offsets):
            points[:, k] = (ankle - 0.08 * up) + off if k not in (7, 8) else ankle
    points += rng.normal(0, jitter_m, points.shape)
    return points, contacts, up


def test_floor_and_contacts_of_a_stepping_clip() -> None:
    world, truth, up = _stepping_clip()
    path = world[:, 0].copy()
    dt, reset = np.full(len(path) - 1, 1 / FPS), np.zeros(len(path) - 1, bool)
    floor, contacts, locked = ground.feet_on_floor(world - path[:, None], path, dt, reset)
    assert np.degrees(np.arccos(floor[:3] @ up)) < 5.0  # the camera's tilt is found
    assert floor[:3] @ path.mean(0) + floor[3] > 0.5
    inner = np.ones(len(truth), bool)
    inner[np.flatnonzero(np.diff(truth[:, 0].astype(int))) + np.arange(-2, 3)[:, None]] = False  # skip step edges
    predicted = contacts > 0.5
    assert (predicted[inner] == truth[inner]).mean() > 0.9
    # locking: the path takes the smooth part, the legs' shifts the rest; a planted foot then stays put
    foot = lambda p: np.stack([(world - path[:, None] + p[:, None])[:, list(i)].mean(1)  # noqa: E731
                               for i in ground.FOOT_POINTS.values()], 1)
    before, after = foot(path), foot(locked)
    shift = ground.foot_shift(world - path[:, None] + locked[:, None], contacts, dt, reset)
    planted = truth[1:] & truth[:-1] & inner[1:, None]
    skate = lambda x: np.linalg.norm(np.diff(x, axis=0), axis=-1)[planted].mean()  # noqa: E731
    assert skate(after) < skate(before)
    # the legs take the slide, not the feet's frame-to-frame noise (test below): half of it stays
    assert skate(after + shift) < 0.6 * skate(before)
    # the path stays where the footage put it, give or take the feet's noise
    assert np.linalg.norm(locked - path, axis=-1).max() < 0.05


def test_sticky_contacts_ignore_one_odd_frame() -> None:
    evidence = np.full((60, 2), 0.9)
    evidence[30:, 1] = 0.1  # the right foot lifts for good at frame 30
    evidence[15, 0] = 0.2  # one doubtful frame inside the left foot's contact
    dt, reset = np.full(59, 1 / FPS), np.zeros(59, bool)
    p = ground.sticky(evidence, dt, reset)
    assert p[15, 0] > 0.5 and p[:, 0].min() > 0.5
    assert p[:27, 1].min() > 0.5 and p[33:, 1].max() < 0.5


def _float(world: np.ndarray, up: np.ndarray, frames: slice, lift_m: float) -> np.ndarray:
    """The whole body raised by lift_m along `up` over `frames`, eased in and out over 5 frames:
    the estimate's error in the body's height (depth along the camera ray), not motion."""
    T = len(world)
    w = np.zeros(T)
    w[frames] = 1.0
    w = np.convolve(w, np.ones(5) / 5, mode="same")
    return world + (lift_m * w)[:, None, None] * up


def test_a_supported_body_floating_off_the_floor_is_put_back_on_it() -> None:
    world, truth, up = _stepping_clip()
    world = _float(world, up, slice(40, 70), 0.12)  # 12 cm up for a second, a foot always planted
    path = world[:, 0].copy()
    dt, reset = np.full(len(path) - 1, 1 / FPS), np.zeros(len(path) - 1, bool)
    floor, contacts, locked = ground.feet_on_floor(world - path[:, None], path, dt, reset)
    placed = world - path[:, None] + locked[:, None]
    lowest = (ground.soles(placed, floor[:3]) @ floor[:3] + floor[3]).min(1)
    raw_lowest = (ground.soles(world, floor[:3]) @ floor[:3] + floor[3]).min(1)
    assert raw_lowest[45:65].min() > 0.1  # the float is there before
    # after, the supporting foot stands on the floor (within the issue's 5 cm; the soles' own 2 cm of
    # noise is left alone, ground.SUPPORT_SLACK_M)
    assert np.abs(lowest[45:65]).max() < 0.05 and np.median(np.abs(lowest[45:65])) < 0.035
    predicted = contacts > 0.5
    assert predicted[45:65].any(1).all()  # and so a foot is found in contact (it was not: too high)
    # the correction is the float, not a new bounce: outside it the path stays where it was
    assert np.linalg.norm(locked[:30] - path[:30], axis=-1).max() < 0.03


def test_a_planted_foot_is_anchored_on_the_floor() -> None:
    world, truth, up = _stepping_clip(jitter_m=0.0)
    dt, reset = np.full(len(world) - 1, 1 / FPS), np.zeros(len(world) - 1, bool)
    floor = np.concatenate([up, [-(up @ np.array([0.0, 1.0, 5.0]))]])  # the clip's floor
    hover = world + 0.04 * up  # every foot hovers 4 cm up, planted or not
    contacts = truth.astype(float)
    shift = ground.foot_shift(hover, contacts, dt, reset, floor)
    held = ground.foot_shift(hover, contacts, dt, reset)  # no floor given: held where it hovered
    inner = truth[:, 0] & np.roll(truth[:, 0], 8) & np.roll(truth[:, 0], -8)  # deep inside a contact
    assert np.allclose(shift[inner, 0] @ up, -0.04, atol=0.005)
    assert np.abs(held[inner, 0] @ up).max() < 0.005


def test_a_real_jump_keeps_most_of_its_height() -> None:
    """The grounding follows height errors slower than about a second: a 0.4 s jump, whose feet are
    slow at the top, stays a jump (a standing body that floats for a second is brought down)."""
    world, truth, up = _stepping_clip(jitter_m=0.0)
    T, fps = len(world), FPS
    t = np.arange(T) / fps
    start, flight = 50 / fps, 0.4
    u = np.clip((t - start) / flight, 0, 1)
    height = 4 * 0.2 * u * (1 - u)  # a 20 cm parabola: the body and both feet leave the floor
    world = world + height[:, None, None] * up
    path = world[:, 0].copy()
    dt, reset = np.full(T - 1, 1 / fps), np.zeros(T - 1, bool)
    floor, contacts, locked = ground.feet_on_floor(world - path[:, None], path, dt, reset)
    placed = world - path[:, None] + locked[:, None]
    lowest = (ground.soles(placed, floor[:3]) @ floor[:3] + floor[3]).min(1)
    apex = int(round((start + flight / 2) * fps))
    assert lowest[apex] > 0.14, lowest[apex - 3:apex + 4]  # at least 70 % of the jump is kept


def test_a_narrow_strip_of_soles_takes_its_tilt_across_from_the_body() -> None:
    """A walker's soles lie on a strip as narrow as the stance; the estimate's feet differ in
    height by a few cm (on the CMU walk the foot nearer the camera comes out higher), and the
    soles alone would tilt the floor across the strip by that over the stance. The body's up
    (ankles to neck over the clip) decides the tilt across; the soles the tilt along."""
    world, _, up = _stepping_clip()
    left = list(ground.FOOT_POINTS["left"])
    world[:, left] += 0.03 * up  # the left foot 3 cm high, all clip long: 7° over the 24 cm stance
    path = world[:, 0].copy()
    dt, reset = np.full(len(path) - 1, 1 / FPS), np.zeros(len(path) - 1, bool)
    floor, _, _ = ground.feet_on_floor(world - path[:, None], path, dt, reset)
    assert np.degrees(np.arccos(floor[:3] @ up)) < 2.5


def test_planted_legs_take_the_slide_not_the_frame_noise() -> None:
    """A planted foot's shift (what the legs take) follows its slow slide, not the estimate's
    frame-to-frame noise: chasing that noise made knees and hips jerk (acceleration error)."""
    world, truth, up = _stepping_clip(jitter_m=0.01)
    T = len(world)
    slide = np.cumsum(np.where(truth[:, :1], 0.004, 0.0) * np.array([1.0, 0.0, 0.0]), axis=0)  # 12 cm/s while down
    world = world + slide[:, None]
    dt, reset = np.full(T - 1, 1 / FPS), np.zeros(T - 1, bool)
    floor = ground.fit_floor(ground.soles(world, up), up)
    contacts = ground.contact_probability(world, floor, dt, reset)
    shift = ground.foot_shift(world, contacts, dt, reset)
    foot = ground.foot_centres(world)
    inner = truth & np.roll(truth, 3, 0) & np.roll(truth, -3, 0)  # well inside a contact
    rough = lambda x: np.sqrt((np.linalg.norm(np.diff(x, 2, axis=0), axis=-1)[inner[1:-1]] ** 2).mean())  # noqa: E731
    assert rough(shift) < 0.5 * rough(foot)  # measured 0.2; 1.0 when the legs chased every frame
    # the slide is still taken: over each contact's inner frames the corrected foot barely travels
    travel = lambda x: np.mean([np.linalg.norm(x[run[-1], f] - x[run[0], f])  # noqa: E731
                                for f in range(2) for run in np.split(np.flatnonzero(inner[:, f]),
                                                                      np.flatnonzero(np.diff(np.flatnonzero(inner[:, f])) > 1) + 1)
                                if len(run) > 5])
    assert travel(foot + shift) < 0.3 * travel(foot)


def test_planted_feet_take_out_more_of_the_path_along_its_noisy_axis() -> None:
    """A body whose depth wanders with the stride (as BlazePose's size does) and jitters in depth
    only: planted feet pull the path back along the depth, which the path's own noise says is the
    weak axis, more than an equal hold on every axis would let them; x and y are left alone."""
    from propose_backend.temporal import trajectory

    world, truth, _ = _stepping_clip(jitter_m=0.003)
    T = len(world)
    rng = np.random.default_rng(1)
    wander = np.zeros((T, 3))
    wander[:, 2] = 0.06 * np.sin(2 * np.pi * np.arange(T) / 36) + rng.normal(0.0, 0.01, T)
    seen = world + wander[:, None]
    path = seen[:, 0].copy()
    reset = np.zeros(T - 1, bool)
    noise = trajectory.measurement_noise(path, np.ones(T, bool))
    assert noise[2] > 2 * noise[:2].max()
    alike = ground.lock_feet(seen, path, truth.astype(float), reset) - world[:, 0]
    weighed = ground.lock_feet(seen, path, truth.astype(float), reset, noise) - world[:, 0]
    rms = lambda e: np.sqrt((e**2).mean(0))  # noqa: E731
    assert rms(weighed)[2] < 0.8 * rms(alike)[2], (rms(weighed), rms(alike))
    assert np.allclose(rms(weighed)[:2], rms(alike)[:2], atol=1e-4)


def test_a_body_walking_across_the_picture_is_not_planted_by_its_noisy_x() -> None:
    """A person walks back into the picture at 2.5 m/s along x after a gap that splits the clip,
    then stands, with x several times noisier than y (a tracker's jittering crop, as in everyone
    mode). Weighing x by that noise made the walk read as both feet planted and the legs then bent
    0.4 m back to that contact's anchor (the crossing clip's walker 3): the smoothed legs must stay
    near the per-frame ones, and the standing frames still planted."""
    from propose_backend.temporal import smooth_results

    from .synthetic import UPRIGHT, clip

    T = 120
    local = np.tile(np.eye(3), (T, 24, 1, 1))
    local[:, 0] = UPRIGHT
    x = np.zeros(T)
    x[60:] = np.minimum(np.arange(60) * 2.5 / FPS, 1.25)  # walks in for half a second, then stands
    path = np.stack([x - 0.6, np.full(T, 0.1), np.full(T, 4.0)], 1)
    path += np.random.default_rng(3).normal(0, [0.012, 0.001, 0.025], (T, 3))
    data, _ = clip(local, noise_deg=3.0, transl=path)
    for name in ("valid", "rotmats", "posterior_F", "joints3d", "joints2d", "transl", "uncertainty_deg"):
        data[name][30:60] = 0  # out of the picture for a second: the clip splits
    smoothed = smooth_results(data)
    assert smoothed["meta"]["temporal"]["split_gaps"] == 1
    rows = np.flatnonzero(smoothed["valid"])
    legs = [4, 5, 7, 8, 10, 11]  # knees, ankles, feet
    pose = lambda d: d["joints3d"][rows][:, legs] - d["joints3d"][rows][:, :1]  # noqa: E731
    moved = np.linalg.norm(pose(smoothed) - pose(data), axis=-1)
    assert moved.max() < 0.1, moved.max()  # measured 0.05; 0.44 when the walk read as planted
    assert smoothed["contacts"][60:72].max() < 0.3  # walking
    assert smoothed["contacts"][85:].min() > 0.9 and smoothed["contacts"][:30].min() > 0.9  # standing
