"""Posterior uncertainty as bone colours and as curves an animator can read in the Graph Editor.

Each bone's `uncertainty_deg` (expected angle between a posterior sample and the mode) is keyed as
an animated custom property `["propose_unc_<bone>"]` on the rig; a persistent frame-change handler
reads those curves and colours the pose bones. Colours come in five classes from a viridis-like
blue -> yellow ramp: readable with every common colour-vision deficiency and in greyscale, since
lightness rises with uncertainty.

The colours can be switched off (`set_enabled`): before the add-on first paints a rig's bones it
keeps each pose bone's own colour (palette and custom colours) on the rig, and switching off puts
exactly those back, so an animator's colour coding survives a look at the uncertainty.
"""
from __future__ import annotations

import bpy
import numpy as np
from bpy.app.handlers import persistent

from . import keyframes, rig as rig_module
from .names import COLORS_OFF, PROPERTY_PREFIX, USER_COLORS, VALID_PROPERTY  # noqa: F401 (callers read module.NAME too)


GROUP = "ProPose uncertainty"


# Upper bounds (degrees) of the first four classes; the fifth is everything above.
CLASS_LIMITS = (5.0, 10.0, 20.0, 40.0)
CLASS_COLORS = (  # sRGB, as bone colour sets take them
    (0.192, 0.408, 0.557),
    (0.129, 0.569, 0.549),
    (0.208, 0.718, 0.475),
    (0.565, 0.843, 0.263),
    (0.992, 0.906, 0.145),
)
NO_PERSON_COLOR = (0.45, 0.45, 0.45)


def legend() -> list[tuple[str, tuple[float, float, float]]]:
    """(label, colour) per class, lowest uncertainty first, then the colour of frames without a person."""
    bounds = (0.0, *CLASS_LIMITS)
    labels = [f"{lo:g}–{hi:g}°" for lo, hi in zip(bounds[:-1], bounds[1:])] + [f"≥ {CLASS_LIMITS[-1]:g}°"]
    return [*zip(labels, CLASS_COLORS), ("no person found", NO_PERSON_COLOR)]


def class_of(degrees: np.ndarray) -> np.ndarray:
    """Colour class index (0..4) of each uncertainty in degrees."""
    return np.searchsorted(np.asarray(CLASS_LIMITS), np.asarray(degrees), side="right")


def property_name(bone: str) -> str:
    return f"{PROPERTY_PREFIX}{bone}"


def write_curves(rig: bpy.types.Object, frames: np.ndarray, valid: np.ndarray, degrees: np.ndarray) -> None:
    """Key per-bone uncertainty (frames with a person) and the person-found flag (every frame)."""
    bag = keyframes.channelbag(rig)
    for j, bone in enumerate(rig_module.all_joint_names(rig)[:degrees.shape[1]]):
        name = property_name(bone)
        rig[name] = 0.0
        rig.id_properties_ui(name).update(
            min=0.0, max=180.0,
            description=f"Posterior uncertainty of {bone} in degrees (expected angle of a sample from the mode)")
        keyframes.write_curve(bag, f'["{name}"]', 0, frames[valid], degrees[valid, j], group=GROUP)
    rig[VALID_PROPERTY] = 1
    rig.id_properties_ui(VALID_PROPERTY).update(min=0, max=1, description="1 where the backend found the person")
    keyframes.write_curve(bag, f'["{VALID_PROPERTY}"]', 0, frames, valid.astype(np.float32), group=GROUP,
                          interpolation="CONSTANT")


def at_frame(rig: bpy.types.Object, frame: float) -> np.ndarray | None:
    """Per-bone uncertainty (24, or 54 with the fingers) at `frame`, NaN where no person was found;
    None without curves."""
    bag = keyframes.find_channelbag(rig)
    if bag is None:
        return None
    curves = [bag.fcurves.find(f'["{property_name(b)}"]') for b in rig_module.all_joint_names(rig)]
    if any(c is None or not c.keyframe_points for c in curves[:24]):
        return None
    curves = [c for c in curves if c is not None]  # a rig from before fingers stops at 24
    flag = bag.fcurves.find(f'["{VALID_PROPERTY}"]')
    if flag is not None and flag.evaluate(frame) < 0.5:
        return np.full(len(curves), np.nan)
    return np.array([c.evaluate(frame) for c in curves])


def _shade(color: tuple[float, float, float], amount: float) -> tuple[float, float, float]:
    """`color` mixed towards white, for the selected and active states."""
    return tuple(c + (1.0 - c) * amount for c in color)


def _bone_color_state(pose_bone: bpy.types.PoseBone) -> dict:
    color = pose_bone.color
    custom = color.custom
    return {"palette": color.palette, "normal": list(custom.normal), "select": list(custom.select),
            "active": list(custom.active), "constraints": bool(custom.show_colored_constraints)}


def keep_user_colors(rig: bpy.types.Object) -> None:
    """Remember each pose bone's own colour (once, until `restore_user_colors`)."""
    if USER_COLORS not in rig:
        rig[USER_COLORS] = {b.name: _bone_color_state(b) for b in rig.pose.bones}


def restore_user_colors(rig: bpy.types.Object) -> None:
    """Put back the colours kept by `keep_user_colors`, exactly, and forget them."""
    kept = rig.get(USER_COLORS)
    if kept is None:
        return
    for name, state in kept.to_dict().items():
        pose_bone = rig.pose.bones.get(name)
        if pose_bone is None:
            continue
        custom = pose_bone.color.custom
        custom.normal, custom.select, custom.active = state["normal"], state["select"], state["active"]
        custom.show_colored_constraints = state["constraints"]
        pose_bone.color.palette = state["palette"]
    del rig[USER_COLORS]


def enabled(scene: bpy.types.Scene) -> bool:
    return not scene.get(COLORS_OFF, 0)


def set_enabled(scene: bpy.types.Scene, on: bool) -> None:
    """Show the uncertainty colours on every ProPose rig of `scene`, or give the bones their own back
    (on every armature these colours were painted on: the rigs and their retarget targets)."""
    scene[COLORS_OFF] = 0 if on else 1
    if on:
        refresh(scene)
        return
    for obj in scene.objects:
        if obj.type == "ARMATURE" and USER_COLORS in obj:
            restore_user_colors(obj)


def colors_of(degrees: np.ndarray) -> np.ndarray:
    """(N, 3) bone colours of uncertainties (N,) in degrees: the legend's class colours, grey where
    NaN (no person). The one mapping the rig, a retarget target and the stills show."""
    degrees = np.asarray(degrees, dtype=np.float64).reshape(-1)
    colors = np.array([CLASS_COLORS[c] for c in class_of(np.nan_to_num(degrees, nan=0.0))]).reshape(-1, 3)
    colors[np.isnan(degrees)] = NO_PERSON_COLOR
    return colors


def color_bones(rig: bpy.types.Object, degrees: np.ndarray) -> None:
    """Set every pose bone's custom colour from its uncertainty (NaN: no person, grey)."""
    paint_bones(rig, dict(zip(rig_module.all_joint_names(rig)[:len(degrees)], colors_of(degrees))))


def paint_bones(armature: bpy.types.Object, colors: dict[str, np.ndarray]) -> None:
    """Give these pose bones these colours (their own are kept, to come back when colours go off)."""
    keep_user_colors(armature)
    for bone, color in colors.items():
        color = tuple(float(c) for c in color)
        pose_bone = armature.pose.bones.get(bone)
        if pose_bone is None:
            continue
        custom = pose_bone.color.custom  # stored as 8-bit colour, hence the tolerance below
        if pose_bone.color.palette == "CUSTOM" and np.allclose(custom.normal, color, atol=0.005):
            continue
        pose_bone.color.palette = "CUSTOM"
        custom.normal = color
        custom.select = _shade(color, 0.45)
        custom.active = _shade(color, 0.7)


def refresh(scene: bpy.types.Scene) -> None:
    """Colour every ProPose rig of `scene` for its current frame (unless the colours are switched off)."""
    if not enabled(scene):
        return
    for rig in rig_module.find_rigs(scene):
        degrees = at_frame(rig, scene.frame_current)
        if degrees is not None:
            color_bones(rig, degrees)


@persistent
def on_frame_change(scene: bpy.types.Scene, *_args) -> None:
    refresh(scene)


@persistent
def on_load(*_args) -> None:
    for scene in bpy.data.scenes:
        refresh(scene)
