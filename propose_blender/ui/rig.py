"""The "Rig" sub-panel: IK switches, bone collections and the body's shape for the selected take."""
from __future__ import annotations

import bpy

from .. import bridge, importer
from ..rig import active_rig
from .panel import _ProposePanel



class PROPOSE_PT_rig(_ProposePanel, bpy.types.Panel):
    bl_label = "Rig"
    bl_parent_id = "PROPOSE_PT_estimate"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        rig = active_rig(context)
        if rig is None:
            layout.label(text="Select a ProPose body to edit its rig.")
            return
        layout.label(text=f"Take {rig.get(importer.TAKE, 1)} of '{rig.get(importer.CLIP, rig.name)}'")
        column = layout.column(align=True)
        column.label(text="IK (targets follow the keyed FK):")
        for switch, label in (("ik_arms", "Arms IK"), ("ik_legs", "Legs IK")):
            if switch in rig:
                column.prop(rig, f'["{switch}"]', text=label, slider=True)
        column = layout.column(align=True)
        column.label(text="Bone collections:")
        for collection in rig.data.collections:
            column.prop(collection, "is_visible", text=collection.name, toggle=True)
        phenotype = rig.get(importer.PHENOTYPE)
        if phenotype is not None:
            box = layout.box()
            box.label(text="Anny body fitted to the footage:")
            for name, value in zip(bridge.schema().PHENOTYPE_LABELS, phenotype):
                box.label(text=f"{name}: {value:.2f}")


CLASSES = (PROPOSE_PT_rig,)
