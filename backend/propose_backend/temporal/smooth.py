"""Per-frame results in, animation out: `smooth_results` ties the temporal pieces together.

Order of work (docs/temporal.md has the maths):
1. the raw per-frame values (from `raw_*` when the file was smoothed before, so re-smoothing
   always starts from the estimator's output);
2. gaps bridged or split (gaps.py); root turns and left/right swaps repaired (outliers.py);
3. every joint's world rotation smoothed by the SO(3) forward–backward pass (kalman.py), the
   per-frame matrix-Fisher posteriors as measurements; pins as near-hard measurements;
4. local rotations, smoothed posteriors, uncertainty and coherent ghost trajectories from it;
5. the pelvis path (trajectory.py), then the floor, foot contacts and foot locking (ground.py).
With a solved camera (`world_from_camera`) all of it runs in the first camera's frame held still
(world.py) and the results go back into each frame's camera at the end.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from .. import fisher
from ..posterior import SAMPLE_SHARPNESS
from ..request import DEFAULT_SEED, DEFAULT_SMOOTH
from ..results import RAW_FIELDS, SCHEMA_VERSION
from ..skeleton import NUM_SMPL_JOINTS, SMPL_PARENTS
from . import fingers, gaps, ground, kalman, kinematics, legs, outliers, so3, trajectory
from . import world as world_frame

# Angular-acceleration noise of every joint at strength 1, rad²/s³ (tuned on the CMU walk, see
# docs/temporal.md); strength s divides it by s².
ROTATION_ACCEL_NOISE = 16.0
# Scale on the information of the per-frame posteriors (SAMPLE_SHARPNESS·F, the matrices the
# colours and ghosts come from); 1 trusts them as they are.
MEASUREMENT_SCALE = 1.0
GHOST_CHUNK = 512  # frames per chunk when ordering and storing ghosts
QUADRATURE_CHUNK = 64  # frames per uncertainty quadrature call (bounds its memory)
PIN_INFORMATION = 1e10  # rad⁻²: a pin is a measurement of ~1e-5 rad standard deviation


@dataclass
class Pins:
    """Rotations the animator fixed: joint `joint[i]` at source frame `frame_index[i]` is `rotmats[i]` (local)."""

    frame_index: np.ndarray  # (P,) int64
    joint: np.ndarray  # (P,) int64, SMPL joint index (0 = pelvis/root)
    rotmats: np.ndarray  # (P, 3, 3) local rotations

    def __post_init__(self) -> None:
        self.frame_index = np.asarray(self.frame_index, dtype=np.int64).reshape(-1)
        self.joint = np.asarray(self.joint, dtype=np.int64).reshape(-1)
        self.rotmats = np.asarray(self.rotmats, dtype=np.float64).reshape(-1, 3, 3)
        if not len(self.frame_index) == len(self.joint) == len(self.rotmats):
            raise ValueError(f"Pins need equal lengths, got {len(self.frame_index)} frames, "
                             f"{len(self.joint)} joints and {len(self.rotmats)} rotations.")
        if len(self.joint) and (self.joint.min() < 0 or self.joint.max() >= NUM_SMPL_JOINTS):
            raise ValueError(f"Pin joints must be SMPL joint indices 0..{NUM_SMPL_JOINTS - 1}.")
        self.rotmats = so3.project(self.rotmats)

    @classmethod
    def none(cls) -> "Pins":
        return cls(np.zeros(0), np.zeros(0), np.zeros((0, 3, 3)))


def raw_frames(data: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The estimator's own per-frame values: `raw_NAME` when present (a smoothed file), else `NAME`."""
    return {name: np.asarray(data[f"raw_{name}"] if f"raw_{name}" in data else data[name]) for name in RAW_FIELDS}


def _measurements(raw: dict[str, np.ndarray], rows: np.ndarray, observed: np.ndarray):
    """World rotations (n, 24, 3, 3) and their tangent information from the per-frame posteriors."""
    local = raw["rotmats"][rows].astype(np.float64)
    F = SAMPLE_SHARPNESS * raw["posterior_F"][rows].astype(np.float64)
    local[~observed] = np.eye(3)
    F[~observed] = 0.0
    world = kinematics.world_from_local(so3.project(local))
    # F[:, j>0] is over the root-relative rotation G_j G_0ᵀ: tr(Fᵀ G_j G_0ᵀ) = tr((F G_0)ᵀ G_j)
    Fw = F.copy()
    Fw[:, 1:] = F[:, 1:] @ world[:, :1]
    _, info = so3.fisher_to_gaussian(Fw)
    info *= MEASUREMENT_SCALE
    info[~observed] = 0.0
    # unobserved rows start from the last observed pose (only the smoother's first reference)
    last = np.maximum.accumulate(np.where(observed, np.arange(len(rows)), 0))
    return world[last], info


def _pin_rows(pins: Pins, frame_index: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index into the smoother's rows of every pin's frame."""
    where = {int(f): k for k, f in enumerate(frame_index[rows])}
    missing = [int(f) for f in pins.frame_index if int(f) not in where]
    if missing:
        raise ValueError(f"Cannot pin frame(s) {missing[:5]}: they have no pose in these results.")
    return np.array([where[int(f)] for f in pins.frame_index], dtype=np.int64)


def _depth(joint: int) -> int:
    return 0 if joint == 0 else 1 + _depth(SMPL_PARENTS[joint])


def _smooth_with_pins(world: np.ndarray, info: np.ndarray, plan: gaps.Plan, q: float, pins: Pins,
                      pin_rows: np.ndarray, num_samples: int, seed: int) -> kalman.SmoothedTracks:
    """All joints at once; then the pinned joints again, one tree level at a time (parents first).

    A pin fixes a local rotation, i.e. the joint's world rotation relative to its parent's, so a
    pinned joint's mode is re-smoothed with its pins placed in the parent's smoothed frame, and
    each of its ghost trajectories is re-drawn as a local track relative to that ghost's own
    parent trajectory (so every ghost passes through the pin too).
    """
    world, info = world.copy(), info.copy()
    for k in np.flatnonzero(pins.joint == 0):
        world[pin_rows[k], 0], info[pin_rows[k], 0] = pins.rotmats[k], PIN_INFORMATION * np.eye(3)
    tracks = kalman.smooth_tracks(world, info, plan.dt, q, plan.reset, num_samples=num_samples,
                                  rng=np.random.default_rng(seed))
    pinned = sorted(set(pins.joint.tolist()) - {0})
    for level in sorted({_depth(j) for j in pinned}):
        joints = [j for j in pinned if _depth(j) == level]
        measured, information, pin_values = [], [], []
        for j in joints:
            mine = np.flatnonzero(pins.joint == j)
            parent_mode = tracks.mode[:, SMPL_PARENTS[j]]
            parents = [parent_mode] + [parent_mode if SMPL_PARENTS[j] == 0 else tracks.samples[:, s, SMPL_PARENTS[j]]
                                       for s in range(num_samples)]
            for k, parent in enumerate(parents):  # track 0: the mode (world); 1..S: ghost s (local)
                m = world[:, j] if k == 0 else np.swapaxes(parent, -1, -2) @ world[:, j]
                m, i = m.copy(), info[:, j].copy()  # right perturbations: the information carries over
                m[pin_rows[mine]] = parent[pin_rows[mine]] @ pins.rotmats[mine] if k == 0 else pins.rotmats[mine]
                i[pin_rows[mine]] = PIN_INFORMATION * np.eye(3)
                measured.append(m)
                information.append(i)
            pin_values.append(parents)
        again = kalman.smooth_tracks(np.stack(measured, 1), np.stack(information, 1), plan.dt, q, plan.reset,
                                     num_samples=1 if num_samples else 0,
                                     rng=np.random.default_rng([seed, level]))
        for n, j in enumerate(joints):
            base = n * (1 + num_samples)
            tracks.mode[:, j], tracks.cov[:, j] = again.mode[:, base], again.cov[:, base]
            tracks.weights[:, j] = again.weights[:, base]
            for s in range(num_samples):
                tracks.samples[:, s, j] = pin_values[n][1 + s] @ again.samples[:, 0, base + 1 + s]
    return tracks


def _posterior_fields(tracks: kalman.SmoothedTracks) -> tuple[np.ndarray, np.ndarray]:
    """Stored posterior_F (root global, others root-relative, in the 1/SAMPLE_SHARPNESS convention) and uncertainty."""
    Fw = so3.gaussian_to_fisher(tracks.mode, tracks.cov)
    F = Fw.copy()
    F[:, 1:] = Fw[:, 1:] @ np.swapaxes(tracks.mode[:, :1], -1, -2)  # F_rel = F_w G_0ᵀ
    unc = np.empty(F.shape[:-2])
    with torch.no_grad():  # in chunks: the quadrature holds ~500 values per joint and frame
        for a in range(0, len(F), QUADRATURE_CHUNK):
            chunk = torch.from_numpy(F[a:a + QUADRATURE_CHUNK])
            unc[a:a + QUADRATURE_CHUNK] = fisher.expected_angle_deg(chunk).numpy()
    return F / SAMPLE_SHARPNESS, unc


def _ghosts(tracks: kalman.SmoothedTracks, out: np.ndarray, density_out: np.ndarray, rows: np.ndarray) -> None:
    """Local ghost rotations into out[rows] (n, S, 24, 3, 3): root at its mode, trajectories densest first.

    Frame chunks keep the temporaries small on long clips.
    """
    n, S = tracks.samples.shape[:2]
    density = np.empty((n, S))
    for a in range(0, n, GHOST_CHUNK):
        b = min(a + GHOST_CHUNK, n)
        # the ghosts were sampled from these (sharpened) matrices
        Fw = so3.gaussian_to_fisher(tracks.mode[a:b], tracks.cov[a:b])[:, None, 1:]
        world = tracks.samples[a:b, :, 1:].astype(np.float64)
        density[a:b] = ((Fw * world).sum((-1, -2)) - (Fw * tracks.mode[a:b, None, 1:]).sum((-1, -2))).sum(-1)
    order = np.argsort(-density.sum(0), kind="stable")
    density_out[rows] = density[:, order]
    for a in range(0, n, GHOST_CHUNK):
        b = min(a + GHOST_CHUNK, n)
        world = tracks.samples[a:b][:, order].astype(np.float64)
        world[:, :, 0] = tracks.mode[a:b, None, 0]
        out[rows[a:b]] = kinematics.local_from_world(world)


def _fill_rows(values: np.ndarray, rows: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Per-frame values of observed rows carried into bridged rows by linear interpolation."""
    out = values.copy()
    have = rows[observed]
    for k in rows[~observed]:
        after = have[np.searchsorted(have, k)]
        before = have[np.searchsorted(have, k) - 1]
        w = (k - before) / (after - before)
        out[k] = (1 - w) * values[before] + w * values[after]
    return out


def _turn(tracks: kalman.SmoothedTracks, joint: int, turn: np.ndarray) -> None:
    """Joint's mode and ghosts turned by the world rotations `turn` (n, 3, 3), in place: the ghosts stay
    the same alternatives about the new mode, the posterior keeps its shape (right-perturbation covariance)."""
    tracks.mode[:, joint] = turn @ tracks.mode[:, joint]
    if tracks.samples is not None:
        tracks.samples[:, :, joint] = turn[:, None] @ tracks.samples[:, :, joint]


def _plant_feet(tracks: kalman.SmoothedTracks, rest: np.ndarray, offsets: np.ndarray, path: np.ndarray,
                plan: gaps.Plan, pins: Pins, pin_rows: np.ndarray, noise: np.ndarray | None = None,
                ankle_deg: np.ndarray | None = None):
    """Floor, contacts and the foot-locked path; planted legs bent onto their anchors (in `tracks`, in
    place) and the path moved by what the legs could not take (legs.pelvis_share).

    A planted foot first turns so its sole lies flat on the floor (legs.flat_feet, by the eased lock
    weight times legs.flat_share of the per-frame ankle's uncertainty `ankle_deg` (n, 2): only ankles
    the estimate could not read), then its anchor is taken. A foot's ankle and foot joints, a leg's hip and
    knee change by a world rotation ΔW; the ghosts' joints take the same ΔW (so they stay the same
    alternatives around the new mode) and the posterior keeps its
    shape about the new mode (right-perturbation covariance unchanged). Frames where the animator
    pinned a joint of that leg are left alone.
    """
    points = kinematics.points35(tracks.mode, rest, offsets)
    floor, contacts, path = ground.feet_on_floor(points, path, plan.dt, plan.reset, noise)
    if floor is None:
        return floor, contacts, path, 0
    lock = ground.lock_weights(contacts)
    hold = lock * ground.eased(lock, plan.dt, plan.reset)  # eases in and out like the anchors (foot_shift)
    if ankle_deg is not None:  # an ankle the footage shows keeps its own pitch
        hold = hold * legs.flat_share(ankle_deg)
    for f, foot in enumerate(legs.FEET):
        hold[pin_rows[np.isin(pins.joint, foot)], f] = 0.0
    flat = legs.flat_feet(tracks.mode, offsets, floor[:3], hold)
    centres = ground.foot_centres(points)
    for f, foot in enumerate(legs.FEET):
        for j in foot:
            _turn(tracks, j, flat[:, f])
    points = kinematics.points35(tracks.mode, rest, offsets)
    # the foot turns about its centre (where the path's lock held it still), not its ankle: the leg
    # carries the ankle back by what the turn moved the centre
    moved = ground.foot_centres(points) - centres
    for f, idx in enumerate(ground.FOOT_POINTS.values()):
        points[:, list(idx)] -= moved[:, f, None]
    shift = ground.foot_shift(points + path[:, None], contacts, plan.dt, plan.reset, floor) - moved
    for f, leg in enumerate(legs.LEGS):
        pinned = pin_rows[np.isin(pins.joint, (0,) + leg)]
        shift[pinned, f] = 0.0
    bent = legs.reach(tracks.mode, rest, shift)
    # what the damped knees left of each planted foot's shift, the pelvis takes
    path = path + legs.pelvis_share(legs.shortfall(tracks.mode, bent, rest, shift), contacts, plan.dt, plan.reset)
    for leg in legs.LEGS:
        for j in leg[:2]:
            _turn(tracks, j, bent[:, j] @ np.swapaxes(tracks.mode[:, j], -1, -2))
    return floor, contacts, path, int((np.linalg.norm(shift, axis=-1) > 1e-6).sum())


def _smooth_hands(data: Mapping[str, Any], out: dict[str, Any], rows: np.ndarray, plan: gaps.Plan, q: float,
                  world_raw: np.ndarray, world_smoothed: np.ndarray, S: int, seed: int) -> None:
    """The finger fields smoothed like the body (temporal/fingers.py); raw_hand_* keep the estimator's."""
    raw = {name: np.asarray(data[f"raw_{name}"] if f"raw_{name}" in data else data[name])
           for name in fingers.HAND_RAW_FIELDS}
    out.update({f"raw_{k}": raw[k] for k in ("hand_rotmats", "hand_posterior_F", "hand_uncertainty_deg")})
    smoothed = fingers.smooth_fingers(raw, rows, plan.observed, plan.dt, plan.reset, q, world_raw, world_smoothed,
                                      S, seed)
    T = len(np.asarray(data["frame_index"]))
    for name, values in smoothed.items():
        full = np.zeros((T,) + values.shape[1:], np.float32)
        full[rows] = values
        out[name] = full


def smooth_results(data: Mapping[str, Any], *, strength: float = DEFAULT_SMOOTH, pins: Pins | None = None,
                   seed: int = DEFAULT_SEED, max_gap_s: float = gaps.MAX_GAP_S) -> dict[str, Any]:
    """A schema-v2 results dict with the smoothed pose, posteriors, ghosts, path, floor and contacts.

    `data` is a v1 or v2 results dict (a v2 file is re-smoothed from its raw values). `strength`
    scales the smoothing (1 = default, 2 = smoother, 0.5 = closer to the per-frame values).
    Deterministic for a fixed `seed`.
    """
    if not strength > 0:
        raise ValueError(f"smoothing strength must be above 0 (got {strength}); leave smoothing off instead.")
    started = time.perf_counter()
    pins = pins if pins is not None else Pins.none()
    raw = raw_frames(data)
    rel = world_frame.relative_cameras(data)
    camera_raw, raw = raw, (world_frame.to_reference(raw, rel) if rel is not None else raw)
    frame_index = np.asarray(data["frame_index"], dtype=np.int64)
    T = len(frame_index)
    S = np.shape(data["samples"])[1]
    plan = gaps.plan(frame_index, raw["valid"], float(np.asarray(data["fps"])), max_gap_s)
    rows, n = plan.rows, len(plan.rows)
    out: dict[str, Any] = {k: v for k, v in data.items() if not k.startswith("raw_")}
    out.update({f"raw_{k}": v for k, v in camera_raw.items()})
    if n == 0:
        out.update(schema_version=SCHEMA_VERSION, contacts=np.zeros((T, 2), np.float32),
                   transl_std=np.zeros((T, 3), np.float32))
        return out
    pin_rows = _pin_rows(pins, frame_index, rows)
    world, info = _measurements(raw, rows, plan.observed)
    choice = outliers.choose_readings(world, plan.observed, plan.reset)
    for h in range(1, len(outliers.HYPOTHESES)):
        sel = choice == h
        if sel.any():
            world[sel], info[sel] = outliers.reading(world[sel], info[sel], h)
    q = ROTATION_ACCEL_NOISE / strength**2
    tracks = _smooth_with_pins(world, info, plan, q, pins, pin_rows, S, seed)
    path, path_std = trajectory.smooth_path(raw["transl"][rows], plan.observed, plan.dt, plan.reset, strength)
    world_raw = kinematics.world_from_local(so3.project(np.where(
        plan.observed[:, None, None, None], raw["rotmats"][rows].astype(np.float64), np.eye(3))))
    offsets = kinematics.surface_offsets(world_raw, raw["joints3d"][rows].astype(np.float64), plan.observed)
    rest = np.asarray(data["rest_joints"], dtype=np.float64)
    noise = trajectory.measurement_noise(raw["transl"][rows].astype(np.float64), plan.observed)
    ankle_deg = _fill_rows(np.asarray(raw["uncertainty_deg"], np.float64), rows, plan.observed)[rows][:, [ankle for ankle, _ in legs.FEET]]
    floor, contacts, path, planted = _plant_feet(tracks, rest, offsets, path, plan, pins, pin_rows, noise, ankle_deg)
    local = kinematics.local_from_world(tracks.mode)
    local[pin_rows, pins.joint] = pins.rotmats  # exact, not merely within the pin's tiny variance
    posterior_F, unc = _posterior_fields(tracks)

    valid = np.zeros(T, bool)
    valid[rows] = True
    full = lambda shape: np.zeros((T, *shape), np.float32)  # noqa: E731
    rotmats, F_out, unc_out = full((24, 3, 3)), full((24, 3, 3)), full((24,))
    rotmats[rows], F_out[rows], unc_out[rows] = local, posterior_F, unc
    samples, density = full((S, 24, 3, 3)), full((S,))
    if S:
        _ghosts(tracks, samples, density, rows)
    points = kinematics.points35(kinematics.world_from_local(np.asarray(rotmats[rows], np.float64)), rest, offsets)
    focal = np.asarray(data["focal_px"], np.float64)[rows]
    principal = np.asarray(data["principal_pt"], np.float64)[rows]

    transl, transl_std, joints3d, joints2d, contact_out = full((3,)), full((3,)), full((35, 3)), full((35, 2)), full((2,))
    transl[rows], transl_std[rows], joints3d[rows], contact_out[rows] = path, path_std, points, contacts
    joints2d[rows] = kinematics.project(points, path, focal, principal)
    out.update(schema_version=SCHEMA_VERSION, valid=valid, rotmats=rotmats, posterior_F=F_out,
               uncertainty_deg=unc_out, samples=samples, sample_log_density=density, transl=transl,
               transl_std=transl_std, joints3d=joints3d, joints2d=joints2d, contacts=contact_out)
    if "hand_rotmats" in data:
        _smooth_hands(data, out, rows, plan, q, world_raw, tracks.mode, S, seed)
    cameras = world_frame.world_path(floor, path[0], rel, T)
    if rel is not None:
        world_frame.to_cameras(out, rel, rows)
    if cameras is not None:
        out["world_from_camera"] = cameras
    out["bbox"] = _fill_rows(np.asarray(data["bbox"]), rows, plan.observed)
    out["betas"] = _fill_rows(np.asarray(data["betas"]), rows, plan.observed)
    if floor is not None:
        out["floor"] = floor.astype(np.float32)
    else:
        out.pop("floor", None)
    meta = dict(data.get("meta", {}))
    meta["temporal"] = {
        "strength": float(strength), "seed": int(seed), "max_gap_s": float(max_gap_s),
        "bridged_frames": plan.bridged, "split_gaps": int(plan.reset.sum()),
        "repaired_frames": {name: int((choice == h).sum()) for h, name in enumerate(outliers.HYPOTHESES) if h},
        "downweighted_measurements": int(((tracks.weights < 0.5) & plan.observed[:, None]).sum()),
        "planted_leg_frames": planted, "pins": int(len(pins.joint)), "seconds": round(time.perf_counter() - started, 3)}
    out["meta"] = meta
    return out
