"""The SMPL rig: an armature in the clip's rest pose, standing on the floor, and the skinned body.

Bones carry SMPL's joint names, heads at the rest joints, tails towards the child that continues
the chain, rolls chosen so each bone's local X is its main bend axis (knees, hips, spine and
neck flex about +X; both arms' elbows flex forward about +X too, as a mirrored rig expects). A
`root` bone lies on the floor at the armature origin and parents the pelvis: it carries the
motion over the floor, the pelvis its height and orientation. Bones sit in collections (Root,
Spine, Arms, Hands, Legs, IK). Optional IK targets for wrists and ankles follow the keyed FK
motion and are switched on per limb pair by the rig's `ik_arms` / `ik_legs` properties (0 = off):
FK stays the keyed truth. Every bone uses quaternion rotation so keys map one-to-one onto the
results' rotations.
"""
from __future__ import annotations

import bpy
import numpy as np

from . import axes, compat
from .bridge import skeleton
from .names import GHOST_OF, RIG_TAG  # noqa: F401 (callers read module.NAME too)


ROOT_BONE = "root"
IK_SWITCHES = {"ik_arms": ("left_wrist", "right_wrist"), "ik_legs": ("left_ankle", "right_ankle")}
_MIN_LEAF_LENGTH = 0.04  # metres; the tail of a bone with no child
_MIN_FINGER_LEAF = 0.012  # fingertips are short
_ROOT_LENGTH = 0.3
_IK_LENGTH = 0.08

# For joints with several children, the one the bone points at (the chain it continues).
_CHAIN_CHILD = {"pelvis": "spine1", "spine3": "neck", "left_wrist": "left_hand", "right_wrist": "right_hand"}

BONE_COLLECTIONS = {
    "Spine": ("pelvis", "spine1", "spine2", "spine3", "neck", "head"),
    "Arms": ("left_collar", "right_collar", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
             "left_wrist", "right_wrist"),
    "Hands": ("left_hand", "right_hand", *skeleton().FINGER_JOINT_NAMES),
    "Legs": ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
             "left_foot", "right_foot"),
}


def joint_names() -> tuple[str, ...]:
    return tuple(skeleton().SMPL_JOINT_NAMES)


def joint_parents() -> tuple[int, ...]:
    return tuple(skeleton().SMPL_PARENTS)


def finger_names() -> tuple[str, ...]:
    """The 30 finger bones (SMPL-H names and order), after SMPL's 24 in the rig's joint list."""
    return tuple(skeleton().FINGER_JOINT_NAMES)


def has_fingers(rig: bpy.types.Object) -> bool:
    """Rigs built before fingers (and their ghosts) end at the hands."""
    return finger_names()[0] in rig.data.bones


def all_joint_names(rig: bpy.types.Object | None = None) -> tuple[str, ...]:
    """The 24 SMPL joints, then the 30 finger joints where `rig` has them (None: a rig with fingers)."""
    return joint_names() + (finger_names() if rig is None or has_fingers(rig) else ())


def all_joint_parents() -> tuple[int, ...]:
    return tuple(skeleton().RIG_PARENTS)


def ik_bone(joint: str) -> str:
    """Name of the IK target bone for a wrist or ankle."""
    return f"{joint}_ik"


def _tails(heads: np.ndarray) -> np.ndarray:
    """Bone tails: at the chain child's head, or along the parent's direction for leaf bones."""
    names, parents = all_joint_names(), all_joint_parents()
    children: dict[int, list[int]] = {}
    for j, p in enumerate(parents):
        if p >= 0:
            children.setdefault(p, []).append(j)
    tails = np.zeros_like(heads)
    for j, name in enumerate(names):
        kids = children.get(j, [])
        if kids:
            child = names.index(_CHAIN_CHILD[name]) if len(kids) > 1 else kids[0]
            tails[j] = heads[child]
    for j in range(len(names)):  # leaves after the loop above, so parents' tails are known
        if not children.get(j):
            p = parents[j]
            direction = heads[j] - heads[p]
            length = np.linalg.norm(direction)
            shortest = _MIN_FINGER_LEAF if j >= len(joint_names()) else _MIN_LEAF_LENGTH
            tails[j] = heads[j] + direction / max(length, 1e-9) * max((0.8 if shortest < _MIN_LEAF_LENGTH else 0.6)
                                                                      * length, shortest)
    return tails


def finger_bend_axes(heads: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """(30, 3) armature-space curl axis of each finger bone, the backend's flexion axis: across the
    bone in the palm's plane, signed so a positive turn curls the finger into the palm; for the
    thumb's MCP and IP, turned about the bone so the thumb flexes across the palm
    (skeleton.THUMB_FLEX_TURN_DEG). The palm's side comes from the hand's chirality, so a rest
    hand in any orientation works."""
    names = all_joint_names()
    turn = np.deg2rad(skeleton().THUMB_FLEX_TURN_DEG)
    hinges = skeleton().THUMB_HINGE_JOINTS
    axes_out = np.zeros((len(finger_names()), 3))
    for k, name in enumerate(finger_names()):
        side = name.split("_")[0]
        wrist = heads[names.index(f"{side}_wrist")]
        across = np.cross(heads[names.index(f"{side}_index1")] - wrist, heads[names.index(f"{side}_pinky1")] - wrist)
        palm = (-across if side == "left" else across) / np.linalg.norm(across)
        j = len(joint_names()) + k
        direction = (tails[j] - heads[j]) / np.linalg.norm(tails[j] - heads[j])
        axis = np.cross(direction, palm)
        axis = axis / np.linalg.norm(axis)
        if k % skeleton().NUM_FINGER_JOINTS in hinges:
            palmward = np.cross(axis, direction)
            fingerward = axis * np.sign(np.dot(axis, heads[names.index(f"{side}_middle1")] - heads[j]))
            axis = np.cross(direction, np.cos(turn) * palmward + np.sin(turn) * fingerward)
        axes_out[k] = axis / np.linalg.norm(axis)
    return axes_out


def bend_axis(name: str) -> np.ndarray:
    """The armature-space axis a bone's local X should follow (its main bend axis)."""
    if "collar" in name or "shoulder" in name or "elbow" in name or "wrist" in name or "hand" in name:
        # arms lie along +-x in the rest pose; flexion swings them forward (-y) about -z (left) / +z (right)
        return np.array([0.0, 0.0, -1.0 if name.startswith("left") else 1.0])
    return np.array([1.0, 0.0, 0.0])


def _ensure_object_mode(context: bpy.types.Context) -> None:
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")


def rest_offset(rest_joints: np.ndarray, rest_vertices: np.ndarray) -> np.ndarray:
    """Armature-space shift that puts the rest body's floor point (under the pelvis, at the soles) at 0."""
    pelvis = axes.rest_points_to_armature(rest_joints[0])
    soles = axes.rest_points_to_armature(rest_vertices)[:, 2].min()
    return -np.array([pelvis[0], pelvis[1], soles])


def build_armature(context: bpy.types.Context, name: str, rest_joints: np.ndarray,
                   collection: bpy.types.Collection, offset: np.ndarray | None = None) -> bpy.types.Object:
    """An armature object in the SMPL rest pose (rest_joints: (54, 3) with the 30 finger joints
    after SMPL's 24, SMPL rest frame; (24, 3) gets an average hand, see fingers.rest_joints).

    offset: armature-space shift of the rest skeleton (see rest_offset), so the rig stands on its origin.
    """
    _ensure_object_mode(context)
    data = bpy.data.armatures.new(name)
    data.display_type = "OCTAHEDRAL"
    data.show_bone_colors = True
    rig = bpy.data.objects.new(name, data)
    rig.show_in_front = True
    rig[RIG_TAG] = 1
    collection.objects.link(rig)

    if len(rest_joints) == len(joint_names()):
        from .fingers import rest_joints as with_fingers

        rest_joints = with_fingers(rest_joints, None)
    heads = axes.rest_points_to_armature(rest_joints) + (0.0 if offset is None else offset)
    tails = _tails(heads)
    names, parents = all_joint_names(), all_joint_parents()
    curls = finger_bend_axes(heads, tails)
    context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        root = data.edit_bones.new(ROOT_BONE)
        root.head, root.tail, root.roll = (0.0, 0.0, 0.0), (0.0, _ROOT_LENGTH, 0.0), 0.0
        bones = []
        for j, bone_name in enumerate(names):
            bone = data.edit_bones.new(bone_name)
            bone.head, bone.tail = heads[j], tails[j]
            direction = (tails[j] - heads[j]) / max(np.linalg.norm(tails[j] - heads[j]), 1e-9)
            bend = curls[j - len(joint_names())] if j >= len(joint_names()) else bend_axis(bone_name)
            bone.align_roll(np.cross(bend, direction))  # Z = X x Y puts X on the bend axis
            if parents[j] >= 0:
                bone.parent = bones[parents[j]]
                bone.use_connect = bool(np.allclose(tails[parents[j]], heads[j], atol=1e-6))
            else:
                bone.parent = root
            bones.append(bone)
        for joint in (j for pair in IK_SWITCHES.values() for j in pair):
            target = data.edit_bones.new(ik_bone(joint))
            head = heads[names.index(joint)]
            target.head, target.tail, target.roll = head, head + (0.0, _IK_LENGTH, 0.0), 0.0
            target.parent = root
            target.use_deform = False
        root.use_deform = False
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in rig.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    _collect_bones(data)
    _add_ik(rig)
    return rig


def _collect_bones(data: bpy.types.Armature) -> None:
    groups = {"Root": (ROOT_BONE,), **BONE_COLLECTIONS,
              "IK": tuple(ik_bone(j) for pair in IK_SWITCHES.values() for j in pair)}
    for label, members in groups.items():
        group = data.collections.new(label)
        for bone_name in members:
            group.assign(data.bones[bone_name])
    data.collections["IK"].is_visible = False


def _add_ik(rig: bpy.types.Object) -> None:
    """Two-bone IK on forearms and shins towards the IK targets, influence driven by the switches."""
    parents, names = joint_parents(), joint_names()
    for switch, joints in IK_SWITCHES.items():
        rig[switch] = 0.0
        rig.id_properties_ui(switch).update(min=0.0, max=1.0, description=(
            "Blend in IK towards the wrist/ankle targets (0 = FK keys only; the targets follow the keyed motion)"))
        for joint in joints:
            limb = names[parents[names.index(joint)]]  # elbow or knee: its tail is the wrist / ankle
            constraint = rig.pose.bones[limb].constraints.new("IK")
            constraint.target, constraint.subtarget = rig, ik_bone(joint)
            constraint.chain_count = 2
            constraint.influence = 0.0
            driver = constraint.driver_add("influence").driver
            driver.type = "AVERAGE"
            variable = driver.variables.new()
            variable.type = "SINGLE_PROP"
            variable.targets[0].id = rig
            variable.targets[0].data_path = f'["{switch}"]'


def rest_orientations(rig: bpy.types.Object, count: int = 24) -> np.ndarray:
    """(count, 3, 3) rest orientation of each bone in armature space, in the rig's joint order
    (24: SMPL's joints; 54: with the fingers)."""
    return np.array([np.array(rig.data.bones[n].matrix_local.to_3x3()) for n in all_joint_names()[:count]])


def rest_root_head(rig: bpy.types.Object) -> np.ndarray:
    """The pelvis rest position in armature space."""
    return np.array(rig.data.bones[joint_names()[0]].head_local)


def rest_heads(rig: bpy.types.Object) -> np.ndarray:
    """(24, 3) rest joint positions in armature space, in SMPL joint order."""
    return np.array([np.array(rig.data.bones[n].head_local) for n in joint_names()])


def build_body(name: str, rig: bpy.types.Object, rest_vertices: np.ndarray, faces: np.ndarray,
               lbs_weights: np.ndarray, collection: bpy.types.Collection,
               offset: np.ndarray | None = None) -> bpy.types.Object:
    """The rest mesh (any vertex count), skinned to `rig` with one vertex group per joint."""
    verts = (axes.rest_points_to_armature(rest_vertices) + (0.0 if offset is None else offset)).astype(np.float32)
    faces = np.asarray(faces, dtype=np.int32)
    mesh = bpy.data.meshes.new(f"{name} body")
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update()
    mesh.validate()
    mesh.shade_smooth()
    mesh.materials.append(_body_material())

    body = bpy.data.objects.new(f"{name} body", mesh)
    collection.objects.link(body)
    body.parent = rig
    weights = np.asarray(lbs_weights)
    for j, bone_name in enumerate(all_joint_names()[:weights.shape[1]]):
        group = body.vertex_groups.new(name=bone_name)
        for v in np.flatnonzero(weights[:, j] > 1e-6):
            group.add([int(v)], float(weights[v, j]), "REPLACE")
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = rig
    return body


SKIN_COLOR = (0.80, 0.58, 0.47, 1.0)


def _body_material() -> bpy.types.Material:
    """A skin-like material: warm base colour, a little subsurface scattering, soft sheen."""
    material = bpy.data.materials.get("ProPose skin")
    if material is not None:
        return material
    material = bpy.data.materials.new("ProPose skin")
    material.diffuse_color = SKIN_COLOR  # solid viewport and Workbench
    material.roughness = 0.55
    shader = compat.principled_bsdf(material)
    if shader is not None:
        values = {"Base Color": SKIN_COLOR, "Roughness": 0.5, "Subsurface Weight": 0.15,
                  "Subsurface Radius": (1.0, 0.35, 0.2), "Subsurface Scale": 0.01, "Coat Weight": 0.05}
        for key, value in values.items():
            if key in shader.inputs:
                shader.inputs[key].default_value = value
    return material


def find_rigs(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """Every armature in the scene that this add-on built."""
    return [o for o in scene.objects if o.type == "ARMATURE" and o.get(RIG_TAG)]


def rig_of(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The ProPose rig an object belongs to: the rig itself, its body, or one of its ghosts."""
    while obj is not None:
        if obj.type == "ARMATURE" and obj.get(RIG_TAG):
            return obj
        owner = obj.get(GHOST_OF)
        obj = owner if isinstance(owner, bpy.types.Object) else obj.parent
    return None


def active_rig(context: bpy.types.Context) -> bpy.types.Object | None:
    """The rig of the active object (rig, body or ghost), else the scene's only rig."""
    rig = rig_of(context.active_object)
    if rig is not None:
        return rig
    rigs = find_rigs(context.scene)
    return rigs[0] if len(rigs) == 1 else None
