"""The review loop's settings and buttons: jump to what is uncertain, take part of a ghost, colours on/off.

Settings live on the scene (`scene.propose_review`, saved with the .blend). Each operator that
changes keys does all of it in one `execute`, registered with UNDO, so Ctrl Z takes it back in one step.
"""

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, PointerProperty

from . import compat, ghosts, review, rig as rig_module, uncertainty
from .rig import active_rig


def _queue_for(context: bpy.types.Context, rig: bpy.types.Object) -> review.Queue:
    settings = context.scene.propose_review
    return review.queue(rig, settings.threshold, review.considered_joints(rig, settings.selected_only))


def refresh_markers(context: bpy.types.Context) -> int:
    """Markers and span strip for the active rig under the current settings (none when markers are off)."""
    rig = active_rig(context)
    settings = context.scene.propose_review
    if rig is None or not settings.show_markers:
        return review.update_markers(context.scene, None, None)
    return review.update_markers(context.scene, rig, _queue_for(context, rig))


def _settings_changed(_self, context: bpy.types.Context) -> None:
    refresh_markers(context)


class ProposeReviewSettings(bpy.types.PropertyGroup):
    """Saved with the .blend: how the review queue ranks, and how ghosts are applied in part."""

    threshold: FloatProperty(
        name="Threshold", default=20.0, min=0.0, soft_max=90.0, precision=1,
        description="A frame is uncertain where some bone's expected error reaches this many degrees",
        update=_settings_changed)
    selected_only: BoolProperty(
        name="Selected bones only", default=False,
        description="Rank only the bones selected in Pose Mode (e.g. one arm); otherwise every bone",
        update=_settings_changed)
    show_markers: BoolProperty(
        name="Timeline markers", default=True,
        description=f"Mark the {review.MAX_MARKERS} most uncertain spans in the timeline (markers named "
                    f"'{review.MARKER_PREFIX}bone degrees')", update=_settings_changed)
    show_colors: BoolProperty(
        name="Uncertainty colours", description="Colour bones by uncertainty; off gives the bones their own "
                                                "colours back, exactly as they were",
        get=lambda self: uncertainty.enabled(self.id_data),
        set=lambda self, on: uncertainty.set_enabled(self.id_data, on))
    ghost_use_range: BoolProperty(
        name="Frame range", default=False,
        description="Apply the ghost over a frame range (eased in and out) instead of the current frame only")
    ghost_first: IntProperty(name="First", default=1, description="First frame that takes the ghost")
    ghost_last: IntProperty(name="Last", default=1, description="Last frame that takes the ghost")
    ghost_ease: IntProperty(name="Ease", default=4, min=0, soft_max=30,
                            description="Frames at each end of the range over which the swap fades in and out")
    resolve_strength: FloatProperty(name="Smoothing", default=1.0, min=0.05, soft_max=4.0,
                                    description="Temporal smoothing strength of the re-solve (1 = default, "
                                                "2 = smoother, 0.5 = closer to each frame's estimate)")
    resolve_seed: IntProperty(name="Seed", default=0, min=0,
                              description="Random seed of the re-drawn ghosts (same pins and seed, same result)")


class _ReviewOperator:
    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_rig(context) is not None


class _Jump(_ReviewOperator):
    bl_options = {"REGISTER", "UNDO"}

    def pick(self, found: review.Queue, frame: int) -> int | None:
        raise NotImplementedError

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        found = _queue_for(context, rig)
        if not len(found):
            threshold = context.scene.propose_review.threshold
            self.report({"INFO"}, f"No frame reaches {threshold:.0f}°; lower the threshold to see more.")
            return {"CANCELLED"}
        span = self.pick(found, context.scene.frame_current)
        if span is None:
            self.report({"INFO"}, "No more uncertain spans in this direction.")
            return {"CANCELLED"}
        frame, bone = review.jump(context, rig, found, span)
        place = int((found.rank == span).nonzero()[0][0]) + 1
        self.report({"INFO"}, f"Frame {frame}: {bone} {found.peak_deg[span]:.0f}° "
                              f"(#{place} of {len(found)} uncertain spans)")
        return {"FINISHED"}


class PROPOSE_OT_review_next(_Jump, bpy.types.Operator):
    """Go to the next uncertain span's worst frame and select its most uncertain bone"""

    bl_idname = "propose.review_next"
    bl_label = "Next Uncertain"

    def pick(self, found: review.Queue, frame: int) -> int | None:
        return found.next_after(frame)


class PROPOSE_OT_review_previous(_Jump, bpy.types.Operator):
    """Go to the previous uncertain span's worst frame and select its most uncertain bone"""

    bl_idname = "propose.review_previous"
    bl_label = "Previous Uncertain"

    def pick(self, found: review.Queue, frame: int) -> int | None:
        return found.previous_before(frame)


class PROPOSE_OT_review_jump(_Jump, bpy.types.Operator):
    """Go to this uncertain span's worst frame and select its most uncertain bone"""

    bl_idname = "propose.review_jump"
    bl_label = "Go to Uncertain Span"

    rank: IntProperty(name="Rank", default=0, min=0, description="0 = the most uncertain span")

    def pick(self, found: review.Queue, frame: int) -> int | None:
        return int(found.rank[self.rank]) if self.rank < len(found) else None


class PROPOSE_OT_review_refresh(_ReviewOperator, bpy.types.Operator):
    """Re-read the uncertainty curves and redraw the timeline markers"""

    bl_idname = "propose.review_refresh"
    bl_label = "Refresh Review Queue"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        review.build(active_rig(context))
        count = refresh_markers(context)
        self.report({"INFO"}, f"{count} uncertain spans marked")
        return {"FINISHED"}


def selected_bones(rig: bpy.types.Object) -> list[str]:
    names = set(rig_module.joint_names())
    return [b.name for b in rig.pose.bones if b.name in names and compat.pose_bone_selected(b)]


class PROPOSE_OT_apply_ghost_bones(bpy.types.Operator):
    """Give the selected bones and everything below them the ghost's pose, on this frame or over the range"""

    bl_idname = "propose.apply_ghost_bones"
    bl_label = "Apply Ghost to Selected Bones"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Sample", default=-1, min=-1,
                       description="Sample to apply (0 = densest); -1: the selected ghost")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        rig = active_rig(context)
        return rig is not None and ghosts.sample_count(rig) > 0

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        index = self.index if self.index >= 0 else ghosts.ghost_index(context.active_object)
        if index is None:
            self.report({"ERROR"}, "Select a ghost in the viewport or in the panel list first.")
            return {"CANCELLED"}
        settings, frame = context.scene.propose_review, context.scene.frame_current
        first, last, ease = (settings.ghost_first, settings.ghost_last, settings.ghost_ease) \
            if settings.ghost_use_range else (frame, frame, 0)
        bones = selected_bones(rig)
        try:
            changed = ghosts.apply_to_bones(rig, index, bones, first, last, ease)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        context.scene.frame_set(frame)  # re-evaluate the changed keys
        where = f"frame {changed[0]}" if len(changed) == 1 else f"frames {changed[0]}–{changed[-1]}"
        self.report({"INFO"}, f"{', '.join(bones)} and below: ghost {index + 1} on {where}.")
        return {"FINISHED"}


CLASSES = (ProposeReviewSettings, PROPOSE_OT_review_next, PROPOSE_OT_review_previous, PROPOSE_OT_review_jump,
           PROPOSE_OT_review_refresh, PROPOSE_OT_apply_ghost_bones)


def attach() -> None:
    bpy.types.Scene.propose_review = PointerProperty(type=ProposeReviewSettings)


def detach() -> None:
    del bpy.types.Scene.propose_review
