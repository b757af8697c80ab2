"""Retargeting: a motion on one armature baked as an ordinary action onto another.

Both armatures are read through bone maps keyed by SMPL joint names. Each mapped target bone takes
the source bone's world rotation, corrected once for how the two rest poses differ: the source's
rest bone is first turned onto the target's rest bone (body facing, then the bone's own direction),
so a T-pose source drives an A-pose target, and bone rolls cancel out. The root's travel is scaled
by the ratio of the hip heights above the feet, and the root is lifted or lowered each frame so the
lower foot stands as high above the target's floor as the source's does above its own.

The desired world rotations are keyed on a temporary guide armature, copied onto the target with
world-space constraints, and read back per frame as the target bones' own local transforms, so the
target's parenting and constraints (Rigify's mechanism bones) are evaluated by Blender itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Matrix, Quaternion, Vector

from bpy.app.handlers import persistent

from . import bone_map, keyframes, pose_eval, rotations
from .bone_map import BoneMap
from .names import MAP_PROPERTY, SOURCE_PROPERTY  # noqa: F401 (callers read module.NAME too)


_FOOT_JOINTS = ("left_ankle", "right_ankle", "left_foot", "right_foot")
_FLOOR_PERCENTILE = 2.0  # of the lowest foot point over the clip: where the source's floor is
_CONSTRAINT = "ProPose retarget"


class RetargetFailed(RuntimeError):
    """The retarget cannot run; the message says why and what to do."""


@dataclass
class _Rest:
    heads: dict[str, np.ndarray]  # joint -> world head of its bone in the rest pose
    axes: dict[str, np.ndarray]  # joint -> (3, 3) world orientation (unit columns)
    directions: dict[str, np.ndarray]  # joint -> unit world head-to-tail direction


def _unit_columns(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=-2, keepdims=True)


def _rest(obj: bpy.types.Object, mapping: dict[str, str]) -> _Rest:
    world = np.array(obj.matrix_world)
    heads, axes, directions = {}, {}, {}
    for joint, name in mapping.items():
        bone = obj.data.bones[name]
        matrix = world @ np.array(bone.matrix_local)
        heads[joint] = matrix[:3, 3]
        axes[joint] = _unit_columns(matrix[:3, :3])
        directions[joint] = axes[joint][:, 1]
    return _Rest(heads, axes, directions)


def _facing(source: dict[str, np.ndarray], target: dict[str, np.ndarray]) -> np.ndarray:
    """The turn about the world's vertical that makes the source body face the way the target faces.

    A turn about the vertical only: a lean of one rest pose against the other is a posture
    difference, which the per-bone alignment takes care of, not a direction to walk in.
    """
    def heading(heads: dict[str, np.ndarray]) -> float:
        left = heads["left_hip"] - heads["right_hip"]
        return float(np.arctan2(left[1], left[0]))

    angle = heading(target) - heading(source)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _lowest_foot(heads: dict[str, np.ndarray], joints: list[str]) -> np.ndarray:
    return np.min(np.stack([heads[j][..., 2] for j in joints]), axis=0)


@dataclass
class Plan:
    """What the target should do, per frame, in world space."""
    frames: np.ndarray  # (T,) scene frames
    rotations: dict[str, np.ndarray]  # target bone -> (T, 3, 3) world orientation
    root_bone: str
    root_heads: np.ndarray  # (T, 3) world head of the root bone (a first guess, see hips)
    hips: np.ndarray  # (T, 3) wanted world midpoint of the two hip joints
    hip_bones: list[str]
    lowest_foot: np.ndarray  # (T,) wanted world height of the target's lowest foot point
    foot_bones: list[str]
    scale: float  # leg-length ratio target / source
    feet_on_floor: bool


def plan(source: bpy.types.Object, source_map: dict[str, str], target: bpy.types.Object,
         target_map: dict[str, str], bone_map: BoneMap, frames: np.ndarray) -> Plan:
    """The target's world motion, from the source's keyed motion on `frames`."""
    joints = [j for j in target_map if j in source_map]
    src_rest, tgt_rest = _rest(source, {j: source_map[j] for j in joints}), _rest(target, {j: target_map[j] for j in joints})
    # The source's whole motion is turned to face the way the target faces.
    facing = _facing(src_rest.heads, tgt_rest.heads)
    world = pose_eval.world_matrices(source, frames)
    offsets, wanted = {}, {}
    for joint in joints:
        aligned = facing @ src_rest.axes[joint]
        if joint != bone_map.root:
            aligned = rotations.arc(facing @ src_rest.directions[joint], tgt_rest.directions[joint]) @ aligned
        offsets[joint] = aligned.T @ tgt_rest.axes[joint]
        wanted[joint] = facing @ _unit_columns(world[source_map[joint]][:, :3, :3]) @ offsets[joint]
    heads = {j: world[source_map[j]][:, :3, 3] for j in joints}

    feet = [j for j in _FOOT_JOINTS if j in joints]
    src_low_rest, tgt_low_rest = _lowest_foot(src_rest.heads, feet), _lowest_foot(tgt_rest.heads, feet)
    src_hips_rest = (src_rest.heads["left_hip"] + src_rest.heads["right_hip"]) / 2
    tgt_hips_rest = (tgt_rest.heads["left_hip"] + tgt_rest.heads["right_hip"]) / 2
    scale = (tgt_hips_rest[2] - tgt_low_rest) / (src_hips_rest[2] - src_low_rest) if bone_map.scale_root_motion else 1.0
    hips = (heads["left_hip"] + heads["right_hip"]) / 2
    low = _lowest_foot(heads, feet)
    floor = np.percentile(low, _FLOOR_PERCENTILE)
    target_hips = np.empty_like(hips)
    target_hips[:, :2] = tgt_hips_rest[:2] + scale * ((hips - hips[0]) @ facing.T)[:, :2]
    target_hips[:, 2] = tgt_low_rest + scale * (hips[:, 2] - floor)
    root, root_bone = bone_map.root, bone_map.root_bone or target_map[bone_map.root]
    wanted_bones = {target_map[j]: wanted[j] for j in joints}
    if root_bone not in wanted_bones:  # a separate control carries the root (Rigify's torso): it turns with it
        root_rest = _rest(target, {root: root_bone})
        wanted_bones[root_bone] = wanted[root] @ offsets[root].T @ tgt_rest.axes[root].T @ root_rest.axes[root]
        root_head = root_rest.heads[root]
    else:
        root_head = tgt_rest.heads[root]
    turn = wanted_bones[root_bone] @ _rest(target, {root: root_bone}).axes[root].T  # away from its rest
    root_heads = target_hips + turn @ (root_head - tgt_hips_rest)
    return Plan(frames=np.asarray(frames), rotations=wanted_bones, root_bone=root_bone, root_heads=root_heads,
                hips=target_hips, hip_bones=[target_map["left_hip"], target_map["right_hip"]],
                lowest_foot=tgt_low_rest + scale * (low - floor), foot_bones=[target_map[j] for j in feet],
                scale=float(scale), feet_on_floor=bone_map.feet_on_floor)


def _guide(context: bpy.types.Context, motion: Plan) -> bpy.types.Object:
    """A temporary armature with one free bone per target bone, keyed with the wanted world motion."""
    data = bpy.data.armatures.new("ProPose retarget guide")
    guide = bpy.data.objects.new(data.name, data)
    context.scene.collection.objects.link(guide)
    context.view_layer.objects.active = guide
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        for name in motion.rotations:
            bone = data.edit_bones.new(name)
            bone.head, bone.tail, bone.roll = (0.0, 0.0, 0.0), (0.0, 0.1, 0.0), 0.0  # rest = identity
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    bag = keyframes.channelbag(guide)
    for name, matrices in motion.rotations.items():
        guide.pose.bones[name].rotation_mode = "QUATERNION"
        keyframes.write_vector(bag, f'pose.bones["{name}"].rotation_quaternion', motion.frames,
                               rotations.continuous(rotations.quaternions(matrices)), group=name)
    keyframes.write_vector(bag, f'pose.bones["{motion.root_bone}"].location', motion.frames, motion.root_heads,
                           group=motion.root_bone)
    return guide


def _constrain(target: bpy.types.Object, guide: bpy.types.Object, motion: Plan) -> None:
    for name in motion.rotations:
        kinds = ("COPY_ROTATION", "COPY_LOCATION") if name == motion.root_bone else ("COPY_ROTATION",)
        for kind in kinds:
            constraint = target.pose.bones[name].constraints.new(kind)
            constraint.name, constraint.target, constraint.subtarget = _CONSTRAINT, guide, name
            constraint.target_space = constraint.owner_space = "WORLD"


def _bake(context: bpy.types.Context, target: bpy.types.Object, motion: Plan) -> dict[str, np.ndarray]:
    """Step the frames and read each mapped bone's local matrix (the root shifted onto the floor)."""
    scene = context.scene
    handlers = list(bpy.app.handlers.frame_change_post)  # colours and ghosts need not follow each baked frame
    bpy.app.handlers.frame_change_post.clear()
    try:
        return _read_frames(scene, target, motion)
    finally:
        bpy.app.handlers.frame_change_post.extend(handlers)


def _read_frames(scene: bpy.types.Scene, target: bpy.types.Object, motion: Plan) -> dict[str, np.ndarray]:
    to_armature = np.linalg.inv(np.array(target.matrix_world))[:3, :3]
    world = np.array(target.matrix_world)
    names = list(motion.rotations)
    out = {name: np.empty((len(motion.frames), 4, 4)) for name in names}
    for i, frame in enumerate(motion.frames):
        scene.frame_set(int(frame))
        # the root moves the whole body: shift it so the hips land where planned (wherever the root
        # bone sits in the target's hierarchy), and vertically so the lower foot is on the floor
        hips = np.mean([world[:3, :3] @ np.array(target.pose.bones[b].head) for b in motion.hip_bones], axis=0) \
            + world[:3, 3]
        shift = motion.hips[i] - hips
        if motion.feet_on_floor:
            low = min((world @ np.array([*target.pose.bones[b].head, 1.0]))[2] for b in motion.foot_bones)
            shift[2] = motion.lowest_foot[i] - low
        shift = to_armature @ shift
        for name in names:
            pose_bone = target.pose.bones[name]
            matrix = pose_bone.matrix.copy()
            if name == motion.root_bone:
                matrix.translation += Vector(shift)
            out[name][i] = np.array(target.convert_space(pose_bone=pose_bone, matrix=matrix,
                                                         from_space="POSE", to_space="LOCAL"))
    return out


def _write_action(target: bpy.types.Object, motion: Plan, local: dict[str, np.ndarray], name: str) -> bpy.types.Action:
    action = bpy.data.actions.new(name)
    target.animation_data.action = action
    bag = keyframes.channelbag(target)
    frames = motion.frames
    for bone, matrices in local.items():
        pose_bone = target.pose.bones[bone]
        base = f'pose.bones["{bone}"].'
        quats = rotations.continuous(rotations.quaternions(_unit_columns(matrices[:, :3, :3])))
        mode = pose_bone.rotation_mode
        if mode == "QUATERNION":
            keyframes.write_vector(bag, base + "rotation_quaternion", frames, quats, group=bone)
        elif mode == "AXIS_ANGLE":
            values = []
            for q in quats:
                axis, angle = Quaternion(q).to_axis_angle()
                values.append((angle, *axis))
            keyframes.write_vector(bag, base + "rotation_axis_angle", frames, np.array(values), group=bone)
        else:
            eulers, previous = [], None
            for m in matrices:
                euler = Matrix(m[:3, :3].tolist()).normalized().to_euler(mode, *(() if previous is None else (previous,)))
                eulers.append(tuple(euler))
                previous = euler
            keyframes.write_vector(bag, base + "rotation_euler", frames, np.array(eulers), group=bone)
        if bone == motion.root_bone:
            keyframes.write_vector(bag, base + "location", frames, matrices[:, :3, 3], group=bone)
    return action


def retarget(context: bpy.types.Context, source: bpy.types.Object, target: bpy.types.Object, bone_map: BoneMap,
             source_map: BoneMap, frames: np.ndarray | None = None) -> bpy.types.Action:
    """Bake `source`'s keyed motion onto `target` as a new action (assigned to it) and return it.

    bone_map names the target's bones, source_map the source's (the identity map for a ProPose rig).
    Bones the map leaves out keep their rest pose.
    """
    if target is source:
        raise RetargetFailed("Pick a target armature other than the source.")
    if target.type != "ARMATURE" or source.type != "ARMATURE":
        raise RetargetFailed("Both the source and the target must be armatures.")
    if keyframes.find_channelbag(source) is None:
        raise RetargetFailed(f"'{source.name}' has no animation to retarget.")
    src, tgt = source_map.resolve(source), bone_map.resolve(target)
    if bone_map.root_bone and bone_map.root_bone not in target.data.bones:
        raise RetargetFailed(f"'{target.name}' has no bone '{bone_map.root_bone}', which the {bone_map.name} map "
                             "moves the body with (its \"root_bone\").")
    if frames is None:
        start, end = source.animation_data.action.frame_range
        frames = np.arange(int(round(start)), int(round(end)) + 1)
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    motion = plan(source, src, target, tgt, bone_map, np.asarray(frames))
    anim = target.animation_data or target.animation_data_create()
    anim.action = None
    for pose_bone in target.pose.bones:  # the result depends on the map alone, not on a pose left on the rig
        pose_bone.matrix_basis = Matrix.Identity(4)
    for bone, props in bone_map.properties.items():
        if bone in target.pose.bones:
            for key, value in props.items():
                target.pose.bones[bone][key] = value
    current, active = context.scene.frame_current, context.view_layer.objects.active
    guide = _guide(context, motion)
    try:
        _constrain(target, guide, motion)
        local = _bake(context, target, motion)
    finally:
        for pose_bone in target.pose.bones:
            for constraint in [c for c in pose_bone.constraints if c.name.startswith(_CONSTRAINT)]:
                pose_bone.constraints.remove(constraint)
        guide_data, guide_action = guide.data, guide.animation_data.action if guide.animation_data else None
        bpy.data.objects.remove(guide)
        bpy.data.armatures.remove(guide_data)
        if guide_action is not None:
            bpy.data.actions.remove(guide_action)
        context.view_layer.objects.active = active
    action = _write_action(target, motion, local, f"{target.name} from {source.name}")
    target[SOURCE_PROPERTY] = source
    target[MAP_PROPERTY] = json.dumps({tgt[j]: j for j in tgt if j in src})
    context.scene.frame_set(current)
    color_from_source(target, current)
    return action


def mapped_bones(target: bpy.types.Object) -> dict[str, str]:
    """{target bone: SMPL joint} of a retargeted armature (empty for any other)."""
    text = target.get(MAP_PROPERTY)
    return json.loads(text) if isinstance(text, str) else {}


def color_from_source(target: bpy.types.Object, frame: float, scene: bpy.types.Scene | None = None) -> None:
    """Give the target's mapped bones the uncertainty colours of their source joints on `frame`
    (the rig's own mapping; nothing while the animator has the colours switched off)."""
    from . import uncertainty

    source = target.get(SOURCE_PROPERTY)
    if not isinstance(source, bpy.types.Object) or source.type != "ARMATURE":
        return
    if not uncertainty.enabled(scene or bpy.context.scene):
        uncertainty.restore_user_colors(target)
        return
    degrees = uncertainty.at_frame(source, frame)
    if degrees is None:
        return
    colors = uncertainty.colors_of(degrees)
    index = {j: i for i, j in enumerate(skeleton_joint_names())}
    uncertainty.paint_bones(target, {bone: colors[index[joint]] for bone, joint in mapped_bones(target).items()
                                     if joint in index and index[joint] < len(colors)})
    target.data.show_bone_colors = True


def skeleton_joint_names() -> tuple[str, ...]:
    from .bridge import skeleton

    return tuple(skeleton().RIG_JOINT_NAMES)


def refresh_colors(scene: bpy.types.Scene) -> None:
    for obj in scene.objects:
        if obj.type == "ARMATURE" and obj.get(MAP_PROPERTY):
            color_from_source(obj, scene.frame_current, scene)


@persistent
def on_frame_change(scene: bpy.types.Scene, *_args) -> None:
    refresh_colors(scene)
