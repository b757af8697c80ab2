"""The SMPL rig: a 24-bone armature in the clip's rest pose and the skinned body mesh on it.

Bones carry SMPL's joint names, heads at the rest joints, tails towards the child that continues
the chain. Every bone uses quaternion rotation so keys map one-to-one onto the results' rotations.
"""
from __future__ import annotations

import bpy
import numpy as np

from . import axes
from .results import skeleton

RIG_TAG = "propose_rig"  # custom property marking an armature object made by this add-on
_MIN_LEAF_LENGTH = 0.04  # metres; the tail of a bone with no child

# For joints with several children, the one the bone points at (the chain it continues).
_CHAIN_CHILD = {"pelvis": "spine1", "spine3": "neck"}


def joint_names() -> tuple[str, ...]:
    return tuple(skeleton().SMPL_JOINT_NAMES)


def joint_parents() -> tuple[int, ...]:
    return tuple(skeleton().SMPL_PARENTS)


def _tails(heads: np.ndarray) -> np.ndarray:
    """Bone tails: at the chain child's head, or along the parent's direction for leaf bones."""
    names, parents = joint_names(), joint_parents()
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
            tails[j] = heads[j] + direction / max(length, 1e-9) * max(0.6 * length, _MIN_LEAF_LENGTH)
    return tails


def _ensure_object_mode(context: bpy.types.Context) -> None:
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")


def build_armature(context: bpy.types.Context, name: str, rest_joints: np.ndarray,
                   collection: bpy.types.Collection) -> bpy.types.Object:
    """An armature object in the SMPL rest pose (rest_joints: (24, 3), SMPL rest frame)."""
    _ensure_object_mode(context)
    data = bpy.data.armatures.new(name)
    data.display_type = "OCTAHEDRAL"
    data.show_bone_colors = True
    rig = bpy.data.objects.new(name, data)
    rig.show_in_front = True
    rig[RIG_TAG] = 1
    collection.objects.link(rig)

    heads = axes.rest_points_to_armature(rest_joints)
    tails = _tails(heads)
    names, parents = joint_names(), joint_parents()
    context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        bones = []
        for j, bone_name in enumerate(names):
            bone = data.edit_bones.new(bone_name)
            bone.head, bone.tail, bone.roll = heads[j], tails[j], 0.0
            if parents[j] >= 0:
                bone.parent = bones[parents[j]]
                bone.use_connect = bool(np.allclose(tails[parents[j]], heads[j], atol=1e-6))
            bones.append(bone)
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in rig.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    return rig


def rest_orientations(rig: bpy.types.Object) -> np.ndarray:
    """(24, 3, 3) rest orientation of each bone in armature space, in SMPL joint order."""
    return np.array([np.array(rig.data.bones[n].matrix_local.to_3x3()) for n in joint_names()])


def rest_root_head(rig: bpy.types.Object) -> np.ndarray:
    """The pelvis rest position in armature space."""
    return np.array(rig.data.bones[joint_names()[0]].head_local)


def build_body(name: str, rig: bpy.types.Object, rest_vertices: np.ndarray, faces: np.ndarray,
               lbs_weights: np.ndarray, collection: bpy.types.Collection) -> bpy.types.Object:
    """The rest mesh, skinned to `rig` with one vertex group per bone and an armature modifier."""
    verts = axes.rest_points_to_armature(rest_vertices).astype(np.float32)
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
    for j, bone_name in enumerate(joint_names()):
        group = body.vertex_groups.new(name=bone_name)
        for v in np.flatnonzero(weights[:, j] > 1e-6):
            group.add([int(v)], float(weights[v, j]), "REPLACE")
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = rig
    return body


def _body_material() -> bpy.types.Material:
    material = bpy.data.materials.get("ProPose body") or bpy.data.materials.new("ProPose body")
    material.diffuse_color = (0.75, 0.62, 0.52, 1.0)
    return material


def find_rigs(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """Every armature in the scene that this add-on built."""
    return [o for o in scene.objects if o.type == "ARMATURE" and o.get(RIG_TAG)]


def rig_of(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The ProPose rig an object belongs to: the rig itself, its body, or one of its ghosts."""
    while obj is not None:
        if obj.type == "ARMATURE" and obj.get(RIG_TAG):
            return obj
        owner = obj.get("propose_ghost_of")
        obj = owner if isinstance(owner, bpy.types.Object) else obj.parent
    return None
