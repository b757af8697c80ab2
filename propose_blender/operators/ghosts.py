"""Ghosts: show, pose, hide, select and apply the posterior samples of the current frame."""
from __future__ import annotations

import bpy
from bpy.props import IntProperty

from .. import ghosts, rig as rig_module
from ..rig import active_rig


class _RigOperator:
    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        rig = active_rig(context)
        return rig is not None and ghosts.sample_count(rig) > 0


def chosen_sample(operator: bpy.types.Operator, context: bpy.types.Context) -> int | None:
    """The sample an apply operator takes: its `index`, else the selected ghost's; None (reported) if neither."""
    index = operator.index if operator.index >= 0 else ghosts.ghost_index(context.active_object)
    if index is None:
        operator.report({"ERROR"}, "Select a ghost in the viewport or in the panel list first.")
    return index


class PROPOSE_OT_show_ghosts(_RigOperator, bpy.types.Operator):
    """Show this frame's posterior samples as translucent ghost bodies, densest first"""

    bl_idname = "propose.show_ghosts"
    bl_label = "Show Ghosts"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        made = ghosts.show(rig, context.scene.frame_current, context.scene.propose.ghost_spacing)
        if ghosts.samples_at(rig, context.scene.frame_current) is None:
            self.report({"WARNING"}, "No person was found on this frame; the ghosts appear on frames that have one.")
        self.report({"INFO"}, f"{len(made)} ghosts")
        return {"FINISHED"}


class PROPOSE_OT_refresh_ghosts(_RigOperator, bpy.types.Operator):
    """Pose the ghosts with the samples of the current frame"""

    bl_idname = "propose.refresh_ghosts"
    bl_label = "Refresh Ghosts"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        ghosts.pose(active_rig(context), context.scene.frame_current)
        return {"FINISHED"}


class PROPOSE_OT_hide_ghosts(bpy.types.Operator):
    """Remove the ghosts (the samples stay stored on the rig)"""

    bl_idname = "propose.hide_ghosts"
    bl_label = "Hide Ghosts"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        for each in [rig] if rig is not None else rig_module.find_rigs(context.scene):
            ghosts.hide(each)
        return {"FINISHED"}


class PROPOSE_OT_select_ghost(_RigOperator, bpy.types.Operator):
    """Select this ghost in the viewport"""

    bl_idname = "propose.select_ghost"
    bl_label = "Select Ghost"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Sample", default=0, min=0)

    def execute(self, context: bpy.types.Context) -> set[str]:
        found = [g for g in ghosts.ghosts_of(active_rig(context)) if ghosts.ghost_index(g) == self.index]
        if not found:
            self.report({"ERROR"}, "That ghost is gone; press Show Ghosts.")
            return {"CANCELLED"}
        target = ghosts.shell_of(found[0]) or found[0]  # the body is what one sees and clicks
        for obj in context.view_layer.objects.selected:
            obj.select_set(False)
        target.select_set(True)
        context.view_layer.objects.active = target
        return {"FINISHED"}


class PROPOSE_OT_apply_ghost(_RigOperator, bpy.types.Operator):
    """Replace the body's rotation keys on this frame with the ghost's pose"""

    bl_idname = "propose.apply_ghost"
    bl_label = "Apply Ghost"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Sample", default=-1, min=-1,
                       description="Sample to apply (0 = densest); -1: the selected ghost")

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        index = chosen_sample(self, context)
        if index is None:
            return {"CANCELLED"}
        frame = context.scene.frame_current
        try:
            ghosts.apply(rig, index, frame)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        context.scene.frame_set(frame)  # re-evaluate the changed keys
        self.report({"INFO"}, f"Frame {frame}: {rig.name} now has the pose of ghost {index + 1}.")
        return {"FINISHED"}


CLASSES = (PROPOSE_OT_show_ghosts, PROPOSE_OT_refresh_ghosts, PROPOSE_OT_hide_ghosts, PROPOSE_OT_select_ghost, PROPOSE_OT_apply_ghost)
