"""The "Export & Retarget" buttons: bake the motion onto another rig, export to a file.

Their settings live on the scene (`scene.propose_retarget`, properties.py).
"""
from __future__ import annotations

from pathlib import Path

import bpy

from .. import bone_map, export, retarget, rigify_target
from ..rig import active_rig


class PROPOSE_OT_retarget(bpy.types.Operator):
    """Bake the ProPose motion onto the target rig as a new action (one undo step)"""

    bl_idname = "propose.retarget"
    bl_label = "Retarget Motion"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_rig(context) is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.propose_retarget
        source = active_rig(context)
        try:
            mapping = settings.bone_map()
            target = settings.target
            if target is None:
                if settings.preset != "rigify":
                    raise retarget.RetargetFailed("Pick the target rig (any armature in the scene).")
                target = rigify_target.generate(context, source)
                settings.target = target
            retarget.retarget(context, source, target, mapping, bone_map.identity())
        except (bone_map.BoneMapError, retarget.RetargetFailed, rigify_target.RigifyMissing) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"ProPose: baked '{source.name}' onto '{target.name}'.")
        return {"FINISHED"}


class PROPOSE_OT_export(bpy.types.Operator):
    """Export the rig (the target rig if one is set), its body, camera and animation"""

    bl_idname = "propose.export"
    bl_label = "Export"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_rig(context) is not None or context.scene.propose_retarget.target is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.propose_retarget
        rig = settings.target if settings.target is not None and settings.target.animation_data else active_rig(context)
        path = Path(bpy.path.abspath(settings.export_path))
        try:
            written = export.export(context, rig, path, engine=settings.engine)
        except export.ExportFailed as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"ProPose: exported '{rig.name}' to {written}.")
        return {"FINISHED"}


CLASSES = (PROPOSE_OT_retarget, PROPOSE_OT_export)
