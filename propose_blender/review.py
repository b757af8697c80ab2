"""The review queue: where on the clip, and on which bone, the estimate is least sure.

Reading 24 uncertainty curves is the only per-clip cost; it happens once, at import (or on the
first use after opening a .blend), and the (frames, 24) table stays in memory keyed by the rig.
Everything the panel and the jump buttons need afterwards (spans above the threshold, their
ranking, the next one after a frame) is a few vectorised numpy passes over that table, so a
10,000-frame clip answers in well under a millisecond and nothing runs per redraw but a cache look-up.

An uncertain *span* is a run of consecutive frames (with a person) on which some considered bone's
uncertainty reaches the threshold; it is represented by its peak: the frame and bone where the
uncertainty is largest. The body and each hand have spans of their own (`PARTS`): a hand the footage
does not show stays uncertain for long stretches, and ranked together with the body its spans would
swallow the body's (each span one peak), so neither the list nor Next would ever reach an arm. Spans show as timeline markers at their peaks and as hold bars of the
rig's `propose_review` channel in the Dope Sheet.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from . import compat, keyframes, rig as rig_module, uncertainty
from .names import STAMP, STRIP_PROPERTY  # noqa: F401 (callers read module.NAME too)

MARKER_PREFIX = "? "  # timeline markers this module made (and may delete) start with this
MAX_MARKERS = 250  # the most uncertain spans get markers; the panel list and the jumps see every span


@dataclass(frozen=True)
class Queue:
    """Uncertain spans of one rig for one threshold and bone set, in frame order."""

    start: np.ndarray  # (K,) first scene frame of each span
    end: np.ndarray  # (K,) last scene frame
    peak_frame: np.ndarray  # (K,) scene frame of the largest uncertainty in the span
    peak_joint: np.ndarray  # (K,) SMPL joint index of that bone
    peak_deg: np.ndarray  # (K,) its uncertainty in degrees
    rank: np.ndarray  # (K,) span indices, most uncertain first

    def __len__(self) -> int:
        return len(self.start)

    def next_after(self, frame: float) -> int | None:
        """Index of the first span whose peak lies after `frame`."""
        k = int(np.searchsorted(self.peak_frame, frame, side="right"))
        return k if k < len(self) else None

    def previous_before(self, frame: float) -> int | None:
        """Index of the last span whose peak lies before `frame`."""
        k = int(np.searchsorted(self.peak_frame, frame, side="left")) - 1
        return k if k >= 0 else None

    def span_at(self, frame: float) -> int | None:
        """The span holding `frame` (the surest-to-check one, its peak highest, where the body's and a
        hand's spans overlap)."""
        inside = np.flatnonzero((self.start <= frame) & (frame <= self.end))
        return int(inside[np.argmax(self.peak_deg[inside])]) if len(inside) else None


_tables: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
_queues: dict[tuple, Queue] = {}


def _key(rig: bpy.types.Object) -> tuple[int, int]:
    return rig.session_uid, int(rig.get(STAMP, 0))


def read_table(rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """(frames (N,), degrees (N, 24 or 54)) of the frames with a person, straight from the uncertainty curves."""
    bag = keyframes.find_channelbag(rig)
    names = rig_module.all_joint_names(rig)
    curves = [bag.fcurves.find(f'["{uncertainty.property_name(b)}"]') if bag else None for b in names]
    if any(c is None for c in curves[24:]):  # a rig from before fingers: the body's 24 bones
        names, curves = names[:24], curves[:24]
    if any(c is None for c in curves):
        return np.zeros(0, np.int64), np.zeros((0, len(names)), np.float32)
    columns, frames = [], None
    for curve in curves:
        co = np.empty(2 * len(curve.keyframe_points), np.float32)
        curve.keyframe_points.foreach_get("co", co)
        if frames is None:
            frames = co[0::2]
        elif len(co) // 2 != len(frames) or not np.array_equal(co[0::2], frames):  # edited by hand: resample
            co = np.stack([frames, [curve.evaluate(f) for f in frames]], 1).ravel()
        columns.append(co[1::2])
    return np.rint(frames).astype(np.int64), np.stack(columns, axis=1)


def build(rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """Read the rig's uncertainty once and keep it for every later query (call after writing curves)."""
    rig[STAMP] = int(rig.get(STAMP, 0)) + 1
    for key in [k for k in _tables if k[0] == rig.session_uid]:
        del _tables[key]
    table = _tables[_key(rig)] = read_table(rig)
    return table


def table(rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    return _tables.get(_key(rig)) or build(rig)


def spans(frames: np.ndarray, degrees: np.ndarray, threshold: float, joints: np.ndarray | None = None) -> Queue:
    """The uncertain spans of a (frames, degrees) table, considering only `joints` (default: all)."""
    considered = degrees if joints is None else degrees[:, joints]
    index = np.arange(degrees.shape[1]) if joints is None else np.asarray(joints)
    if considered.shape[1] == 0 or not len(frames):
        empty = np.zeros(0, np.int64)
        return Queue(empty, empty, empty, empty, np.zeros(0, np.float32), empty)
    worst_col = np.argmax(considered, axis=1)
    worst = considered[np.arange(len(frames)), worst_col]
    above = worst >= threshold
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    first, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # row runs [first, stop)
    if not len(first):
        empty = np.zeros(0, np.int64)
        return Queue(empty, empty, empty, empty, np.zeros(0, np.float32), empty)
    # the peak row of each run: sort its rows by falling uncertainty (stable, so ties keep the earliest)
    rows = np.flatnonzero(above)
    run_id = np.searchsorted(first, rows, side="right") - 1
    order = np.lexsort((-worst[rows], run_id))
    peak_rows = rows[order][np.unique(run_id[order], return_index=True)[1]]
    peak_deg = worst[peak_rows].astype(np.float32)
    return Queue(start=frames[first], end=frames[stop - 1], peak_frame=frames[peak_rows],
                 peak_joint=index[worst_col[peak_rows]], peak_deg=peak_deg,
                 rank=np.argsort(-peak_deg, kind="stable"))


def parts(columns: int) -> list[np.ndarray]:
    """The table's column groups ranked apart: the body's joints, then each hand's fingers."""
    body, fingers = len(rig_module.joint_names()), rig_module.skeleton().NUM_FINGER_JOINTS
    hands = [np.arange(start, start + fingers) for start in range(body, columns - fingers + 1, fingers)]
    return [np.arange(min(body, columns)), *hands]


def merged(queues: list[Queue]) -> Queue:
    """One queue of several parts' spans, in the order of their peaks (Next and Previous walk it)."""
    if len(queues) == 1:
        return queues[0]
    start, end, peak_frame, peak_joint, peak_deg = (np.concatenate([getattr(q, f) for q in queues]) for f in
                                                     ("start", "end", "peak_frame", "peak_joint", "peak_deg"))
    order = np.lexsort((start, peak_frame))
    peak_deg = peak_deg[order]
    return Queue(start[order], end[order], peak_frame[order], peak_joint[order], peak_deg,
                 np.argsort(-peak_deg, kind="stable"))


def queue(rig: bpy.types.Object, threshold: float, joints: tuple[int, ...] | None = None) -> Queue:
    """The rig's spans for `threshold` degrees, the body's and each hand's apart (cached until the
    threshold, bones or curves change)."""
    key = (*_key(rig), round(float(threshold), 4), joints)
    found = _queues.get(key)
    if found is None:
        if len(_queues) > 64:
            _queues.clear()
        frames, degrees = table(rig)
        groups = [g if joints is None else np.intersect1d(g, joints) for g in parts(degrees.shape[1])]
        found = _queues[key] = merged([spans(frames, degrees, threshold, g) for g in groups if len(g)]
                                      or [spans(frames, degrees, threshold, np.zeros(0, int))])
    return found


def considered_joints(rig: bpy.types.Object, selected_only: bool) -> tuple[int, ...] | None:
    """None (every bone) or the SMPL indices of the rig's selected bones."""
    if not selected_only:
        return None
    names = rig_module.all_joint_names(rig)
    return tuple(j for j, n in enumerate(names) if n in rig.pose.bones and compat.pose_bone_selected(rig.pose.bones[n]))


def select_bone(context: bpy.types.Context, rig: bpy.types.Object, bone: str, keep_others: bool = False) -> None:
    """Make `bone` the rig's only selected and active bone, with the rig active in Pose Mode."""
    if context.view_layer.objects.active is not rig:
        if context.object is not None and context.object.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        for obj in context.view_layer.objects.selected:
            obj.select_set(False)
        rig.select_set(True)
        context.view_layer.objects.active = rig
    if rig.mode != "POSE":
        try:
            bpy.ops.object.mode_set(mode="POSE")
        except RuntimeError:  # a hidden rig cannot enter Pose Mode; the bone is selected all the same
            pass
    if not keep_others:
        for pose_bone in rig.pose.bones:
            compat.set_pose_bone_selected(pose_bone, False)
    compat.set_pose_bone_selected(rig.pose.bones[bone], True)
    rig.data.bones.active = rig.data.bones[bone]


def jump(context: bpy.types.Context, rig: bpy.types.Object, found: Queue, span: int) -> tuple[int, str]:
    """Go to span `span`'s peak: set the frame and select its bone. Returns (frame, bone)."""
    frame, bone = int(found.peak_frame[span]), rig_module.all_joint_names(rig)[int(found.peak_joint[span])]
    context.scene.frame_set(frame)
    select_bone(context, rig, bone)
    return frame, bone


def marker_name(bone: str, degrees: float) -> str:
    return f"{MARKER_PREFIX}{bone} {degrees:.0f}°"


def update_markers(scene: bpy.types.Scene, rig: bpy.types.Object | None, found: Queue | None) -> int:
    """Replace this module's timeline markers with the peaks of the `MAX_MARKERS` most uncertain spans,
    and key the rig's span strip. Markers the user made are never touched."""
    markers = scene.timeline_markers
    for marker in [m for m in markers if m.name.startswith(MARKER_PREFIX)]:
        markers.remove(marker)
    if rig is None or found is None:
        return 0
    names = rig_module.all_joint_names(rig)
    for k in found.rank[:MAX_MARKERS]:
        markers.new(marker_name(names[int(found.peak_joint[k])], float(found.peak_deg[k])),
                    frame=int(found.peak_frame[k]))
    write_strip(rig, found)
    return min(len(found), MAX_MARKERS)


def write_strip(rig: bpy.types.Object, found: Queue) -> None:
    """A 0/1 constant curve: keys (start, 1), (end, 1), (end + 1, 0) per span, so the Dope Sheet draws
    each span as a hold bar and the Graph Editor as a step."""
    start, end = _union(found.start, found.end)  # the body's and a hand's spans may overlap
    frames = np.stack([start, end, end + 1], axis=1).ravel()
    values = np.tile(np.array([1.0, 1.0, 0.0], np.float32), len(start))
    if len(start):
        keep = np.concatenate([[True], np.diff(frames) > 0])  # one-frame spans: start == end
        frames, values = frames[keep], values[keep]
    if STRIP_PROPERTY not in rig:
        rig[STRIP_PROPERTY] = 0.0
        rig.id_properties_ui(STRIP_PROPERTY).update(
            min=0.0, max=1.0, description="1 on frames the review queue finds uncertain (see the threshold)")
    keyframes.write_curve(keyframes.channelbag(rig), f'["{STRIP_PROPERTY}"]', 0, frames, values,
                          group=uncertainty.GROUP, interpolation="CONSTANT")


def _union(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame ranges [start, end] joined where they overlap or touch, in order."""
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end) if len(end) else end
    new = np.concatenate([[True], start[1:] > reach[:-1] + 1]) if len(start) else np.zeros(0, bool)
    last = np.concatenate([np.flatnonzero(new)[1:] - 1, [len(start) - 1]]) if len(start) else np.zeros(0, int)
    return start[new], reach[last]


# The scene's review settings applied to the active rig (the panel, the jumps and the re-solve share them).

def queue_for(context: bpy.types.Context, rig: bpy.types.Object) -> Queue:
    """The rig's queue under the scene's review settings (threshold, selected bones only)."""
    settings = context.scene.propose_review
    return queue(rig, settings.threshold, considered_joints(rig, settings.selected_only))


def refresh_markers(context: bpy.types.Context) -> int:
    """Markers and span strip for the active rig under the current settings (none when markers are off)."""
    rig = rig_module.active_rig(context)
    settings = context.scene.propose_review
    if rig is None or not settings.show_markers:
        return update_markers(context.scene, None, None)
    return update_markers(context.scene, rig, queue_for(context, rig))


def selected_bones(rig: bpy.types.Object) -> list[str]:
    """The body's and fingers' bones selected in Pose Mode (not root or the IK targets)."""
    names = set(rig_module.all_joint_names(rig))
    return [b.name for b in rig.pose.bones if b.name in names and compat.pose_bone_selected(b)]
