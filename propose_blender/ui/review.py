"""Side-panel sections of the review loop: colour switch, review queue, part of a ghost.

Drawing only reads what is already computed (the cached queue), so it costs the same on a
10,000-frame clip as on a photo.
"""
from __future__ import annotations

import bpy

from .. import ghosts, pins, review, rig as rig_module
from ..rig import active_rig
from .panel import _ProposePanel

LISTED_SPANS = 8


class PROPOSE_PT_uncertainty_display(_ProposePanel, bpy.types.Panel):
    bl_label = "Display"
    bl_parent_id = "PROPOSE_PT_uncertainty"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        self.layout.prop(context.scene.propose_review, "show_colors")


class PROPOSE_PT_review(_ProposePanel, bpy.types.Panel):
    bl_label = "Review queue"
    bl_parent_id = "PROPOSE_PT_estimate"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        rig = active_rig(context)
        if rig is None:
            layout.label(text="Select a ProPose body to review it.")
            return
        settings = context.scene.propose_review
        row = layout.row(align=True)
        row.prop(settings, "threshold")
        row.prop(settings, "selected_only", text="", icon="RESTRICT_SELECT_OFF")
        row.prop(settings, "show_markers", text="", icon="MARKER_HLT")
        row = layout.row(align=True)
        row.operator("propose.review_previous", text="Previous", icon="TRIA_LEFT")
        row.operator("propose.review_next", text="Next", icon="TRIA_RIGHT")
        found = review.queue_for(context, rig)
        if not len(found):
            layout.label(text=f"Nothing reaches {settings.threshold:.0f}°.", icon="CHECKMARK")
            return
        names = rig_module.all_joint_names(rig)  # a span's worst bone may be a finger
        here = found.span_at(context.scene.frame_current)
        layout.label(text=f"{len(found)} uncertain spans, most uncertain first:")
        column = layout.column(align=True)
        for place, span in enumerate(found.rank[:LISTED_SPANS]):
            span = int(span)
            text = (f"{place + 1}. frame {int(found.peak_frame[span])}  {names[int(found.peak_joint[span])]}  "
                    f"{found.peak_deg[span]:.0f}°")
            column.operator("propose.review_jump", text=text, depress=span == here,
                            icon="LAYER_ACTIVE" if span == here else "LAYER_USED").rank = place
        if here is not None:
            layout.label(text=f"This span: frames {int(found.start[here])}–{int(found.end[here])}", icon="TIME")
        layout.operator("propose.review_refresh", icon="FILE_REFRESH")


class PROPOSE_PT_ghost_parts(_ProposePanel, bpy.types.Panel):
    bl_label = "Part of a ghost"
    bl_parent_id = "PROPOSE_PT_ghosts"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        rig = active_rig(context)
        return rig is not None and ghosts.sample_count(rig) > 0

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        rig = active_rig(context)
        settings = context.scene.propose_review
        layout.prop(settings, "ghost_use_range")
        if settings.ghost_use_range:
            row = layout.row(align=True)
            row.prop(settings, "ghost_first")
            row.prop(settings, "ghost_last")
            layout.prop(settings, "ghost_ease")
        bones = review.selected_bones(rig)
        chosen = ", ".join(bones[:3]) + (" …" if len(bones) > 3 else "") if bones else "none (select in Pose Mode)"
        layout.label(text=f"Bones: {chosen}", icon="BONE_DATA")
        selected = ghosts.ghost_index(context.active_object)
        if selected is None:
            layout.label(text="Pick a ghost (viewport or list above).", icon="INFO")
            return
        where = (f"frames {settings.ghost_first}–{settings.ghost_last}" if settings.ghost_use_range
                 else f"frame {context.scene.frame_current}")
        layout.operator("propose.apply_ghost_bones", text=f"Apply ghost {selected + 1} to bones, {where}",
                        icon="BONE_DATA").index = -1


class PROPOSE_PT_resolve(_ProposePanel, bpy.types.Panel):
    bl_label = "Re-solve around edits"
    bl_parent_id = "PROPOSE_PT_estimate"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_rig(context) is not None

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        rig = active_rig(context)
        settings = context.scene.propose_review
        layout.label(text="Pose bones on a frame, select them, pin:", icon="INFO")
        layout.operator("propose.pin_pose", icon="PINNED")
        frames, joints, _ = pins.get(rig)
        names = rig_module.joint_names()
        column = layout.column(align=True)
        for k, (frame, joint) in enumerate(zip(frames, joints)):
            row = column.row(align=True)
            row.label(text=f"frame {int(frame)}  {names[int(joint)]}", icon="PINNED")
            row.operator("propose.remove_pin", text="", icon="X").index = k
        if len(frames):
            layout.operator("propose.remove_pin", text="Remove All Pins", icon="TRASH").index = -1
        row = layout.row(align=True)
        row.prop(settings, "resolve_strength")
        row.prop(settings, "resolve_seed")
        layout.operator("propose.resolve", icon="FILE_REFRESH")


CLASSES = (PROPOSE_PT_uncertainty_display, PROPOSE_PT_review, PROPOSE_PT_ghost_parts, PROPOSE_PT_resolve)
