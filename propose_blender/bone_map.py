"""Bone maps: which bone of another armature plays each SMPL joint, as JSON presets users can copy.

A map is keyed by the SMPL joint names of the shared skeleton table (`propose_backend/skeleton.py`),
so it does not care how the ProPose rig itself is built (an extra root bone, say). The presets live
in `bone_maps/` inside the add-on; see docs/addon.md for the fields.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from .bridge import skeleton

PRESET_DIR = Path(__file__).resolve().parent / "bone_maps"
# Joints a map must name: without these there is no body frame, no leg length and no floor.
REQUIRED = ("pelvis", "left_hip", "right_hip", "left_ankle", "right_ankle", "neck")


class BoneMapError(ValueError):
    """A map file or a map/armature pair that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class BoneMap:
    name: str
    bones: dict[str, str]  # SMPL joint (or SMPL-H finger joint) -> bone name on the other armature
    root: str = "pelvis"  # the joint whose motion the root follows
    root_bone: str = ""  # the bone that carries the location keys; empty: the root joint's own bone
    scale_root_motion: bool = True  # scale the root's travel by the leg-length ratio
    feet_on_floor: bool = True  # lift or lower the root so the lower foot's height matches the source
    properties: dict[str, dict[str, float]] = field(default_factory=dict)  # pose-bone custom props to set
    description: str = ""

    def resolve(self, armature: bpy.types.Object) -> dict[str, str]:
        """SMPL joint -> the actual bone name on `armature`, matching a name with or without a
        'prefix:' (Mixamo's 'mixamorig:', 'mixamorig1:' ...). Raises BoneMapError if required ones
        are missing; other missing joints are left out."""
        names = [b.name for b in armature.data.bones]
        by_short: dict[str, str] = {}
        for name in names:
            by_short.setdefault(name.rsplit(":", 1)[-1], name)
        found = {}
        for joint, bone in self.bones.items():
            actual = bone if bone in names else by_short.get(bone.rsplit(":", 1)[-1])
            if actual is not None:
                found[joint] = actual
        missing = [self.bones.get(j, j) for j in REQUIRED if j not in found]
        if missing:
            raise BoneMapError(f"'{armature.name}' does not look like a {self.name} rig: it has no bone "
                               f"{', '.join(missing)}. Pick the preset that matches the rig, or copy one "
                               f"from {PRESET_DIR} and put in the rig's own bone names.")
        return found


def from_dict(data: dict, origin: str) -> BoneMap:
    """Validate a parsed map; `origin` names it in error messages."""
    if not isinstance(data, dict) or not isinstance(data.get("bones"), dict):
        raise BoneMapError(f"{origin}: a bone map is a JSON object with a \"bones\" object in it.")
    known = set(skeleton().RIG_JOINT_NAMES)
    unknown = sorted(set(data["bones"]) - known)
    if unknown:
        raise BoneMapError(f"{origin}: {', '.join(unknown)} are not SMPL joint names (nor SMPL-H finger joint names); use "
                           f"names from this list: {', '.join(skeleton().RIG_JOINT_NAMES)}.")
    absent = [j for j in REQUIRED if j not in data["bones"]]
    if absent:
        raise BoneMapError(f"{origin}: the map must name a bone for {', '.join(absent)}.")
    root = data.get("root", "pelvis")
    if root not in data["bones"]:
        raise BoneMapError(f"{origin}: \"root\" is '{root}', which the map does not name a bone for.")
    return BoneMap(name=str(data.get("name", origin)), bones={k: str(v) for k, v in data["bones"].items()},
                   root=root, root_bone=str(data.get("root_bone", "")), scale_root_motion=bool(data.get("scale_root_motion", True)),
                   feet_on_floor=bool(data.get("feet_on_floor", True)),
                   properties={str(b): {str(k): float(v) for k, v in props.items()}
                               for b, props in data.get("properties", {}).items()},
                   description=str(data.get("description", "")))


def load(path: str | Path) -> BoneMap:
    """A bone map from a JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BoneMapError(f"Cannot read the bone map {path}: {exc.strerror}.") from exc
    except json.JSONDecodeError as exc:
        raise BoneMapError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
    return from_dict(data, path.name)


def preset_names() -> list[str]:
    """The bundled presets, by file stem (rigify, mixamo, ue5, ...)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def preset(name_or_path: str | Path) -> BoneMap:
    """A bundled preset by name, or a map file by path."""
    text = str(name_or_path)
    if text in preset_names():
        return load(PRESET_DIR / f"{text}.json")
    if text.lower().endswith(".json"):
        return load(text)
    raise BoneMapError(f"No bone map preset '{text}': use one of {', '.join(preset_names())}, "
                       "or the path of a .json bone map.")


def identity() -> BoneMap:
    """The map of a ProPose rig onto itself (SMPL joint names as bone names)."""
    return preset("smpl")
