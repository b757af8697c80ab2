"""The review loop's buttons: jump to what is uncertain, take part of a ghost.

Their settings live on the scene (`scene.propose_review`, properties.py). Each operator that
changes keys does all of it in one `execute`, registered with UNDO, so Ctrl Z takes it back in one step.
"""

import bpy
from bpy.props import IntProperty

from .. import ghosts, review
from ..rig import active_rig
from .ghosts import chosen_sample


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
        found = review.queue_for(context, rig)
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
        count = review.refresh_markers(context)
        self.report({"INFO"}, f"{count} uncertain spans marked")
        return {"FINISHED"}


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
        index = chosen_sample(self, context)
        if index is None:
            return {"CANCELLED"}
        settings, frame = context.scene.propose_review, context.scene.frame_current
        first, last, ease = (settings.ghost_first, settings.ghost_last, settings.ghost_ease) \
            if settings.ghost_use_range else (frame, frame, 0)
        bones = review.selected_bones(rig)
        try:
            changed = ghosts.apply_to_bones(rig, index, bones, first, last, ease)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        context.scene.frame_set(frame)  # re-evaluate the changed keys
        where = f"frame {changed[0]}" if len(changed) == 1 else f"frames {changed[0]}–{changed[-1]}"
        self.report({"INFO"}, f"{', '.join(bones)} and below: ghost {index + 1} on {where}.")
        return {"FINISHED"}


CLASSES = (PROPOSE_OT_review_next, PROPOSE_OT_review_previous, PROPOSE_OT_review_jump,
           PROPOSE_OT_review_refresh, PROPOSE_OT_apply_ghost_bones)

