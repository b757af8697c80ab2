"""Headless entry point: footage (or a results file) in, a .blend (and optionally FBX/BVH/glTF) out.

    blender --background --python propose_blender/batch.py -- --input clip.mp4 --output clip.blend \
        [--fbx clip.fbx] [--bvh clip.bvh] [--gltf clip.glb] [--samples N] [--python /path/to/backend/python] [--device cpu]
    python -m propose_blender.batch --input clip.mp4 --output clip.blend      # under the bpy module

Works from the repository and from the installed extension folder. An --input ending in .npz is
imported as a results file without running the backend. On failure it exits non-zero with a
one-line reason on stderr; if the backend died mid-run, the frames it finished are still saved.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import bpy


def _script_package() -> str:
    """The package to run when this file is a script: the enabled extension it belongs to (so its
    preferences apply), else the folder it sits in, imported as `propose_blender`."""
    here = Path(__file__).resolve().parent
    for name in (a.module for a in bpy.context.preferences.addons if a.module.endswith("." + here.name)):
        if Path(importlib.import_module(name).__file__).resolve().parent == here:
            return name
    sys.path.insert(0, str(here.parent))
    return here.name


if __name__ == "__main__" and not __package__:  # `blender --python .../batch.py -- ...`
    sys.exit(importlib.import_module(_script_package() + ".batch").main())

import numpy as np  # noqa: E402

from . import bone_map, export, ghosts, importer, preferences, retarget, rigify_target, runner, snapshot, \
    uncertainty  # noqa: E402  (relative imports need the package above)
from .backend_env import find_model_files, model_folder_problem  # noqa: E402
from .client import LaunchFailed  # noqa: E402


class BatchFailed(RuntimeError):
    """Ends the batch with exit code 1 and this one-line reason."""


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected four numbers x,y,w,h in pixels, got '{text}'") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"the box's width and height must be positive, got '{text}'")
    return x, y, w, h


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # a bad argument is a failure like any other: exit 1, one line
        raise BatchFailed(f"{message} (see --help)")


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="propose_blender.batch", description="ProPose headless batch")
    parser.add_argument("--input", required=True, type=Path, help="image, video, or a results .npz")
    parser.add_argument("--output", required=True, type=Path, help=".blend file to write")
    parser.add_argument("--fbx", type=Path, help="also export the rig, body and camera with their animation as FBX")
    parser.add_argument("--bvh", type=Path, help="also export the skeleton's motion as BVH")
    parser.add_argument("--gltf", type=Path, help="also export the rig, body, camera and animation as glTF "
                                                  "(.glb: one file; .gltf: with a .bin beside it)")
    parser.add_argument("--engine", choices=export.ENGINES, default="BLENDER",
                        help="units and axes of the exported files for this engine")
    parser.add_argument("--retarget", metavar="MAP", help="also bake the motion onto another rig: a bone map "
                        f"preset ({', '.join(bone_map.preset_names())}) or a bone map .json; exports then "
                        "carry that rig")
    parser.add_argument("--target-rig", type=Path, help="a .blend with the rig to retarget onto (default for "
                                                        "rigify: a Rigify rig generated for the body)")
    parser.add_argument("--results", type=Path, help="where the backend writes its .npz (default: beside --output)")
    parser.add_argument("--samples", type=int, help="posterior samples per frame (ghost poses)")
    parser.add_argument("--python", help="backend interpreter (default: preferences, $PROPOSE_BACKEND_PYTHON, "
                                         "or the environment made by 'Set up backend')")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--estimator", choices=["auto", "propose", "keypoints"],
                        help="propose: the network (needs the checkpoint); keypoints: instant mode")
    parser.add_argument("--frames", help='source frames as "A:B:STEP" (0-based, end exclusive)')
    parser.add_argument("--bbox", type=_bbox, help="person box in pixels as x,y,w,h")
    parser.add_argument("--model-files", help="folder with the checkpoint and body model")
    parser.add_argument("--allow-random-weights", action="store_true", help="testing only: no checkpoint")
    parser.add_argument("--render", type=Path, help="also render the camera view (bones coloured by uncertainty "
                                                      "over the footage) to this PNG")
    parser.add_argument("--render-ghosts", type=Path, help="also render the pose beside its posterior samples "
                                                             "to this PNG")
    parser.add_argument("--frame", type=int, help="scene frame for the renders (default: the first with a person)")
    return parser.parse_args(argv)


def _estimate(args: argparse.Namespace) -> tuple[Path, str]:
    """Run the backend; returns the results path and a warning ('' if the run completed)."""
    prefs = preferences.settings()
    model_folder = args.model_files or prefs.model_folder
    problem = model_folder_problem(model_folder)
    if problem:
        raise BatchFailed(problem)
    checkpoint, body_model = find_model_files(model_folder)
    request = runner.EstimateRequest(
        input=args.input, output=args.results or args.output.with_suffix(".npz"),
        samples=prefs.samples if args.samples is None else args.samples, device=args.device or prefs.device,
        frames=args.frames, checkpoint=checkpoint, body_model=body_model,
        allow_random_weights=args.allow_random_weights or prefs.allow_random_weights,
        bbox=args.bbox,
        estimator=args.estimator or prefs.estimator)
    run = runner.EstimateRun(args.python or prefs.python, request)
    try:
        run.start()
    except LaunchFailed as exc:
        raise BatchFailed(str(exc)) from exc
    runner.wait(run, on_progress=lambda p: print(f"propose: {p.describe()}", file=sys.stderr, flush=True))
    if run.state == runner.FINISHED:
        return run.request.output, ""
    partial = run.partial_output()
    reason = run.error.splitlines()[0] if run.error else f"the run was {run.state}"
    if partial is None:
        raise BatchFailed(reason)
    return partial, reason


def _target_from_file(path: Path, mapping: bone_map.BoneMap) -> bpy.types.Object:
    """The first armature in the .blend at `path` that has the map's bones, linked into the scene."""
    if not path.is_file():
        raise BatchFailed(f"--target-rig {path} does not exist.")
    with bpy.data.libraries.load(str(path.resolve()), link=False) as (source, loaded):
        loaded.objects = list(source.objects)
    problem = f"--target-rig {path.name} has no armature."
    for obj in loaded.objects:
        if obj is None or obj.type != "ARMATURE":
            continue
        try:
            mapping.resolve(obj)
        except bone_map.BoneMapError as exc:
            problem = str(exc)
            continue
        bpy.context.scene.collection.objects.link(obj)
        for child in loaded.objects:
            if child is not None and child.parent == obj and child.name not in bpy.context.scene.objects:
                bpy.context.scene.collection.objects.link(child)
        return obj
    raise BatchFailed(problem)


def _retarget(rig: bpy.types.Object, args: argparse.Namespace) -> bpy.types.Object:
    try:
        mapping = bone_map.preset(args.retarget)
        if args.target_rig is not None:
            target = _target_from_file(args.target_rig, mapping)
        elif args.retarget == "rigify":
            target = rigify_target.generate(bpy.context, rig)
        else:
            raise BatchFailed(f"--retarget {args.retarget} needs --target-rig FILE.blend with the rig to bake onto.")
        retarget.retarget(bpy.context, rig, target, mapping, bone_map.identity())
    except (bone_map.BoneMapError, retarget.RetargetFailed, rigify_target.RigifyMissing) as exc:
        raise BatchFailed(str(exc)) from exc
    return target


def _export_files(rig: bpy.types.Object, args: argparse.Namespace) -> None:
    for path in (args.fbx, args.bvh, args.gltf):
        if path is not None:
            try:
                export.export(bpy.context, rig, path.resolve(), engine=args.engine)
            except export.ExportFailed as exc:
                raise BatchFailed(str(exc)) from exc


def _render_stills(rig: bpy.types.Object, args: argparse.Namespace, footage: Path | None) -> None:
    scene = bpy.context.scene
    scene.frame_set(args.frame if args.frame is not None else _first_valid_frame(rig, scene))
    if args.render:
        snapshot.render_overlay(rig, footage, args.render.resolve())
    if args.render_ghosts:
        if not ghosts.sample_count(rig):
            raise BatchFailed("--render-ghosts needs posterior samples; run with --samples 1 or more.")
        snapshot.render_ghosts(rig, args.render_ghosts.resolve())


def _first_valid_frame(rig: bpy.types.Object, scene: bpy.types.Scene) -> int:
    for frame in range(scene.frame_start, scene.frame_end + 1):
        degrees = uncertainty.at_frame(rig, frame)
        if degrees is not None and not np.isnan(degrees).all():
            return frame
    return scene.frame_start


def run(argv: list[str]) -> str:
    """The whole batch; returns a warning ('' when all went well), raises BatchFailed."""
    args = _arguments(argv)
    if not args.input.exists():
        raise BatchFailed(f"--input {args.input} does not exist.")
    if args.output.suffix.lower() != ".blend":
        raise BatchFailed(f"--output must be a .blend file, not {args.output.name}.")
    for flag, path, fmt in (("--fbx", args.fbx, "FBX"), ("--bvh", args.bvh, "BVH"), ("--gltf", args.gltf, "GLTF")):
        if path is not None and export.FORMATS.get(path.suffix.lower()) != fmt:
            raise BatchFailed(f"{flag} needs a file name ending in "
                              f"{' or '.join(s for s, f in export.FORMATS.items() if f == fmt)}, not {path.name}.")
    if args.input.suffix.lower() == ".npz" or args.input.name.endswith(".npz.chunks"):
        results_path, warning, footage = Path(str(args.input).removesuffix(".chunks")), "", None
    else:
        (results_path, warning), footage = _estimate(args), args.input
    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        rig = importer.import_results(bpy.context, results_path, footage=footage)
    except importer.ImportFailed as exc:
        raise BatchFailed(str(exc).splitlines()[0]) from exc
    exported = _retarget(rig, args) if args.retarget else rig
    args.output.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.output.resolve()))
    if args.render or args.render_ghosts:
        _render_stills(rig, args, footage)
    _export_files(exported, args)
    return f"{warning}; saved the frames done so far to {args.output}" if warning else ""


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    try:
        warning = run(argv)
    except BatchFailed as exc:
        print(f"propose batch failed: {exc}", file=sys.stderr)
        return 1
    if warning:
        print(f"propose batch failed: {warning}", file=sys.stderr)
        return 1
    print("propose batch: done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
