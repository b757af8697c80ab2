"""The panel's "Export & Retarget" section (its buttons: operators/retarget.py)."""
from __future__ import annotations

import bpy

from .panel import _ProposePanel


class PROPOSE_PT_retarget(_ProposePanel, bpy.types.Panel):
    bl_label = "Export & Retarget"
    bl_parent_id = "PROPOSE_PT_estimate"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.propose_retarget
        layout.prop(settings, "preset")
        if settings.preset == "FILE":
            layout.prop(settings, "map_file")
        layout.prop(settings, "target")
        if settings.target is None and settings.preset == "rigify":
            layout.label(text="No target: a Rigify rig is generated", icon="INFO")
        layout.operator("propose.retarget", icon="ARMATURE_DATA")
        layout.separator()
        layout.prop(settings, "export_path")
        layout.prop(settings, "engine")
        layout.operator("propose.export", icon="EXPORT")


CLASSES = (PROPOSE_PT_retarget,)
