"""The panel's "Export & Retarget" section: settings, the retarget and export operators, the panel."""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import EnumProperty, PointerProperty, StringProperty

from . import bone_map, export, retarget, rigify_target
from .rig import active_rig

NEW_RIGIFY = "NEW_RIGIFY"


_PRESET_ITEMS: list[tuple[str, str, str]] = []  # kept alive: Blender does not copy dynamic enum strings


def _presets(_self, _context) -> list[tuple[str, str, str]]:
    if _PRESET_ITEMS:
        return _PRESET_ITEMS
    items = _PRESET_ITEMS
    for name in bone_map.preset_names():
        if name == "smpl":
            continue
        preset = bone_map.preset(name)
        items.append((name, preset.name, preset.description))
    items.append(("FILE", "Bone map file…", "A bone map .json of your own (copy a preset and edit it)"))
    return items


def _is_armature(_self, obj: bpy.types.Object) -> bool:
    return obj.type == "ARMATURE"


class ProposeRetargetSettings(bpy.types.PropertyGroup):
    """Saved with the .blend: the retarget target and map, and the export preset."""

    target: PointerProperty(name="Target rig", type=bpy.types.Object, poll=_is_armature,
                            description="The armature to bake the motion onto; empty with the Rigify map "
                                        "generates a Rigify rig fitted to the body")
    preset: EnumProperty(name="Bone map", items=_presets, description="Which bone plays which joint")
    map_file: StringProperty(name="Map file", subtype="FILE_PATH", description="Your bone map (.json)")
    export_path: StringProperty(name="File", subtype="FILE_PATH", default="//propose.fbx",
                                description="Where to export: .fbx, .bvh, .glb or .gltf")
    engine: EnumProperty(name="For", items=[("BLENDER", "Blender", "Blender's own importers"),
                                            ("UNREAL", "Unreal", "Unreal Engine (FBX in centimetres)"),
                                            ("UNITY", "Unity", "Unity (FBX units applied to the file)")])

    def bone_map(self) -> bone_map.BoneMap:
        if self.preset == "FILE":
            if not self.map_file:
                raise bone_map.BoneMapError("Pick a bone map file, or one of the presets.")
            return bone_map.load(bpy.path.abspath(self.map_file))
        return bone_map.preset(self.preset)


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


class PROPOSE_PT_retarget(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "ProPose"
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


CLASSES = (ProposeRetargetSettings, PROPOSE_OT_retarget, PROPOSE_OT_export, PROPOSE_PT_retarget)


def attach() -> None:
    bpy.types.Scene.propose_retarget = PointerProperty(type=ProposeRetargetSettings)


def detach() -> None:
    del bpy.types.Scene.propose_retarget
