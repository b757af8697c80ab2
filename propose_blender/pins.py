"""Pins: bone rotations the animator fixed on a frame, and re-solved motion taken back into the keys.

A pin is (scene frame, SMPL joint, local rotation). Pins are stored on the rig as plain arrays, so
they are saved with the .blend and need nothing registered to be read back. "Re-solve around
edits" sends them to the backend's temporal smoother as near-hard observations; what comes back
replaces the keys only where it differs from them, in one contiguous range around each pin, so
the new motion meets the untouched keys without a jump and edits elsewhere in the clip survive.
"""
from __future__ import annotations

from typing import Any

import bpy
import numpy as np

from . import axes, fingers, ghosts, keyframes, motion, results, rig as rig_module, rotations, uncertainty, world
from .bridge import world_frame
from .names import PIN_FRAMES, PIN_JOINTS, PIN_ROTMATS, SOLVED_FRAMES, STILL_CAMERA  # noqa: F401 (callers read module.NAME too)


CHANGE_DEG = 0.05  # a frame is affected where some bone turns by more than this
CHANGE_M = 1e-4  # ... or the root moves by more than this


def get(rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames (P,), joints (P,), rotmats (P, 3, 3)) of the rig's pins, in frame order."""
    if PIN_FRAMES not in rig or not len(rig[PIN_FRAMES]):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3, 3))
    return (np.asarray(rig[PIN_FRAMES], np.int64), np.asarray(rig[PIN_JOINTS], np.int64),
            np.asarray(rig[PIN_ROTMATS], np.float64).reshape(-1, 3, 3))


def _put(rig: bpy.types.Object, frames: np.ndarray, joints: np.ndarray, rotmats: np.ndarray) -> None:
    order = np.lexsort((joints, frames))
    rig[PIN_FRAMES] = [int(v) for v in frames[order]]  # python ints: an empty list still stores
    rig[PIN_JOINTS] = [int(v) for v in joints[order]]
    rig[PIN_ROTMATS] = [float(v) for v in rotmats[order].ravel()]


def current_rotations(rig: bpy.types.Object, bones: list[str]) -> np.ndarray:
    """SMPL local rotations (n, 3, 3) of `bones` as posed right now (keyed or not)."""
    names = rig_module.joint_names()
    quats = np.tile([1.0, 0.0, 0.0, 0.0], (24, 1))
    for name in bones:
        quats[names.index(name)] = rig.pose.bones[name].rotation_quaternion
    local = axes.smpl_rotations(rotations.matrices(quats), rig_module.rest_orientations(rig), motion.world_of(rig)[0])
    return local[[names.index(b) for b in bones]]


def pin(rig: bpy.types.Object, frame: int, bones: list[str]) -> int:
    """Pin `bones` on `frame` to their current pose (replacing earlier pins there) and key that pose."""
    names = rig_module.joint_names()
    body = [b for b in bones if b in names]
    if not body:
        raise ValueError("Pins hold the body's bones only (the re-solve does not move the fingers); select the "
                         "body bones to pin (in Pose Mode), after posing them." if bones else
                         "Select the bones to pin first (in Pose Mode), after posing them.")
    bones = body
    if frame not in set(review_frames(rig).tolist()):
        raise ValueError(f"Frame {frame} has no estimate (no person was found there); pin a frame that has one.")
    local = current_rotations(rig, bones)
    for name in bones:  # the pose becomes a key, as if the animator had pressed I
        curves = motion.rotation_curves(rig, name)
        q = rotations.aligned_to(np.array(rig.pose.bones[name].rotation_quaternion),
                                 np.array([c.evaluate(frame) for c in curves]))
        for i, fcurve in enumerate(curves):
            keyframes.set_keys(fcurve, [frame], [q[i]])
    frames, joints, rotmats = get(rig)
    new_joints = np.array([names.index(b) for b in bones])
    keep = ~((frames == frame) & np.isin(joints, new_joints))
    _put(rig, np.concatenate([frames[keep], np.full(len(bones), frame)]),
         np.concatenate([joints[keep], new_joints]), np.concatenate([rotmats[keep], local]))
    return len(bones)


def review_frames(rig: bpy.types.Object) -> np.ndarray:
    """Scene frames that have an estimate (keys on the root's rotation)."""
    curve = motion.rotation_curves(rig, rig_module.joint_names()[0])[0]
    return np.rint(keyframes.key_values(curve)[0]).astype(np.int64)


def remove(rig: bpy.types.Object, index: int | None = None) -> None:
    """Remove pin `index` (in `get` order), or every pin. The keys stay as they are."""
    frames, joints, rotmats = get(rig)
    keep = np.ones(len(frames), bool)
    if index is None:
        keep[:] = False
    elif 0 <= index < len(frames):
        keep[index] = False
    _put(rig, frames[keep], joints[keep], rotmats[keep])


def message(rig: bpy.types.Object, source: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The pins as the backend's `resolve` request takes them (source frame numbers, docs/protocol.md).

    `source`: the results the rig came from. The re-solve takes a root pin in the first frame's
    camera, where it smooths a clip whose camera moves. A rig placed that way is already in that
    frame; a rig placed as a still camera (the switch) shows each frame in its own camera, so
    its root pins are carried from their frame's camera into the first one.
    """
    frames, joints, rotmats = get(rig)
    rotmats = rotmats.copy()
    if source is not None and rig.get(STILL_CAMERA, 0):
        path = world.camera_path(source)
        if path is not None:
            rows = {int(f): k for k, f in enumerate(np.asarray(source["frame_index"], np.int64))}
            rel = world_frame().relative_to_first(path)
            for k in np.flatnonzero(joints == 0):
                row = rows.get(int(frames[k]) - results.FIRST_SCENE_FRAME)
                if row is not None:
                    rotmats[k] = rel[row, :3, :3] @ rotmats[k]
    return [{"frame_index": int(f) - results.FIRST_SCENE_FRAME, "joint": int(j), "rotmat": r.tolist()}
            for f, j, r in zip(frames, joints, rotmats)]


def affected_frames(frames: np.ndarray, changed: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Mask over `frames`: each seed frame and the run of changed frames on either side of it."""
    mask = np.zeros(len(frames), bool)
    for seed in np.unique(seeds):
        k = int(np.searchsorted(frames, seed))
        if k >= len(frames) or frames[k] != seed:
            continue
        lo, hi = k, k
        while lo > 0 and changed[lo - 1]:
            lo -= 1
        while hi + 1 < len(frames) and changed[hi + 1]:
            hi += 1
        mask[lo:hi + 1] = True
    return mask


def _location_paths(rig: bpy.types.Object) -> list[tuple[str, int]]:
    """(data path, index) of the keyed locations: the floor `root` bone's, then the pelvis' (its height)."""
    bones = [rig_module.ROOT_BONE, rig_module.joint_names()[0]]
    return [(f'pose.bones["{bone}"].location', i) for bone in bones for i in range(3)]


def _current_pose(rig: bpy.types.Object, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keyed quaternions (n, 24, 4) and locations (n, 6: root bone, then pelvis) on `frames`."""
    names = rig_module.joint_names()
    quats = np.stack([[[c.evaluate(f) for c in motion.rotation_curves(rig, n)] for n in names] for f in frames]) \
        if len(frames) else np.zeros((0, 24, 4))
    bag = keyframes.channelbag(rig)
    loc_curves = [bag.fcurves.find(path, index=i) for path, i in _location_paths(rig)]
    locs = np.array([[c.evaluate(f) if c is not None else 0.0 for c in loc_curves] for f in frames]).reshape(-1, 6)
    return quats, locs


def apply_resolved(rig: bpy.types.Object, data: dict[str, Any]) -> np.ndarray:
    """Take a re-solved results dict into the rig around its pins; returns the scene frames replaced.

    Rotation and root keys, uncertainty and ghost samples change on those frames only; frames
    without an estimate before stay without keys.
    """
    data = world.in_reference(data, bool(rig.get(STILL_CAMERA, 0)))  # the rig's frame (see importer)
    pin_frames = get(rig)[0]
    seeds = np.concatenate([pin_frames, np.asarray(rig.get(SOLVED_FRAMES, []), np.int64)])
    keyed = review_frames(rig)
    all_frames = results.scene_frames(data)
    valid = np.asarray(data["valid"], bool)
    rows = np.flatnonzero(valid & np.isin(all_frames, keyed))
    frames = all_frames[rows]
    new_quats = rotations.continuous(motion.bone_quaternions(rig, data["rotmats"][rows]), axis=0)
    transl = np.asarray(data["transl"][rows], np.float64)
    new_locs = np.concatenate([motion.floor_locations(rig, transl), motion.root_locations(rig, transl)], axis=1)
    old_quats, old_locs = _current_pose(rig, frames)
    turn = rotations.angle_deg(old_quats, new_quats)
    changed = (turn.max(axis=1) > CHANGE_DEG) | (np.abs(old_locs - new_locs).max(axis=1) > CHANGE_M)
    mask = affected_frames(frames, changed, seeds)
    rig[SOLVED_FRAMES] = [int(f) for f in pin_frames]
    if not mask.any():
        return np.zeros(0, np.int64)
    take, frames = rows[mask], frames[mask]
    new_quats = rotations.aligned_to(new_quats[mask], old_quats[mask])  # stay in the curves' hemisphere
    names = rig_module.joint_names()
    for j, name in enumerate(names):
        for i, fcurve in enumerate(motion.rotation_curves(rig, name)):
            keyframes.set_keys(fcurve, frames, new_quats[:, j, i])
    bag = keyframes.channelbag(rig)
    for k, (path, i) in enumerate(_location_paths(rig)):
        fcurve = bag.fcurves.find(path, index=i)
        if fcurve is not None:
            keyframes.set_keys(fcurve, frames, new_locs[mask][:, k])
    for bone, locations in motion.ik_target_locations(rig, data["rotmats"][take], data["transl"][take]).items():
        for i in range(3):
            fcurve = bag.fcurves.find(f'pose.bones["{bone}"].location', index=i)
            if fcurve is not None:
                keyframes.set_keys(fcurve, frames, locations[:, i])
    degrees = np.asarray(data["uncertainty_deg"], np.float64)[take]
    for j, name in enumerate(names):
        fcurve = bag.fcurves.find(f'["{uncertainty.property_name(name)}"]')
        if fcurve is not None:
            keyframes.set_keys(fcurve, frames, degrees[:, j])
    _replace_samples(rig, frames, data, take)
    return frames


def _replace_samples(rig: bpy.types.Object, frames: np.ndarray, data: dict[str, Any], take: np.ndarray) -> None:
    """The re-drawn ghosts (conditioned on the pins) on `frames`, where the rig keeps samples."""
    count = ghosts.sample_count(rig)
    if not count or np.shape(data["samples"])[1] != count:
        return
    stored = np.asarray(rig[ghosts.SAMPLE_FRAMES])
    where = {int(f): k for k, f in enumerate(stored)}
    hit = np.array([int(f) in where for f in frames])
    if not hit.any():
        return
    slots = np.array([where[int(f)] for f in frames[hit]])
    joints = ghosts.sample_joints(rig)  # 54 with fingers: the re-solve keeps each frame's finger samples
    quats = np.array(rig[ghosts.SAMPLES], np.float32).reshape(len(stored), count, joints, 4)
    density = np.array(rig[ghosts.SAMPLE_DENSITY], np.float32).reshape(len(stored), count)
    quats[slots] = motion.bone_quaternions(rig, fingers.samples(data)[take[hit]][:, :, :joints])
    density[slots] = np.asarray(data["sample_log_density"])[take[hit]]
    ghosts.store_samples(rig, stored, quats, density, ghosts.are_motions(rig))
