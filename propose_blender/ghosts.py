"""Ghost poses: the posterior's samples at the current frame, shown as translucent bodies.

The samples are stored on the rig at import (as pose-bone quaternions, in rank order), so ghosts
work from the saved .blend alone. The rank means what the results file means by it
(docs/results-schema.md): per-frame results rank every frame's samples on their own (ghost 1 is the
densest pose on this frame); a smoothed clip's ghosts are whole motions, ranked by their log density
summed over the clip (ghost 1 is the densest motion, whatever its rank on one frame), and say so
on their labels ("motion #1"). Each ghost is an armature sharing one wire-display copy of the
rig's bones, with a body object sharing the rig's mesh, so a ghost costs two objects and no
geometry copies. Ghosts are tagged with their rig and sample index; applying one writes that
sample into the rig's keys on this frame.

Part of a ghost can be applied as well: the chosen bones and everything below them (an arm, a leg)
take the sample's local rotations, on one frame or over a frame range. Over a range the swap fades
in and out over a few frames with a smoothstep weight (slerp between the current key and the
sample), so the motion has no pop where the range ends. Each ghost carries a text label: its rank
and its log density on this frame relative to the mode (0 = as likely as the mode), in the viewport
and in renders.
"""
from __future__ import annotations

import math

import bpy
import numpy as np
from bpy.app.handlers import persistent

from . import compat, keyframes, motion, rig as rig_module, rotations
from .names import (GHOST_INDEX, GHOST_OF, OUTER_SURFACE, SAMPLES, SAMPLE_COUNT, SAMPLE_DENSITY,  # noqa: F401
                    SAMPLE_FRAMES, SAMPLE_MOTION_DENSITY)  # (callers read module.NAME too)
from .outer_surface import outer_surface


GHOST_COLOR = (0.55, 0.75, 1.0, 0.3)  # translucent light blue, in material and object colour
LABEL_COLOR = (0.05, 0.12, 0.3, 1.0)  # dark blue text, readable on the light viewport and render
LABEL_SIZE = 0.075  # metres
LABEL_LIFT = 0.22  # metres above the ghost's head


def store_samples(rig: bpy.types.Object, frames: np.ndarray, quats: np.ndarray, log_density: np.ndarray,
                  motions: bool) -> None:
    """Keep the samples (N, S, J, 4) of the frames `frames` (N,) on the rig (J = 24, or 54 with fingers),
    in rank order.

    motions: the samples are whole motions (a smoothed clip), ranked by their log density summed
    over the stored frames; otherwise each frame's samples are ranked on their own, densest first.
    The files come in that order already; a re-solve that replaced some frames' samples is
    re-ranked here, so a ghost's index is always its rank.
    """
    quats, log_density = np.asarray(quats), np.asarray(log_density, dtype=np.float64)
    if motions:
        motion = log_density.sum(axis=0)
        order = np.argsort(-motion, kind="stable")
        quats, log_density = quats[:, order], log_density[:, order]
        rig[SAMPLE_MOTION_DENSITY] = np.ascontiguousarray(motion[order], dtype=np.float32)
    else:
        order = np.argsort(-log_density, axis=1, kind="stable")
        quats = np.take_along_axis(quats, order[:, :, None, None], axis=1)
        log_density = np.take_along_axis(log_density, order, axis=1)
        if SAMPLE_MOTION_DENSITY in rig:
            del rig[SAMPLE_MOTION_DENSITY]
    rig[SAMPLE_FRAMES] = np.asarray(frames, dtype=np.int32)
    rig[SAMPLE_COUNT] = int(quats.shape[1])
    rig[SAMPLES] = np.ascontiguousarray(quats, dtype=np.float32).ravel()
    rig[SAMPLE_DENSITY] = np.ascontiguousarray(log_density, dtype=np.float32).ravel()


def sample_count(rig: bpy.types.Object) -> int:
    return int(rig.get(SAMPLE_COUNT, 0))


def are_motions(rig: bpy.types.Object) -> bool:
    """Whether the rig's ghosts are whole motions (a smoothed clip), ranked over the clip."""
    return SAMPLE_MOTION_DENSITY in rig


def sample_joints(rig: bpy.types.Object) -> int:
    """Joints per stored sample: 24 (rigs from before fingers) or 54."""
    count, frames = sample_count(rig), len(rig.get(SAMPLE_FRAMES, ()))
    return len(rig[SAMPLES]) // (count * frames * 4) if count and frames else 24


def samples_at(rig: bpy.types.Object, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(quaternions (S, J, 4), log densities (S,)) on `frame`, or None if the frame has none."""
    count = sample_count(rig)
    if not count or SAMPLE_FRAMES not in rig:
        return None
    rows = np.flatnonzero(np.asarray(rig[SAMPLE_FRAMES]) == int(frame))
    if not len(rows):
        return None
    joints = sample_joints(rig)
    row, stride = int(rows[0]), count * joints * 4
    quats = np.asarray(rig[SAMPLES][row * stride:(row + 1) * stride], dtype=np.float64).reshape(count, joints, 4)
    density = np.asarray(rig[SAMPLE_DENSITY][row * count:(row + 1) * count], dtype=np.float64)
    return quats, density


def ghosts_of(rig: bpy.types.Object) -> list[bpy.types.Object]:
    """The rig's ghost armatures, in rank order."""
    found = [o for o in bpy.data.objects if o.type == "ARMATURE" and o.get(GHOST_OF) == rig]
    return sorted(found, key=lambda o: int(o[GHOST_INDEX]))


def ghost_index(obj: bpy.types.Object | None) -> int | None:
    """The sample index of a ghost armature or ghost body; None for anything else."""
    return int(obj[GHOST_INDEX]) if obj is not None and GHOST_INDEX in obj else None


def _body_of(rig: bpy.types.Object) -> bpy.types.Object | None:
    return next((c for c in rig.children if c.type == "MESH" and GHOST_OF not in c), None)


def shell_of(ghost: bpy.types.Object) -> bpy.types.Object | None:
    """The translucent body of a ghost armature (what one sees and clicks)."""
    return next((c for c in ghost.children if c.type == "MESH"), None)


def label_of(ghost: bpy.types.Object) -> bpy.types.Object | None:
    return next((c for c in ghost.children if c.type == "FONT"), None)


def label_text(rank: int, log_density: float, motion: bool = False) -> str:
    """'#2' (or 'motion #2' for whole motions) over 'Δlog p −3.4': the rank (1 = densest on this
    frame, or densest motion over the clip), then the log density on this frame relative to the mode."""
    value = f"{log_density:.1f}".replace("-", "−")
    return f"{'motion ' if motion else ''}#{rank}\nΔlog p {value}"


def _label_material() -> bpy.types.Material:
    material = bpy.data.materials.get("ProPose ghost label") or bpy.data.materials.new("ProPose ghost label")
    material.diffuse_color = LABEL_COLOR
    return material


def _facing_camera() -> tuple[float, float, float]:
    """Euler rotation that stands a text upright, facing the scene camera (seen along its level view)."""
    camera = bpy.context.scene.camera
    if camera is None:
        return (math.pi / 2, 0.0, 0.0)  # faces -y, the default camera's side
    forward = camera.matrix_world.to_3x3().col[2] * -1.0
    return (math.pi / 2, 0.0, math.atan2(-forward.x, forward.y) if forward.xy.length > 1e-6 else 0.0)


def _add_label(ghost: bpy.types.Object, rig: bpy.types.Object, index: int,
               collection: bpy.types.Collection) -> bpy.types.Object:
    """A text object that rides above the ghost's head (Copy Location of its head bone)."""
    curve = bpy.data.curves.new(f"{ghost.name} label", "FONT")
    curve.size, curve.align_x, curve.align_y, curve.offset_y = LABEL_SIZE, "CENTER", "BOTTOM", LABEL_LIFT
    curve.materials.append(_label_material())
    label = bpy.data.objects.new(f"{ghost.name} label", curve)
    label[GHOST_OF], label[GHOST_INDEX] = rig, index
    label.parent = ghost
    label.rotation_euler = _facing_camera()
    label.hide_render = True
    follow = label.constraints.new("COPY_LOCATION")
    follow.target, follow.subtarget, follow.head_tail = ghost, "head", 1.0
    collection.objects.link(label)
    return label


def _ghost_material() -> bpy.types.Material:
    material = bpy.data.materials.get("ProPose ghost")
    if material is None:
        material = bpy.data.materials.new("ProPose ghost")
        material.diffuse_color = GHOST_COLOR  # solid viewport, "Material" colouring
        material.surface_render_method = "BLENDED"
        shader = compat.principled_bsdf(material)
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
    surface = outer_surface(body) if body is not None else None
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
            if surface is not None:  # the skin only: nothing inside the head shows through
                mask = shell.modifiers.new("Skin only", "MASK")
                mask.vertex_group = surface
            collection.objects.link(shell)
            shell.material_slots[0].link = "OBJECT"
            shell.material_slots[0].material = material
        if "head" in bones.bones:
            _add_label(ghost, rig, index, collection)
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
    names = rig_module.all_joint_names(rig)[:sample_joints(rig)]
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
        index = int(ghost[GHOST_INDEX])
        quats = found[0][index]
        label = label_of(ghost)
        if label is not None:
            label.data.body = label_text(index + 1, float(found[1][index]), are_motions(rig))
        for j, name in enumerate(names):
            if name in ghost.pose.bones:
                ghost.pose.bones[name].rotation_quaternion = quats[j]
        ghost.pose.bones[names[0]].location = root
        if rig_module.ROOT_BONE in ghost.pose.bones and rig_module.ROOT_BONE in rig.pose.bones:
            ghost.pose.bones[rig_module.ROOT_BONE].location = rig.pose.bones[rig_module.ROOT_BONE].location


def hide(rig: bpy.types.Object) -> None:
    """Delete the rig's ghosts, their bones copy and their collection."""
    for ghost in ghosts_of(rig):
        bones = ghost.data
        for child in list(ghost.children):
            text = child.data if child.type == "FONT" else None
            bpy.data.objects.remove(child)
            if text is not None and text.users == 0:
                bpy.data.curves.remove(text)
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


def chain_joints(rig: bpy.types.Object, bones: list[str]) -> list[int]:
    """Joint indices of `bones` and of every bone below them (parents come before children)."""
    names = rig_module.all_joint_names(rig)
    parents = rig_module.all_joint_parents()[:len(names)]
    chosen = [False] * len(names)
    for j, name in enumerate(names):
        chosen[j] = name in bones or (parents[j] >= 0 and chosen[parents[j]])
    return [j for j, c in enumerate(chosen) if c]


def ease_weights(frames: np.ndarray, first: int, last: int, ease: int) -> np.ndarray:
    """How much of the sample each frame of [first, last] takes: 1 inside, rising and falling with a
    smoothstep over `ease` frames at each end (0 just outside the range, so nothing jumps there)."""
    frames = np.asarray(frames, dtype=np.float64)
    edge = np.minimum(frames - first + 1, last - frames + 1) / (max(0, int(ease)) + 1)
    t = np.clip(edge, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _samples_on(rig: bpy.types.Object, frames: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(frames that have samples, sample `index`'s quaternions there (n, J, 4))."""
    count = sample_count(rig)
    stored = np.asarray(rig[SAMPLE_FRAMES]) if count and SAMPLE_FRAMES in rig else np.zeros(0, int)
    rows = np.flatnonzero(np.isin(stored, frames))
    if count and not 0 <= index < count:
        raise ValueError(f"Sample {index + 1} does not exist; this clip has {count} per frame.")
    joints = sample_joints(rig)
    stride, one = count * joints * 4, joints * 4
    values = rig[SAMPLES]
    quats = [np.asarray(values[r * stride + index * one:r * stride + (index + 1) * one], dtype=np.float64)
             for r in rows]
    return stored[rows], np.array(quats).reshape(len(rows), joints, 4)


def apply_to_bones(rig: bpy.types.Object, index: int, bones: list[str], first: int, last: int,
                   ease: int = 0) -> list[int]:
    """Give `bones` and their children sample `index`'s rotations on frames first..last (eased at the
    ends over `ease` frames); other bones and frames keep their keys. Returns the frames changed."""
    joints = chain_joints(rig, bones)
    if not joints:
        raise ValueError("Select the bones to take from the ghost first (in Pose Mode), e.g. a shoulder.")
    if last < first:
        raise ValueError(f"The frame range {first}–{last} is empty; its last frame must not come before its first.")
    frames, quats = _samples_on(rig, np.arange(first, last + 1), index)
    if not len(frames):
        raise ValueError(f"Frames {first}–{last} have no posterior samples (no person was found there).")
    weights = ease_weights(frames, first, last, ease)
    names = rig_module.all_joint_names(rig)
    for j in (j for j in joints if j < quats.shape[1]):
        curves = motion.rotation_curves(rig, names[j])
        current = np.stack([[c.evaluate(f) for c in curves] for f in frames])
        current = np.where(np.linalg.norm(current, axis=1, keepdims=True) > 0, current, quats[:, j])
        blended = rotations.slerp(current, quats[:, j], weights)
        for i, fcurve in enumerate(curves):
            keyframes.set_keys(fcurve, frames, blended[:, i])
    return [int(f) for f in frames]


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
