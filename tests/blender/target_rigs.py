"""Retarget targets built in code: a Mixamo-named and a UE5-Mannequin-named skeleton.

Both differ from a ProPose rig in the ways real rigs do: other proportions, other bone counts in the
spine, bone rolls, an A-pose (Mixamo) or an extra root bone on the floor (UE5), centimetres with an
object scale of 0.01 (as Mixamo FBX files import), and a rig turned to face another way. With
`fingers=True` each hand gets its finger chains as those rigs name them (Mixamo: four bones a finger,
the last an end bone; UE5: a metacarpal before the index, middle, ring and pinky), rolled each its
own way, so the finger maps are retargeted onto bones that are not the ProPose rig's.
"""
from __future__ import annotations

import math

import bpy
import numpy as np

# A 1.8 m person in T-pose, facing -Y with the left side on +X, feet on z = 0 (metres).
_JOINTS = {
    "hips": (0, 0, 1.02), "spine_a": (0, 0.01, 1.12), "spine_b": (0, 0.01, 1.26), "spine_c": (0, 0, 1.40),
    "neck": (0, 0.01, 1.54), "head": (0, -0.01, 1.64), "head_top": (0, -0.01, 1.84),
    "L_collar": (0.03, -0.01, 1.48), "L_shoulder": (0.19, 0.01, 1.49), "L_elbow": (0.47, 0.02, 1.49),
    "L_wrist": (0.73, 0.0, 1.49), "L_hand_end": (0.83, 0.0, 1.49),
    "L_hip": (0.1, 0, 0.97), "L_knee": (0.1, -0.01, 0.53), "L_ankle": (0.1, 0.03, 0.09),
    "L_ball": (0.1, -0.1, 0.02), "L_toe_end": (0.1, -0.18, 0.02),
}
# The left hand's finger joints (palm down, fingers along +X, the thumb forward, towards -Y): per finger
# its base (the thumb's CMC, the others' knuckle) and the joints after it out to the tip's end.
_FINGERS = {
    "index": [(0.82, -0.027, 1.485), (0.86, -0.029, 1.483), (0.885, -0.030, 1.481), (0.905, -0.030, 1.479),
              (0.915, -0.030, 1.478)],
    "middle": [(0.822, -0.009, 1.486), (0.867, -0.009, 1.484), (0.895, -0.009, 1.482), (0.917, -0.009, 1.480),
               (0.927, -0.009, 1.479)],
    "ring": [(0.818, 0.009, 1.485), (0.86, 0.010, 1.483), (0.886, 0.011, 1.481), (0.907, 0.011, 1.479),
             (0.917, 0.011, 1.478)],
    "pinky": [(0.81, 0.025, 1.484), (0.842, 0.027, 1.482), (0.862, 0.028, 1.480), (0.880, 0.029, 1.478),
              (0.890, 0.029, 1.477)],
    "thumb": [(0.745, -0.02, 1.475), (0.775, -0.045, 1.468), (0.80, -0.06, 1.463), (0.822, -0.068, 1.46),
              (0.832, -0.071, 1.459)],
}
for _finger, _points in _FINGERS.items():
    for _k, _pos in enumerate(_points):
        _JOINTS[f"L_{_finger}{_k}"] = _pos
_HAND_PARTS = ("elbow", "wrist", "hand_end", *(f"{f}{k}" for f in _FINGERS for k in range(5)))
_FINGER_ROLLS = {"index": 10.0, "middle": 0.0, "ring": -10.0, "pinky": -20.0, "thumb": -70.0}

for _name, _pos in list(_JOINTS.items()):
    if _name.startswith("L_"):
        _JOINTS["R_" + _name[2:]] = (-_pos[0], _pos[1], _pos[2])


def _a_pose(joints: dict[str, np.ndarray], degrees: float) -> None:
    """Lower both arms by `degrees` about the shoulder (in place)."""
    for side, sign in (("L", 1.0), ("R", -1.0)):
        pivot = joints[f"{side}_shoulder"].copy()
        a = math.radians(degrees) * sign
        turn = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
        for part in _HAND_PARTS:
            joints[f"{side}_{part}"] = pivot + turn @ (joints[f"{side}_{part}"] - pivot)


def _build(name: str, bones: list[tuple[str, str | None, str, str, float]], joints: dict[str, np.ndarray],
           unit: float, rotation_z: float = 0.0) -> bpy.types.Object:
    """bones: (bone, parent, head joint, tail joint, roll in degrees), parents first."""
    data = bpy.data.armatures.new(name)
    rig = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(rig)
    rig.scale = (unit, unit, unit)
    rig.rotation_euler.z = rotation_z
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    for bone_name, parent, head, tail, roll in bones:
        bone = data.edit_bones.new(bone_name)
        bone.head, bone.tail = joints[head] / unit, joints[tail] / unit
        bone.roll = math.radians(roll)
        if parent is not None:
            bone.parent = data.edit_bones[parent]
            bone.use_connect = bool(np.allclose(bone.parent.tail, bone.head))
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.context.view_layer.update()
    return rig


def _sides(template: list[tuple]) -> list[tuple]:
    out = []
    for bone, parent, head, tail, roll in template:
        if "{S}" in bone or "{s}" in bone:
            for S, s, J, sign in (("Left", "l", "L", 1), ("Right", "r", "R", -1)):
                fill = dict(S=S, s=s)
                out.append((bone.format(**fill), parent.format(**fill) if parent else None,
                            head.format(J=J), tail.format(J=J), roll * sign))
        else:
            out.append((bone, parent, head, tail, roll))
    return out


def _finger_template(name: str, hand: str, metacarpals: bool) -> list[tuple]:
    """Finger bones for _sides: `name` formats {Finger} / {finger} and {k} (1-based) and keeps {S} / {s},
    parented to `hand`. Mixamo: four bones a finger (the fourth an end bone); UE5 (`metacarpals`): a
    bone from the wrist to each knuckle but the thumb's, then three bones a finger."""
    out = []
    for finger, roll in _FINGER_ROLLS.items():
        parent = hand
        if metacarpals and finger != "thumb":
            parent = f"{finger}_metacarpal_{{s}}"
            out.append((parent, hand, "{J}_wrist", f"{{J}}_{finger}0", roll))
        for k in range(1, 4 if metacarpals else 5):
            bone = name.format(S="{S}", s="{s}", finger=finger, Finger=finger.capitalize(), k=k)
            out.append((bone, parent, f"{{J}}_{finger}{k - 1}", f"{{J}}_{finger}{k}", roll))
            parent = bone
    return out


def mixamo_rig(name: str = "Mixamo test rig", fingers: bool = False) -> bpy.types.Object:
    """'mixamorig:'-prefixed bones, A-pose (arms 45 degrees down), in centimetres at 0.01 scale."""
    joints = {k: np.array(v, dtype=float) for k, v in _JOINTS.items()}
    _a_pose(joints, 45.0)
    p = "mixamorig:"
    template = [
        (p + "Hips", None, "hips", "spine_a", 0), (p + "Spine", p + "Hips", "spine_a", "spine_b", 0),
        (p + "Spine1", p + "Spine", "spine_b", "spine_c", 0), (p + "Spine2", p + "Spine1", "spine_c", "neck", 0),
        (p + "Neck", p + "Spine2", "neck", "head", 0), (p + "Head", p + "Neck", "head", "head_top", 0),
        (p + "{S}Shoulder", p + "Spine2", "{J}_collar", "{J}_shoulder", 90),
        (p + "{S}Arm", p + "{S}Shoulder", "{J}_shoulder", "{J}_elbow", 30),
        (p + "{S}ForeArm", p + "{S}Arm", "{J}_elbow", "{J}_wrist", -60),
        (p + "{S}Hand", p + "{S}ForeArm", "{J}_wrist", "{J}_hand_end", 15),
        (p + "{S}UpLeg", p + "Hips", "{J}_hip", "{J}_knee", 180),
        (p + "{S}Leg", p + "{S}UpLeg", "{J}_knee", "{J}_ankle", 170),
        (p + "{S}Foot", p + "{S}Leg", "{J}_ankle", "{J}_ball", 0),
        (p + "{S}ToeBase", p + "{S}Foot", "{J}_ball", "{J}_toe_end", 0),
    ]
    if fingers:
        template += _finger_template(p + "{S}Hand{Finger}{k}", p + "{S}Hand", metacarpals=False)
    return _build(name, _sides(template), joints, unit=0.01)


def ue5_rig(name: str = "UE5 test rig", rotation_z: float = math.pi / 2, fingers: bool = False) -> bpy.types.Object:
    """UE5 Mannequin names: a root bone on the floor, five spine bones and two neck bones, in metres,
    turned a quarter about Z (it faces +X)."""
    joints = {k: np.array(v, dtype=float) for k, v in _JOINTS.items()}
    legs = 1.12  # longer legs than the template: the hips sit higher above the feet
    for k in joints:
        if k.startswith(("L_", "R_")) and not k.endswith(("collar", "shoulder", *_HAND_PARTS)):
            joints[k][2] *= legs
    for k in ("hips", "spine_a", "spine_b", "spine_c", "neck", "head", "head_top") + tuple(
            f"{s}_{p}" for s in "LR" for p in ("collar", "shoulder", *_HAND_PARTS)):
        joints[k][2] += 0.97 * (legs - 1)
    joints["floor"], joints["floor_fwd"] = np.zeros(3), np.array([0.0, -0.3, 0.0])
    for a, b, mid in (("spine_a", "spine_b", "spine_ab"), ("spine_b", "spine_c", "spine_bc"), ("neck", "head", "neck_mid")):
        joints[mid] = (joints[a] + joints[b]) / 2
    template = [
        ("root", None, "floor", "floor_fwd", 0), ("pelvis", "root", "hips", "spine_a", 90),
        ("spine_01", "pelvis", "spine_a", "spine_ab", 90), ("spine_02", "spine_01", "spine_ab", "spine_b", 90),
        ("spine_03", "spine_02", "spine_b", "spine_bc", 90), ("spine_04", "spine_03", "spine_bc", "spine_c", 90),
        ("spine_05", "spine_04", "spine_c", "neck", 90), ("neck_01", "spine_05", "neck", "neck_mid", 90),
        ("neck_02", "neck_01", "neck_mid", "head", 90), ("head", "neck_02", "head", "head_top", 90),
        ("clavicle_{s}", "spine_05", "{J}_collar", "{J}_shoulder", 0),
        ("upperarm_{s}", "clavicle_{s}", "{J}_shoulder", "{J}_elbow", 0),
        ("lowerarm_{s}", "upperarm_{s}", "{J}_elbow", "{J}_wrist", 0),
        ("hand_{s}", "lowerarm_{s}", "{J}_wrist", "{J}_hand_end", 0),
        ("thigh_{s}", "pelvis", "{J}_hip", "{J}_knee", -90), ("calf_{s}", "thigh_{s}", "{J}_knee", "{J}_ankle", -90),
        ("foot_{s}", "calf_{s}", "{J}_ankle", "{J}_ball", 0), ("ball_{s}", "foot_{s}", "{J}_ball", "{J}_toe_end", 0),
    ]
    if fingers:
        template += _finger_template("{finger}_0{k}_{s}", "hand_{s}", metacarpals=True)
    return _build(name, _sides(template), joints, unit=1.0, rotation_z=rotation_z)
