"""Stills of a retargeted walk for docs/addon.md: the ProPose rig and its Rigify, Mixamo and UE5 targets.

    PYTHONPATH=backend:.:tests/blender .venv/bin/python benchmarks/render_retarget_stills.py \
        --results street.npz --out docs/images [--frame 60]

The results' motion (or, with --walk, the CMU walk through Blender's BVH importer and the CMU map)
drives the ProPose rig, which is retargeted onto each target standing beside it. Bones do not render, so each mapped bone gets an
octahedron in the colour the retarget gave it (the source joint's uncertainty class).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "blender"), str(ROOT / "backend"), str(ROOT)]

import bpy  # noqa: E402
from mathutils import Vector  # noqa: E402

import target_rigs  # noqa: E402
from bench_export_retarget import _scene_with_rig, _with_walk  # noqa: E402
from propose_blender import bone_map, retarget, rigify_target, snapshot  # noqa: E402


def _markers(rig: bpy.types.Object, bones: list[str]) -> None:
    for name in bones:
        bone = rig.data.bones[name]
        length, w = bone.length, 0.12 * bone.length
        verts = [(0, -length, 0), (w, -0.8 * length, 0), (0, -0.8 * length, w), (-w, -0.8 * length, 0),
                 (0, -0.8 * length, -w), (0, 0, 0)]
        mesh = bpy.data.meshes.new(f"marker {name}")
        mesh.from_pydata(verts, [], snapshot._OCTAHEDRON_FACES)
        color = rig.pose.bones[name].color
        rgb = tuple(color.custom.normal) if color.palette == "CUSTOM" else (0.6, 0.6, 0.6)
        mesh.materials.append(snapshot._material(f"marker {tuple(round(c, 3) for c in rgb)}", rgb))
        marker = bpy.data.objects.new(mesh.name, mesh)
        bpy.context.scene.collection.objects.link(marker)
        marker.parent, marker.parent_type, marker.parent_bone = rig, "BONE", name


def _camera(scene: bpy.types.Scene, location: Vector, target: Vector, scale: float) -> None:
    data = bpy.data.cameras.new("still")
    data.type, data.ortho_scale = "ORTHO", scale
    camera = bpy.data.objects.new("still", data)
    scene.collection.objects.link(camera)
    camera.location = location
    camera.rotation_euler = (target - location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = camera


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--bvh", type=Path, default=ROOT.parent / "shared" / "data" / "mocap" / "cmu_12_01_walk.bvh")
    parser.add_argument("--out", type=Path, default=Path("/tmp"))
    parser.add_argument("--frame", type=int, default=150)
    parser.add_argument("--walk", action="store_true", help="the mocap walk instead of the footage's motion "
                                                              "(it has no uncertainty, so no colours)")
    args = parser.parse_args()
    rig = _with_walk(args.results, args.bvh) if args.walk else _scene_with_rig(args.results)
    scene = bpy.context.scene
    rigify = rigify_target.generate(bpy.context, rig)
    rigify.location.x += 1.0
    mixamo, ue5 = target_rigs.mixamo_rig(), target_rigs.ue5_rig(rotation_z=0.0)
    scene.frame_set(int(rig.animation_data.action.frame_range[0]))
    start = rig.matrix_world @ rig.pose.bones["pelvis"].head  # the targets start beside the source's first pose
    floor = min((rigify.matrix_world @ rigify.data.bones[b].head_local).z for b in ("foot_fk.L", "toe_fk.L"))
    for offset, target, feet in ((2.0, mixamo, "mixamorig:LeftToeBase"), (3.0, ue5, "ball_l")):
        target.location = (start.x + offset, start.y, floor - target.data.bones[feet].head_local.z * target.scale.z)
    bpy.context.view_layer.update()
    for target, preset in ((rigify, "rigify"), (mixamo, "mixamo"), (ue5, "ue5")):
        retarget.retarget(bpy.context, rig, target, bone_map.preset(preset), bone_map.identity())
    scene.frame_set(args.frame)
    retarget.refresh_colors(scene)
    for target, preset in ((rigify, "rigify"), (mixamo, "mixamo"), (ue5, "ue5")):
        _markers(target, list(bone_map.preset(preset).resolve(target).values()))
    snapshot.add_bone_markers(rig, None)
    pelvis = rig.matrix_world @ rig.pose.bones["pelvis"].head
    middle = Vector((pelvis.x + 1.5, pelvis.y, floor + 0.9))
    scene.render.resolution_x, scene.render.resolution_y = 1600, 700
    for view, location, scale in (("front", middle + Vector((0, -8, 0)), 5.2),
                                  ("side", middle + Vector((8, -8, 0)), 6.5)):
        _camera(scene, location, middle, scale)
        with snapshot._workbench(scene, transparent=False):
            scene.display.shading.color_type = "MATERIAL"
            scene.render.filepath = str(args.out.resolve() / f"retarget_{view}.png")
            bpy.ops.render.render(write_still=True)
            print("wrote", scene.render.filepath)


if __name__ == "__main__":
    main()
