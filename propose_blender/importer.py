"""Results file -> scene: the rig, its body, its keys, uncertainty curves, samples and camera.

This is the one place that turns the backend's arrays into Blender data; the run operator, the
"Import results" operator and the headless batch all end here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import bridge, camera, fingers, ghosts, motion, results, review, rig as rig_module, uncertainty, world
from .names import CLIP, META, PHENOTYPE, RESULTS_PATH, STILL_CAMERA, TAKE  # noqa: F401 (callers read module.NAME too)


# what the run operator appends to results file names: -YYYYMMDD-HHMMSS
_STAMP = re.compile(r"[-_ ]?\d{8}[-_]?\d{6}$")
_SAMPLE_ROWS_PER_STEP = 512  # bounds the memory of converting (T, S, 24) sample rotations


class ImportFailed(RuntimeError):
    """The results cannot become a rig; the message says why and what to do."""


def footage_from_meta(data: dict[str, Any]) -> Path | None:
    """The source image or video named in the results' metadata, if it is still there."""
    source = data.get("meta", {}).get("source")
    path = Path(source) if isinstance(source, str) and source else None
    return path if path is not None and path.is_file() else None


def clip_name(path: Path | None, footage: Path | None) -> str:
    """The take's name: the footage's file name, else the results' without suffixes and time stamps."""
    if footage is not None:
        return footage.stem
    stem = path.name if path is not None else "ProPose"
    for suffix in (".npz", ".propose"):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    return _STAMP.sub("", stem) or "ProPose"


@dataclass
class ImportSummary:
    """What an import built, so callers need not re-derive it from the rig."""

    rig: bpy.types.Object
    frames: int  # results rows (source frames estimated)
    valid_frames: int  # of those, the frames with a person
    first_valid_frame: int  # scene frame of the first frame with a person
    warnings: list[str] = field(default_factory=list)


def import_results(context: bpy.types.Context, path: str | Path, footage: Path | None = None,
                   replace: bool = True, still_camera: bool | None = None) -> ImportSummary:
    """Build everything for one results file (or a run's finished chunks); say what was built.

    replace: a re-run on the same clip replaces that clip's latest take; False adds "NAME take N".
    still_camera: place the clip as a tripod shot even if the backend solved a moving camera
    (None: the scene's "Still camera" switch, off when the add-on is not registered).
    """
    path = Path(path)
    try:
        data = results.read(path)
    except bridge.schema().ResultsError as exc:
        raise ImportFailed(str(exc)) from exc
    warnings = []
    if footage is not None and not Path(footage).is_file():
        warnings.append(f"The footage {footage} is not there; the camera shows no background.")
    footage = footage or footage_from_meta(data)
    if still_camera is None:
        settings = getattr(context.scene, "propose", None)
        still_camera = bool(getattr(settings, "still_camera", False))
    rig = import_data(context, data, clip_name(path, footage), footage, source=path, replace=replace,
                      still_camera=still_camera)
    valid = np.asarray(data["valid"], dtype=bool)
    first = int(results.scene_frames(data)[valid][0])  # import_data refuses files without a valid frame
    return ImportSummary(rig, len(valid), int(valid.sum()), first, warnings)


def _takes(scene: bpy.types.Scene, clip: str) -> list[bpy.types.Object]:
    return sorted((r for r in rig_module.find_rigs(scene) if r.get(CLIP) == clip), key=lambda r: r.get(TAKE, 1))


def remove_take(rig: bpy.types.Object) -> None:
    """Delete a take: its ghosts, rig, body, camera, their data, action and collection."""
    ghosts.hide(rig)
    owned = [o for o in bpy.data.objects if o is rig or o.parent is rig
             or (o.type == "CAMERA" and o.get(CLIP) == rig.get(CLIP) and o.get(TAKE) == rig.get(TAKE))]
    collections = {c for o in owned for c in o.users_collection if c.name.startswith("ProPose ")}
    for obj in owned:
        data = obj.data
        action = obj.animation_data.action if obj.animation_data else None
        bpy.data.objects.remove(obj)
        for block, store in ((data, None), (action, bpy.data.actions)):
            if block is not None and block.users == 0:
                (store or _store_of(block)).remove(block)
    for collection in collections:
        if not collection.all_objects:
            bpy.data.collections.remove(collection)


def _store_of(block: bpy.types.ID):
    return {bpy.types.Mesh: bpy.data.meshes, bpy.types.Armature: bpy.data.armatures,
            bpy.types.Camera: bpy.data.cameras}[type(block)]


def import_data(context: bpy.types.Context, data: dict[str, Any], name: str, footage: Path | None,
                source: Path | None = None, replace: bool = True, still_camera: bool = False,
                shared: tuple[bpy.types.Object, tuple[np.ndarray, np.ndarray]] | None = None) -> bpy.types.Object:
    """Build the rig, body, keys, uncertainty curves, samples and camera from results arrays.

    name: the clip's name; objects are "NAME" (rig), "NAME body", "NAME camera", the action
    "NAME motion". An existing take of that clip is replaced (replace=True) or kept, the new one
    then being "NAME take N". A solved moving camera (schema 3) is keyed along its path unless
    `still_camera`; a solve that found no motion gives a still camera by itself.
    `shared`: (camera, world rotation and translation) of another person
    of the same clip, so that everyone stands in one world seen by one camera (cast.py).
    """
    valid = np.asarray(data["valid"], dtype=bool)
    if not valid.any():
        raise ImportFailed(f"No frame of '{name}' has a person in it, so there is nothing to animate. "
                           "Check that the person is fully visible, or give the backend a bounding box.")
    scene = context.scene
    clip, takes = name, _takes(context.scene, name)
    take = takes[-1].get(TAKE, 1) if takes and replace else (takes[-1].get(TAKE, 1) + 1 if takes else 1)
    if takes and replace:
        remove_take(takes[-1])
    name = clip if take == 1 else f"{clip} take {take}"
    collection = bpy.data.collections.new(f"ProPose {name}")
    scene.collection.children.link(collection)

    offset = rig_module.rest_offset(data["rest_joints"], data["rest_vertices"])
    rest = fingers.rest_joints(data["rest_joints"], data.get("hand_rest_joints"))
    rig = rig_module.build_armature(context, name, rest, collection, offset)
    rig[CLIP], rig[TAKE] = clip, int(take)
    if "phenotype" in data:
        rig[PHENOTYPE] = [float(v) for v in np.asarray(data["phenotype"]).ravel()]
    rotation, translation = shared[1] if shared is not None else world.clip_world(data)[:2]
    motion.set_world(rig, rotation, translation)
    path = world.camera_path(data, still_camera)
    rig[STILL_CAMERA] = int(path is None)
    data = world.in_reference(data, still_camera)
    rig_module.build_body(name, rig, data["rest_vertices"], data["faces"], fingers.skin_weights(data), collection,
                          offset)
    frames = results.scene_frames(data)
    motion.write_motion(rig, frames[valid], fingers.rotations(data)[valid], data["transl"][valid])
    uncertainty.write_curves(rig, frames, valid, fingers.uncertainty(data))
    _store_samples(rig, frames[valid], fingers.samples(data)[valid], data["sample_log_density"][valid],
                   bridge.schema().is_coherent(data))
    rig[RESULTS_PATH] = str(source) if source is not None else ""
    rig[META] = json.dumps(data.get("meta", {}))

    image_size = tuple(int(v) for v in np.asarray(data["image_size"]))
    if shared is None:
        focal, principal = results.clip_camera(data)
        scene.camera = camera.build_camera(name, focal, principal, image_size, footage, collection,
                                           world=(rotation, translation), mirrored=results.is_mirrored(data))
        if path is not None:
            camera.key_path(scene.camera, frames, path)
        scene.camera[CLIP], scene.camera[TAKE] = clip, int(take)
        camera.match_render_size(scene, image_size)
    else:
        scene.camera = shared[0]
    _follow_clip(scene, float(data["fps"]), frames)
    scene.frame_set(int(np.clip(scene.frame_current, scene.frame_start, scene.frame_end)))
    uncertainty.refresh(scene)  # handlers are not registered when running headless
    _build_review(scene, rig)
    return rig


def _build_review(scene: bpy.types.Scene, rig: bpy.types.Object) -> None:
    """Precompute the review queue now, so no later click or redraw reads the whole clip."""
    review.build(rig)
    settings = getattr(scene, "propose_review", None)  # absent when the add-on is not registered
    if settings is not None and settings.show_markers:
        review.update_markers(scene, rig, review.queue(rig, settings.threshold))


def _store_samples(rig: bpy.types.Object, frames: np.ndarray, samples: np.ndarray, log_density: np.ndarray,
                   motions: bool) -> None:
    if samples.shape[1] == 0:
        return
    quats = np.empty(samples.shape[:3] + (4,), dtype=np.float32)
    for start in range(0, len(samples), _SAMPLE_ROWS_PER_STEP):
        rows = slice(start, start + _SAMPLE_ROWS_PER_STEP)
        quats[rows] = motion.bone_quaternions(rig, samples[rows])
    ghosts.store_samples(rig, frames, quats, log_density, motions)


def _follow_clip(scene: bpy.types.Scene, fps: float, frames: np.ndarray) -> None:
    """Scene frame rate and range from the clip (NTSC rates become fps / fps_base, e.g. 30 / 1.001)."""
    if fps > 0:
        whole = max(1, round(fps))
        scene.render.fps, scene.render.fps_base = whole, whole / fps
    scene.frame_start, scene.frame_end = int(frames.min()), int(frames.max())
