"""Export round trips, retarget fidelity and long-clip timings, printed as tables.

    PYTHONPATH=backend:.:tests/blender .venv/bin/python benchmarks/bench_export_retarget.py \
        --results street.npz [--bvh ../shared/data/mocap/cmu_12_01_walk.bvh] [--long 10000]

--results: a results file (e.g. `propose_backend estimate --input street_crowd_720p50.avi ...`).
--bvh: a mocap walk, loaded with Blender's BVH importer and retargeted onto the ProPose rig (CMU map)
as a second source motion.

Round trip: each format exported and re-imported into an empty scene by Blender's own importer;
distance between the joints' world positions before and after, over all frames. Fidelity: for each
target, the end effectors (hands, feet, head) against the source's, scaled by the limb-length
ratio (tests/blender/motion_checks.py). All positions come from Blender's evaluation (frame_set).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "blender"), str(ROOT / "backend"), str(ROOT)]
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="propose-bench-"))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

import target_rigs  # noqa: E402
from motion_checks import end_effector_errors, world_heads  # noqa: E402
from propose_blender import bone_map, export, importer, retarget, rigify_target  # noqa: E402
from propose_blender import rig as rig_module  # noqa: E402

CMU_SCALE = 0.056444  # CMU BVH units to metres


def _frames(obj) -> range:
    start, end = obj.animation_data.action.frame_range
    return range(int(round(start)), int(round(end)) + 1)


def _reimport(path: Path, fps: float) -> bpy.types.Object:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), round(fps) / fps
    if path.suffix == ".fbx":
        bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    elif path.suffix == ".bvh":
        bpy.ops.import_anim.bvh(filepath=str(path), axis_forward="Y", axis_up="Z")
    else:
        bpy.ops.import_scene.gltf(filepath=str(path))
    return next(o for o in bpy.data.objects if o.type == "ARMATURE")


def _scene_with_rig(results: Path) -> bpy.types.Object:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return importer.import_results(bpy.context, results).rig


def _with_walk(results: Path, bvh: Path, frames: int | None = None) -> bpy.types.Object:
    """A ProPose rig (the estimated body) playing the mocap walk, retargeted from the BVH skeleton."""
    rig = _scene_with_rig(results)
    scene = bpy.context.scene
    bpy.ops.import_anim.bvh(filepath=str(bvh), global_scale=CMU_SCALE, update_scene_fps=True, use_cyclic=True)
    walk = bpy.context.object
    span = np.arange(1, (frames or len(_frames(walk))) + 1)
    retarget.retarget(bpy.context, walk, rig, bone_map.identity(), bone_map.preset("cmu"), frames=span)
    bpy.data.objects.remove(walk)
    scene.frame_start, scene.frame_end = int(span[0]), int(span[-1])
    return rig


def round_trips(label: str, make_rig, out: Path) -> None:
    for suffix in (".fbx", ".glb", ".bvh"):
        rig = make_rig()
        scene = bpy.context.scene
        fps = scene.render.fps / scene.render.fps_base
        frames = range(scene.frame_start, scene.frame_end + 1)
        space = "ARMATURE" if suffix == ".bvh" else "WORLD"
        before = world_heads(rig, rig_module.joint_names(), frames, space)
        path = export.export(bpy.context, rig, out / f"{label}{suffix}")
        after = world_heads(_reimport(path, fps), rig_module.joint_names(), frames, space)
        error = np.linalg.norm(after - before, axis=-1) * 1000
        print(f"| {label} | {suffix[1:]} | {len(frames)} | {error.mean():.4f} | {error.max():.4f} |", flush=True)


def fidelity(label: str, make_rig) -> None:
    for target_name in ("mixamo", "ue5", "rigify"):
        rig = make_rig()
        frames = _frames(rig)
        if target_name == "rigify":
            target = rigify_target.generate(bpy.context, rig)
        else:
            target = (target_rigs.mixamo_rig if target_name == "mixamo" else target_rigs.ue5_rig)()
        mapping = bone_map.preset(target_name)
        started = time.perf_counter()
        retarget.retarget(bpy.context, rig, target, mapping, bone_map.identity())
        seconds = time.perf_counter() - started
        src_map, tgt_map = bone_map.identity().resolve(rig), mapping.resolve(target)
        rest = lambda obj, names: {j: np.array(obj.matrix_world @ obj.data.bones[b].head_local)  # noqa: E731
                                   for j, b in names.items()}
        facing = retarget._facing(rest(rig, src_map), rest(target, tgt_map))
        errors = end_effector_errors(rig, src_map, target, tgt_map, frames, facing)
        cells = " | ".join(f"{e.mean() * 1000:.1f} / {e.max() * 1000:.1f}" for e in errors.values())
        print(f"| {label} | {target_name} | {len(frames)} | {cells} | {seconds:.1f} |", flush=True)


def long_clip(results: Path, bvh: Path, frames: int, out: Path) -> None:
    started = time.perf_counter()
    rig = _with_walk(results, bvh, frames)
    print(f"| BVH walk onto the ProPose rig (retarget) | {frames} | {time.perf_counter() - started:.1f} |", flush=True)
    for suffix in (".fbx", ".glb", ".bvh"):
        started = time.perf_counter()
        export.export(bpy.context, rig, out / f"long{suffix}")
        print(f"| export {suffix[1:]} | {frames} | {time.perf_counter() - started:.1f} |", flush=True)
    for target_name, build in (("mixamo", target_rigs.mixamo_rig), ("rigify", None)):
        target = build() if build else rigify_target.generate(bpy.context, rig)
        started = time.perf_counter()
        retarget.retarget(bpy.context, rig, target, bone_map.preset(target_name), bone_map.identity())
        print(f"| retarget onto {target_name} | {frames} | {time.perf_counter() - started:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--bvh", type=Path, default=ROOT.parent / "shared" / "data" / "mocap" / "cmu_12_01_walk.bvh")
    parser.add_argument("--long", type=int, default=10_000, help="frames of the long clip (0: skip)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="propose-export-"))
    sources = {"street video": lambda: _scene_with_rig(args.results)}
    if args.bvh.is_file():
        sources["CMU walk"] = lambda: _with_walk(args.results, args.bvh)
    else:
        print(f"(no {args.bvh}: the mocap rows are skipped)")
    print("\n| source | format | frames | mean mm | max mm |\n|---|---|---|---|---|")
    for label, make in sources.items():
        round_trips(label.split()[0], make, out)
    print("\nEnd effectors: mean / max mm, against the source scaled by the limb-length ratio")
    print("| source | target | frames | left hand | right hand | left foot | right foot | head | bake s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, make in sources.items():
        fidelity(label, make)
    if args.long and args.bvh.is_file():
        print("\n| step | frames | seconds |\n|---|---|---|")
        long_clip(args.results, args.bvh, args.long, out)


if __name__ == "__main__":
    main()
