"""Export presets: the animated rig (its skinned body and camera where the format has them) to FBX,
BVH and glTF through Blender's bundled exporters.

Each preset bakes one key per frame over the scene's frame range (which follows the clip), so the
file plays exactly what the rig plays in Blender, at the clip's frame rate. The engine presets only
change what each engine is known to read differently (units and axes); Blender's own importers read
every preset back.
"""
from __future__ import annotations

from pathlib import Path

import bpy

FORMATS = {".fbx": "FBX", ".bvh": "BVH", ".glb": "GLTF", ".gltf": "GLTF"}
ENGINES = ("BLENDER", "UNREAL", "UNITY")
_EXPORTER_ADDONS = {"FBX": "io_scene_fbx", "BVH": "io_anim_bvh", "GLTF": "io_scene_gltf2"}


class ExportFailed(RuntimeError):
    """The export could not run; the message says why and what to do."""


def format_of(path: str | Path) -> str:
    """FBX, BVH or GLTF from the file name; raises ExportFailed for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ExportFailed(f"Cannot tell the export format from '{Path(path).name}': "
                           f"use one of {', '.join(sorted(FORMATS))}.")
    return FORMATS[suffix]


def _ensure_exporter(fmt: str) -> None:
    """Bundled exporters are add-ons; a factory-settings or background Blender may have them off."""
    import addon_utils

    module = _EXPORTER_ADDONS[fmt]
    loaded, enabled = addon_utils.check(module)
    if not enabled:
        addon_utils.enable(module, default_set=False)
    if not addon_utils.check(module)[1]:
        raise ExportFailed(f"{fmt} export is not available in this Blender build ({module} is missing).")


def _exported_objects(rig: bpy.types.Object, scene: bpy.types.Scene, camera: bool) -> list[bpy.types.Object]:
    """The rig, the meshes it deforms, and (if asked) the scene camera."""
    meshes = [o for o in scene.objects if o.type == "MESH" and o.visible_get() and any(
        m.type == "ARMATURE" and m.object == rig for m in o.modifiers)]
    objects = [rig, *meshes]
    if camera and scene.camera is not None:
        objects.append(scene.camera)
    return objects


def _select_only(context: bpy.types.Context, objects: list[bpy.types.Object]) -> None:
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    for obj in context.view_layer.objects:
        obj.select_set(False)
    for obj in objects:
        obj.hide_set(False)
        obj.select_set(True)
    context.view_layer.objects.active = objects[0]


def _fbx(path: Path, engine: str) -> None:
    options = dict(
        use_selection=True, object_types={"ARMATURE", "MESH", "CAMERA"}, add_leaf_bones=False,
        # the rig may have bones that deform nothing (a root carrying the world motion): keep them
        use_armature_deform_only=False, mesh_smooth_type="FACE",
        bake_anim=True, bake_anim_step=1.0, bake_anim_simplify_factor=0.0, bake_anim_force_startend_keying=True,
        # One take of the scene as it plays. With NLA strips on (the exporter's default) and all actions
        # off, only NLA strips are written, and a rig whose motion is its active action exports none.
        bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
        axis_forward="-Z", axis_up="Y", apply_unit_scale=True,
        # Unity reads FBX units itself; scaling them into the file avoids its 100x object scale.
        apply_scale_options="FBX_SCALE_UNITS" if engine == "UNITY" else "FBX_SCALE_NONE",
    )
    bpy.ops.export_scene.fbx(filepath=str(path), **options)


def _bvh(path: Path, scene: bpy.types.Scene) -> None:
    bpy.ops.export_anim.bvh(filepath=str(path), frame_start=scene.frame_start, frame_end=scene.frame_end,
                            global_scale=1.0, rotate_mode="NATIVE", root_transform_only=False)


def _gltf(path: Path, scene: bpy.types.Scene, camera: bool) -> None:
    bpy.ops.export_scene.gltf(
        filepath=str(path), export_format="GLB" if path.suffix.lower() == ".glb" else "GLTF_SEPARATE",
        use_selection=True, export_yup=True, export_apply=False, export_skins=True, export_cameras=camera,
        export_animations=True, export_animation_mode="ACTIVE_ACTIONS", export_force_sampling=True,
        export_frame_range=True, export_optimize_animation_size=False, export_anim_slide_to_zero=False,
        export_def_bones=False, export_reset_pose_bones=True)


def export(context: bpy.types.Context, rig: bpy.types.Object, path: str | Path, engine: str = "BLENDER",
           camera: bool = True) -> Path:
    """Write `rig` (and its body, and the scene camera where the format carries one) to `path`.

    The format follows the file name (.fbx, .bvh, .glb/.gltf). BVH holds the skeleton's motion only,
    in the armature's own space (no mesh, no camera, no object transform).
    """
    path = Path(path).resolve()
    fmt = format_of(path)
    if engine not in ENGINES:
        raise ExportFailed(f"Unknown engine preset '{engine}': use one of {', '.join(ENGINES)}.")
    if rig is None or rig.type != "ARMATURE":
        raise ExportFailed("Select the armature to export first.")
    _ensure_exporter(fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = context.scene
    selected = [o for o in context.view_layer.objects if o.select_get()]
    active = context.view_layer.objects.active
    try:
        _select_only(context, _exported_objects(rig, scene, camera and fmt != "BVH"))
        if fmt == "FBX":
            _fbx(path, engine)
        elif fmt == "BVH":
            _bvh(path, scene)
        else:
            _gltf(path, scene, camera)
    except RuntimeError as exc:
        raise ExportFailed(f"The {fmt} exporter failed: {str(exc).strip().splitlines()[-1]}") from exc
    finally:
        for obj in context.view_layer.objects:
            obj.select_set(obj in selected)
        context.view_layer.objects.active = active
    if not path.is_file():
        raise ExportFailed(f"The {fmt} exporter wrote nothing to {path}; check that the folder is writable.")
    return path
