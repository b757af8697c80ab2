"""Everyone in the shot: one rig and body per person of a multi-person run, in one world and camera.

A multi-person run writes a clip index and one results file per person (the backend's
people_file.py). Importing it builds each chosen person as an ordinary take named "CLIP person N"
(rig, body, uncertainty colours, ghosts, review queue and exports all work per rig as for one
person), gives each body its own colour, and places everyone in one world seen by one camera, so
they stand where they stood relative to each other. The backend writes the same world_from_camera
on the same frame in every person's file (the camera solved once for the clip, the floor from
everyone's feet): each rig takes its own first frame's camera pose from there, and the clip's one
camera is keyed over every imported person's frames. Files from before that shared world take
the first person's world transform.

The scene keeps the index (`CAST`, JSON) with the file behind each person. Merging two people
(the tracker split one person in two) or splitting one at a frame (it joined two) writes new
results files beside the old ones (never overwriting them) and rebuilds the rigs concerned; as the
index lives on the scene, Blender's undo restores the people list and the rigs together.
"""
from __future__ import annotations

import colorsys
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import bridge, camera as camera_module, compat, importer, keyframes, motion, results, rig as rig_module, \
    rotations, world
from .names import CAST, CLIP, PERSON, SPAN, TAKE

GOLDEN = 0.618033988749895  # hue step between people: neighbours never look alike


class CastFailed(RuntimeError):
    """The people cannot be imported, merged or split; the message says why and what to do."""


def person_color(number: int) -> tuple[float, float, float, float]:
    """A distinct, muted colour per person number (1, 2, ...)."""
    r, g, b = colorsys.hsv_to_rgb((0.58 + GOLDEN * (number - 1)) % 1.0, 0.55, 0.85)  # person 1 blue, never skin
    return (r, g, b, 1.0)


def stored(scene: bpy.types.Scene) -> dict[str, Any]:
    """The clip index of the people in this scene ({} when none was imported)."""
    try:
        return json.loads(scene.get(CAST, "") or "{}")
    except json.JSONDecodeError:
        return {}


def _store(scene: bpy.types.Scene, index: dict[str, Any]) -> None:
    scene[CAST] = json.dumps(index)


def rigs(scene: bpy.types.Scene) -> dict[int, bpy.types.Object]:
    """The imported people's rigs by person number."""
    return {int(r[PERSON]): r for r in rig_module.find_rigs(scene) if PERSON in r}


@dataclass
class CastImport:
    built: list[importer.ImportSummary]
    skipped: list[str]  # people in the index that could not be built, with the reason


def _paint(rig: bpy.types.Object, number: int) -> None:
    """The person's colour on their body (its own material) and on the rig object."""
    color = person_color(number)
    rig.color = color
    for child in rig.children:
        if child.type != "MESH":
            continue
        child.color = color
        base = child.data.materials[0] if child.data.materials else None
        material = base.copy() if base is not None else bpy.data.materials.new("ProPose person")
        material.name = f"ProPose person {number}"
        material.diffuse_color = color
        shader = compat.principled_bsdf(material)
        if shader is not None and "Base Color" in shader.inputs:
            shader.inputs["Base Color"].default_value = color
        if child.data.materials:
            child.data.materials[0] = material
        else:
            child.data.materials.append(material)


def _shared(scene: bpy.types.Scene, clip: str):
    """(camera, world) of the people already in the scene from this clip, or None for the first one."""
    for number, rig in sorted(rigs(scene).items()):
        camera = next((o for o in scene.objects if o.type == "CAMERA" and o.get(CLIP) == clip), None)
        if camera is not None and str(rig.get(CLIP, "")).startswith(clip + " person"):
            return camera, motion.world_of(rig)
    return None


def _build(context: bpy.types.Context, clip: str, person: dict[str, Any], footage: Path | None) -> importer.ImportSummary:
    path = Path(person["path"])
    try:
        data = results.read(path)
    except bridge.schema().ResultsError as exc:
        raise importer.ImportFailed(str(exc)) from exc
    scene = context.scene
    number = int(person["number"])
    old = rigs(scene).get(number)
    if old is not None:
        importer.remove_take(old)
    shared = _shared(scene, clip)
    if shared is not None and "world_from_camera" in data:  # one world in every file: this person's own place in it
        shared = (shared[0], world.clip_world(data)[:2])
    rig = importer.import_data(context, data, f"{clip} person {number}", footage, source=path, shared=shared)
    if shared is None:  # the first person's camera becomes the clip's, outliving any one person
        scene.camera[CLIP], scene.camera[TAKE] = clip, 0
        scene.camera.name = f"{clip} camera"
    elif world.camera_path(data) is not None:
        _extend_camera(shared[0], results.scene_frames(data), world.camera_path(data))
    rig[PERSON] = number
    _paint(rig, number)
    valid = np.asarray(data["valid"], bool)
    frames = results.scene_frames(data)
    span = [int(frames.min()), int(frames.max())]
    for other in rigs(scene).values():  # the scene spans everyone imported
        if other is not rig and SPAN in other:
            span = [min(span[0], other[SPAN][0]), max(span[1], other[SPAN][1])]
    rig[SPAN] = [int(frames.min()), int(frames.max())]
    scene.frame_start, scene.frame_end = span
    return importer.ImportSummary(rig, len(valid), int(valid.sum()), int(frames[valid][0]))


def _extend_camera(camera: bpy.types.Object, frames: np.ndarray, world_from_camera: np.ndarray) -> None:
    """Key the clip's camera also on this person's frames that it has no key on yet (the paths
    agree on shared frames: every person's file carries the clip's one camera path)."""
    bag = keyframes.channelbag(camera)
    curves = [bag.fcurves.find(path, index=i) for path, n in (("location", 3), ("rotation_quaternion", 4))
              for i in range(n)]
    matrices = camera_module.object_matrices(world_from_camera)
    frames = np.asarray(frames, np.float64)
    values = np.c_[matrices[:, :3, 3], rotations.quaternions(matrices[:, :3, :3])]
    if all(c is not None for c in curves):
        keyed = keyframes.key_values(curves[0])[0]
        old = np.stack([keyframes.key_values(c)[1] for c in curves], axis=1)
        new = ~np.isin(frames, keyed)
        frames, values = np.r_[keyed, frames[new]], np.r_[old, values[new]]
        order = np.argsort(frames, kind="stable")
        frames, values = frames[order], values[order]
    camera.rotation_mode = "QUATERNION"
    keyframes.write_vector(bag, "location", frames, values[:, :3], group="Object Transforms")
    keyframes.write_vector(bag, "rotation_quaternion", frames, rotations.continuous(values[:, 3:], axis=0),
                           group="Object Transforms")


def import_people(context: bpy.types.Context, index_path: str | Path, wanted: str | list[int] | None = "all",
                  footage: Path | None = None) -> CastImport:
    """Build the chosen people ("all", "1,3" or [1, 3]) of a clip index; raises CastFailed."""
    module = bridge.people_file()
    try:
        index = module.read_index(index_path)
        chosen = module.pick(index, wanted)
    except (module.PeopleFileError, ValueError) as exc:
        raise CastFailed(str(exc)) from exc
    source = Path(index["source"]) if index.get("source") else None
    footage = footage or (source if source is not None and source.is_file() else None)
    clip = importer.clip_name(None, footage) if footage is not None else Path(index_path).name.split(".")[0]
    index.update(clip=clip, footage=str(footage) if footage else "", index_path=str(index_path))
    _store(context.scene, index)
    built, skipped = [], []
    for person in chosen:
        try:
            built.append(_build(context, clip, person, footage))
        except importer.ImportFailed as exc:
            skipped.append(f"person {person['number']}: {exc}")
    if not built:
        raise CastFailed("No person could be imported: " + "; ".join(skipped))
    return CastImport(built, skipped)


def _person(index: dict[str, Any], number: int) -> dict[str, Any]:
    for person in index.get("people", []):
        if int(person["number"]) == number:
            return person
    raise CastFailed(f"Person {number} is not in this clip; it has "
                     f"{', '.join(str(p['number']) for p in index.get('people', [])) or 'nobody'}.")


def _next_edit(index: dict[str, Any]) -> int:
    return 1 + max((int(p.get("edit", 0)) for p in index["people"]), default=0)


def _new_file(index: dict[str, Any], number: int, data: dict[str, Any], edit: int) -> dict[str, Any]:
    """Write a person's new results beside the index (a fresh name: earlier files stay for undo)."""
    folder = Path(index["index_path"]).parent
    stem = Path(index["index_path"]).name.removesuffix(bridge.people_file().INDEX_SUFFIX)
    path = folder / f"{stem}.person-{number}.edit-{edit}.npz"
    data["person"] = np.int64(number)
    bridge.schema().write_results(path, data)
    entry = bridge.people_file().describe_person(number, data, path.name)
    entry.update(path=str(path), edit=edit)
    return entry


def _replace(index: dict[str, Any], entries: list[dict[str, Any]], dropped: list[int]) -> None:
    numbers = {e["number"] for e in entries} | set(dropped)
    index["people"] = sorted([p for p in index["people"] if int(p["number"]) not in numbers] + entries,
                             key=lambda p: int(p["number"]))


def merge(context: bpy.types.Context, keep: int, other: int) -> bpy.types.Object:
    """Person `other` is the same person as `keep`: one track (and one rig) from both."""
    if keep == other:
        raise CastFailed("Choose two different people to merge.")
    scene = context.scene
    index = stored(scene)
    a, b = _person(index, keep), _person(index, other)
    try:
        merged = bridge.people_file().merge_people(results.read(a["path"]), results.read(b["path"]), bridge.schema())
    except bridge.schema().ResultsError as exc:
        raise CastFailed(str(exc)) from exc
    entry = _new_file(index, keep, merged, _next_edit(index))
    _replace(index, [entry], [other])
    _store(scene, index)
    gone = rigs(scene).get(other)
    if gone is not None:
        importer.remove_take(gone)
    return _rebuild(context, index, entry)


def split(context: bpy.types.Context, number: int, scene_frame: int) -> tuple[bpy.types.Object, bpy.types.Object]:
    """Person `number` is two people: frames before `scene_frame` stay theirs, the rest becomes a new person."""
    scene = context.scene
    index = stored(scene)
    person = _person(index, number)
    module = bridge.people_file()
    try:
        before, after = module.split_person(results.read(person["path"]),
                                            scene_frame - results.FIRST_SCENE_FRAME, bridge.schema())
    except (module.PeopleFileError, bridge.schema().ResultsError) as exc:
        raise CastFailed(str(exc)) from exc
    newcomer = 1 + max(int(p["number"]) for p in index["people"])
    edit = _next_edit(index)
    first, second = _new_file(index, number, before, edit), _new_file(index, newcomer, after, edit)
    _replace(index, [first, second], [])
    _store(scene, index)
    return _rebuild(context, index, first), _rebuild(context, index, second)


def _rebuild(context: bpy.types.Context, index: dict[str, Any], entry: dict[str, Any]) -> bpy.types.Object:
    footage = Path(index["footage"]) if index.get("footage") else None
    try:
        return _build(context, index["clip"], entry, footage).rig
    except importer.ImportFailed as exc:
        raise CastFailed(str(exc)) from exc
