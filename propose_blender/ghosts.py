"""Ghost poses: the posterior's samples at the current frame, shown as translucent bodies.

The samples are stored on the rig at import (as pose-bone quaternions, densest first), so ghosts
work from the saved .blend alone. Each ghost is an armature sharing one wire-display copy of the
rig's bones, with a body object sharing the rig's mesh, so a ghost costs two objects and no
geometry copies. Ghosts are tagged with their rig and sample index; applying one writes that
sample into the rig's keys on this frame.
"""
from __future__ import annotations

import bpy
import numpy as np
from bpy.app.handlers import persistent

from . import keyframes, motion, rig as rig_module

SAMPLES = "propose_samples"  # (N * S * 24 * 4,) float32 pose-bone quaternions
SAMPLE_FRAMES = "propose_sample_frames"  # (N,) scene frames that have samples
SAMPLE_DENSITY = "propose_sample_log_density"  # (N * S,) float32
SAMPLE_COUNT = "propose_sample_count"  # S
GHOST_OF = "propose_ghost_of"  # on ghost objects: the rig
GHOST_INDEX = "propose_ghost_index"  # on ghost objects: sample index, 0 = densest
GHOST_COLOR = (0.55, 0.75, 1.0, 0.3)  # translucent light blue, in material and object colour


def store_samples(rig: bpy.types.Object, frames: np.ndarray, quats: np.ndarray, log_density: np.ndarray) -> None:
    """Keep the samples (N, S, 24, 4) of the frames `frames` (N,) on the rig."""
    rig[SAMPLE_FRAMES] = np.asarray(frames, dtype=np.int32)
    rig[SAMPLE_COUNT] = int(quats.shape[1])
    rig[SAMPLES] = np.ascontiguousarray(quats, dtype=np.float32).ravel()
    rig[SAMPLE_DENSITY] = np.ascontiguousarray(log_density, dtype=np.float32).ravel()


def sample_count(rig: bpy.types.Object) -> int:
    return int(rig.get(SAMPLE_COUNT, 0))


def samples_at(rig: bpy.types.Object, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(quaternions (S, 24, 4), log densities (S,)) on `frame`, or None if the frame has none."""
    count = sample_count(rig)
    if not count or SAMPLE_FRAMES not in rig:
        return None
    rows = np.flatnonzero(np.asarray(rig[SAMPLE_FRAMES]) == int(frame))
    if not len(rows):
        return None
    row, stride = int(rows[0]), count * 24 * 4
    quats = np.asarray(rig[SAMPLES][row * stride:(row + 1) * stride], dtype=np.float64).reshape(count, 24, 4)
    density = np.asarray(rig[SAMPLE_DENSITY][row * count:(row + 1) * count], dtype=np.float64)
    return quats, density


def ghosts_of(rig: bpy.types.Object) -> list[bpy.types.Object]:
    """The rig's ghost armatures, densest sample first."""
    found = [o for o in bpy.data.objects if o.type == "ARMATURE" and o.get(GHOST_OF) == rig]
    return sorted(found, key=lambda o: int(o[GHOST_INDEX]))


def ghost_index(obj: bpy.types.Object | None) -> int | None:
    """The sample index of a ghost armature or ghost body; None for anything else."""
    return int(obj[GHOST_INDEX]) if obj is not None and GHOST_INDEX in obj else None


def _body_of(rig: bpy.types.Object) -> bpy.types.Object | None:
    return next((c for c in rig.children if c.type == "MESH" and GHOST_OF not in c), None)


def _ghost_material() -> bpy.types.Material:
    material = bpy.data.materials.get("ProPose ghost")
    if material is None:
        material = bpy.data.materials.new("ProPose ghost")
        material.diffuse_color = GHOST_COLOR  # solid viewport, "Material" colouring
        material.surface_render_method = "BLENDED"
        shader = material.node_tree.nodes.get("Principled BSDF")
        if shader is not None:  # EEVEE / Cycles
            shader.inputs["Base Color"].default_value = (*GHOST_COLOR[:3], 1.0)
            shader.inputs["Alpha"].default_value = GHOST_COLOR[3]
    return material


def _collection(rig: bpy.types.Object) -> bpy.types.Collection:
    name = f"{rig.name} ghosts"
    collection = bpy.data.collections.get(name)
    if collection is None:
        collection = bpy.data.collections.new(name)
        (rig.users_collection[0] if rig.users_collection else bpy.context.scene.collection).children.link(collection)
    return collection


def show(rig: bpy.types.Object, frame: int, spacing: float) -> list[bpy.types.Object]:
    """Create one ghost per sample (replacing any old ones) and pose them for `frame`.

    spacing: metres between neighbouring ghosts along the world x axis (0 puts them over the rig).
    """
    count = sample_count(rig)
    if not count:
        raise ValueError(f"{rig.name} has no posterior samples. Re-run the estimate with samples > 0.")
    hide(rig)
    collection = _collection(rig)
    bones = rig.data.copy()
    bones.name = f"{rig.name} ghost bones"
    bones.display_type = "WIRE"
    bones.show_bone_colors = False
    body = _body_of(rig)
    material = _ghost_material()
    made = []
    for index in range(count):
        ghost = bpy.data.objects.new(f"{rig.name} ghost {index + 1}", bones)
        ghost[GHOST_OF], ghost[GHOST_INDEX] = rig, index
        ghost.location = (spacing * (index + 1), 0.0, 0.0)
        ghost.hide_render = True
        collection.objects.link(ghost)
        if body is not None:
            shell = bpy.data.objects.new(f"{rig.name} ghost {index + 1} body", body.data)
            shell[GHOST_OF], shell[GHOST_INDEX] = rig, index
            shell.parent = ghost
            shell.color = GHOST_COLOR  # solid viewport, "Object" colouring
            shell.hide_render = True
            shell.modifiers.new("Armature", "ARMATURE").object = ghost
            collection.objects.link(shell)
            shell.material_slots[0].link = "OBJECT"
            shell.material_slots[0].material = material
        made.append(ghost)
    bpy.context.view_layer.update()  # builds the new objects' poses
    for ghost in made:
        for pose_bone in ghost.pose.bones:
            pose_bone.rotation_mode = "QUATERNION"
    pose(rig, frame)
    return made


def pose(rig: bpy.types.Object, frame: int) -> None:
    """Pose the rig's ghosts with the samples of `frame`; hide them where the frame has none."""
    ghosts = ghosts_of(rig)
    if not ghosts:
        return
    found = samples_at(rig, frame)
    names = rig_module.joint_names()
    bag = keyframes.find_channelbag(rig)
    root_path = f'pose.bones["{names[0]}"].location'
    curves = [bag.fcurves.find(root_path, index=i) for i in range(3)] if bag else []
    root = [c.evaluate(frame) if c is not None else 0.0 for c in curves] or [0.0, 0.0, 0.0]
    for ghost in ghosts:
        hidden = found is None
        for obj in (ghost, *ghost.children):
            obj.hide_viewport = hidden
        if hidden:
            continue
        quats = found[0][int(ghost[GHOST_INDEX])]
        for j, name in enumerate(names):
            ghost.pose.bones[name].rotation_quaternion = quats[j]
        ghost.pose.bones[names[0]].location = root
        if rig_module.ROOT_BONE in ghost.pose.bones and rig_module.ROOT_BONE in rig.pose.bones:
            ghost.pose.bones[rig_module.ROOT_BONE].location = rig.pose.bones[rig_module.ROOT_BONE].location


def hide(rig: bpy.types.Object) -> None:
    """Delete the rig's ghosts, their bones copy and their collection."""
    for ghost in ghosts_of(rig):
        bones = ghost.data
        for child in list(ghost.children):
            bpy.data.objects.remove(child)
        bpy.data.objects.remove(ghost)
        if bones.users == 0:
            bpy.data.armatures.remove(bones)
    collection = bpy.data.collections.get(f"{rig.name} ghosts")
    if collection is not None and not collection.all_objects:
        bpy.data.collections.remove(collection)


def apply(rig: bpy.types.Object, index: int, frame: int) -> None:
    """Make sample `index` of `frame` the rig's pose there: its rotation keys on that frame change."""
    found = samples_at(rig, frame)
    if found is None:
        raise ValueError(f"Frame {frame} has no posterior samples (no person was found there).")
    if not 0 <= index < len(found[0]):
        raise ValueError(f"Sample {index + 1} does not exist; frame {frame} has {len(found[0])}.")
    motion.set_pose_keys(rig, frame, found[0][index])


def refresh(scene: bpy.types.Scene) -> None:
    """Pose every rig's ghosts for the scene's current frame."""
    for rig in rig_module.find_rigs(scene):
        pose(rig, scene.frame_current)


@persistent
def on_frame_change(scene: bpy.types.Scene, *_args) -> None:
    """Ghosts follow the frame unless the animator turned that off in the panel."""
    settings = getattr(scene, "propose", None)
    if settings is None or settings.ghosts_follow_frame:
        refresh(scene)
