"""The headless batch itself (`propose_blender.batch` is its entry point): footage or a results
file in; a .blend, exports and stills out; warnings on stderr; BatchFailed for a one-line failure.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import bpy

from . import bone_map, bridge, cast, client, export, ghosts, importer, preferences, results, retarget, \
    rigify_target, runner, snapshot
from .backend_env import model_folder, model_folder_problem
from .client import LaunchFailed


class BatchFailed(RuntimeError):
    """Ends the batch with exit code 1 and this one-line reason."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # a bad argument is a failure like any other: exit 1, one line
        raise BatchFailed(f"{message} (see --help)")


def _arguments(argv: list[str]) -> argparse.Namespace:
    choices = bridge.request()
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
    # the request's flags: the same table as `propose-backend estimate` (absent: the preferences decide)
    choices.add_request_flags(parser, ("samples", "seed", "smooth"), with_defaults=False)
    parser.add_argument("--python", help="backend interpreter (default: preferences, $PROPOSE_BACKEND_PYTHON, "
                                         "or the environment made by 'Set up backend')")
    choices.add_request_flags(parser, ("device", "estimator", "frames", "bbox", "person", "detector", "mirrored",
                                       "focal_px", "still_camera"), with_defaults=False)
    parser.add_argument("--people", metavar="all|N,M",
                        help="follow everyone in the footage and build these people (all, or numbers such as "
                             "1,3 from the clip index); exports then write one file per person (NAME.person-N.fbx)")
    parser.add_argument("--model-files", help="folder with the checkpoint and body model")
    choices.add_request_flags(parser, ("allow_random_weights",), with_defaults=False)
    parser.add_argument("--render", type=Path, help="also render the camera view (bones coloured by uncertainty "
                                                      "over the footage) to this PNG")
    parser.add_argument("--render-ghosts", type=Path, help="also render the pose beside its posterior samples "
                                                             "to this PNG")
    parser.add_argument("--frame", type=int, help="scene frame for the renders (default: the first with a person)")
    return parser.parse_args(argv)


def _estimate(args: argparse.Namespace) -> tuple[Path, str]:
    """Run the backend; returns the results path and why it holds only part of the footage
    ('' when every frame went through). Warnings are printed as they are known."""
    prefs = preferences.settings()
    folder = args.model_files or prefs.model_folder
    problem = model_folder_problem(folder)
    if problem:
        raise BatchFailed(problem)
    if args.people is not None:
        args.everyone = True
    try:
        request = bridge.request().EstimateRequest.from_args(
            args, prefs.request_fields(), input=str(args.input),
            output=str(args.results or args.output.with_suffix(".npz")),
            allow_random_weights=args.allow_random_weights or prefs.allow_random_weights)
    except bridge.request().RequestError as exc:
        raise BatchFailed(f"--{exc.field.replace('_', '-')} {exc.message}." if exc.field else exc.message) from exc
    run = runner.EstimateRun(args.python or prefs.python, request, advice=dict(runner.BATCH_ADVICE),
                             model_folder=model_folder(folder))
    try:
        run.start()
    except LaunchFailed as exc:
        raise BatchFailed(str(exc)) from exc
    runner.wait(run, on_progress=lambda p: print(f"propose: {p.describe()}", file=sys.stderr, flush=True))
    for warning in run.warnings:
        _warn(warning)
    if run.state == runner.FINISHED:
        if run.incomplete:
            return run.output, (f"the footage gave {run.progress.done} of the {run.expected_frames} "
                                        "frames its header promises (a truncated or damaged file?)")
        return run.output, ""
    partial = run.partial_output()
    reason = run.reason or f"the run was {run.state}"
    if partial is None:
        raise BatchFailed(" ".join(reason.split()))
    return partial, " ".join(reason.split())


def _warn(message: str) -> None:
    print(f"propose batch: warning: {message}", file=sys.stderr, flush=True)


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


def _export_files(rig: bpy.types.Object, args: argparse.Namespace, person: int | None = None) -> None:
    for path in (args.fbx, args.bvh, args.gltf):
        if path is not None and person is not None:  # one file per person: NAME.person-N.ext
            path = path.with_name(f"{path.stem}.person-{person}{path.suffix}")
        if path is not None:
            try:
                export.export(bpy.context, rig, path.resolve(), engine=args.engine)
            except export.ExportFailed as exc:
                raise BatchFailed(str(exc)) from exc


def _render_stills(built: importer.ImportSummary, args: argparse.Namespace, footage: Path | None) -> None:
    rig, scene = built.rig, bpy.context.scene
    scene.frame_set(args.frame if args.frame is not None else built.first_valid_frame)
    if args.render:
        with tempfile.TemporaryDirectory(prefix="propose-still-") as folder:
            background = _background_frame(footage, scene.frame_current, args, Path(folder))
            snapshot.render_overlay(rig, background, args.render.resolve())
    if args.render_ghosts:
        if not ghosts.sample_count(rig):
            raise BatchFailed("--render-ghosts needs posterior samples; run with --samples 1 or more.")
        snapshot.render_ghosts(rig, args.render_ghosts.resolve())


def _background_frame(footage: Path | None, scene_frame: int, args: argparse.Namespace,
                      folder: Path) -> Path | None:
    """The picture behind a still: the footage itself for an image; for a video, its source frame
    at `scene_frame`, decoded by the backend's Python (Blender's own movie reading gives frame 1
    only). None (a grey background) with a warning when it cannot be had."""
    if footage is None or not footage.is_file():
        return None
    if footage.suffix.lower() not in bridge.request().VIDEO_SUFFIXES:
        return footage
    source_frame = scene_frame - results.FIRST_SCENE_FRAME
    png = folder / f"frame{source_frame:06d}.png"
    python = args.python or preferences.settings().python
    if not python:  # a results file needs no backend, but the video's frame does
        _warn(f"the still has a grey background: decoding frame {source_frame} of {footage} needs the backend's "
              f"Python; pass --python, or set ${preferences.PYTHON_ENV_VAR}.")
        return None
    try:
        done = subprocess.run([python, "-m", "propose_backend", "frame", "--input", str(footage),
                               "--frame", str(source_frame), "--output", str(png)],
                              env=client.backend_environment(), capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _warn(f"the still has a grey background: frame {source_frame} of {footage} could not be decoded ({exc}).")
        return None
    if done.returncode != 0 or not png.is_file():
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        _warn(f"the still has a grey background: frame {source_frame} of {footage} could not be decoded ({reason}).")
        return None
    return png


def _recorded_footage(results_path: Path) -> Path | None:
    """The source recorded in a results file, when it is still there (what the importer shows)."""
    try:
        return importer.footage_from_meta(results.read(results_path))
    except (bridge.schema().ResultsError, OSError):
        return None  # the import below reports what is wrong with the file


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
    if bridge.people_file().is_index(args.input):
        results_path, warning, footage = args.input, "", None
    elif args.input.suffix.lower() == ".npz" or args.input.name.endswith(".npz.chunks"):
        results_path, warning = Path(str(args.input).removesuffix(".chunks")), ""
        footage = _recorded_footage(results_path)
    else:
        (results_path, warning), footage = _estimate(args), args.input
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if bridge.people_file().is_index(results_path):
        return _run_people(args, results_path, footage, warning)
    try:
        built = importer.import_results(bpy.context, results_path, footage=footage,
                                        still_camera=bool(args.still_camera))
    except importer.ImportFailed as exc:
        raise BatchFailed(str(exc).splitlines()[0]) from exc
    for message in built.warnings:
        _warn(message)
    rig = built.rig
    exported = _retarget(rig, args) if args.retarget else rig
    args.output.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.output.resolve()))
    if args.render or args.render_ghosts:
        _render_stills(built, args, footage)
    _export_files(exported, args)
    if not warning:
        return ""
    return (f"{warning.rstrip('.')}. Saved what was done ({built.valid_frames} frames with a person) "
            f"to {args.output}.")


def _run_people(args: argparse.Namespace, index: Path, footage: Path | None, warning: str) -> str:
    """Build the chosen people of a clip index, save, render the first, export each."""
    if args.retarget:
        raise BatchFailed("--retarget bakes one person; leave it out with --people, or import one person's "
                          "NAME.person-N.npz.")
    try:
        done = cast.import_people(bpy.context, index, args.people or "all", footage=footage)
    except cast.CastFailed as exc:
        raise BatchFailed(str(exc).splitlines()[0]) from exc
    for message in done.skipped:
        _warn(message)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.output.resolve()))
    if args.render or args.render_ghosts:
        _render_stills(done.built[0], args, footage or importer.footage_from_meta(results.read(done.built[0].rig[importer.RESULTS_PATH])))
    for built in done.built:
        _export_files(built.rig, args, person=int(built.rig[cast.PERSON]))
    print(f"propose batch: built {len(done.built)} people: {', '.join(b.rig.name for b in done.built)}",
          file=sys.stderr, flush=True)
    return f"{warning.rstrip('.')}. Saved what was done to {args.output}." if warning else ""
