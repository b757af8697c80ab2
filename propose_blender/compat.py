"""Everything that differs between the Blender releases the add-on supports, in one place.

The rest of the add-on calls these helpers and never looks at `bpy.app.version` itself. Each
difference is detected from Blender's own API description (does this property or parameter exist?)
rather than from a version number, so a point release that back-ports a change still works.

Supported and tested: TESTED_BLENDERS (`python dev.py test` runs the add-on suite on each). What the
releases do differently, and how the helpers hide it:

- Actions: 4.4 introduced layered actions (action -> slot -> layer -> keyframe strip -> channelbag
  -> F-curves); 4.2 keeps F-curves on the action itself. `channelbag` / `find_channelbag` return the
  F-curve container either way (the 4.2 action has the same `fcurves.find/new/remove` calls).
- F-curve groups: 5.0's `channelbag.fcurves.new` takes `group_name`; 4.4/4.5 take no group (the
  curve joins a group afterwards); 4.2's `action.fcurves.new` takes `action_group`. `new_fcurve`.
- Bone selection: 5.0 keeps it on the pose bone, earlier releases on the armature's bone.
  `pose_bone_selected`, `set_pose_bone_selected`.
- Materials: before 5.0 a new material has no node tree until `use_nodes` is set; 5.0 always has one
  (and deprecates `use_nodes`). `principled_bsdf`.
- Exit of the `bpy` module (4.2, 4.5): Blender shuts down only when the `bpy` module object is freed;
  anything that still holds `bpy` then makes the process crash (4.2) or hang (4.5) on exit.
  `release_at_exit`.
- Newer releases than the newest tested: `untested_notice` gives the one line the preferences show.
"""
from __future__ import annotations

import atexit
import gc
import sys
from typing import Callable, Iterable

import bpy

# The bpy releases the add-on's whole test suite passes on (oldest first); dev.py reads this table to
# build one test environment per release, and blender_manifest.toml's minimum is the first entry.
TESTED_BLENDERS = ("4.2.23", "4.5.15", "5.0.1")

LAYERED_ACTIONS = "slots" in bpy.types.Action.bl_rna.properties  # Blender 4.4+
LAYER_NAME = "ProPose"


def _parameters(struct: str, function: str) -> set[str]:
    rna = getattr(bpy.types, struct, None)
    if rna is None or function not in rna.bl_rna.functions:
        return set()
    return {p.identifier for p in rna.bl_rna.functions[function].parameters}


_FCURVE_GROUP_ARG = "group_name" if "group_name" in _parameters("ActionChannelbagFCurves", "new") else None
_MATERIAL_NODES_ON_REQUEST = "use_nodes" in bpy.types.Material.bl_rna.properties and \
    not bpy.types.Material.bl_rna.properties["use_nodes"].is_readonly


def version_text(version: Iterable[int] | None = None) -> str:
    return ".".join(str(v) for v in (version or bpy.app.version))


# --- actions, channelbags, F-curves ------------------------------------------------------------------

def channelbag(obj: bpy.types.Object):
    """The F-curve container of `obj`'s action, creating action (and slot, layer, strip) if needed.

    4.4+: the channelbag of the object's slot in the action's first keyframe strip; 4.2: the action."""
    anim = obj.animation_data or obj.animation_data_create()
    action = anim.action
    if action is None:
        action = bpy.data.actions.new(f"{obj.name} motion")
        anim.action = action
    if not LAYERED_ACTIONS:
        return action
    slot = anim.action_slot
    if slot is None:
        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        anim.action_slot = slot
    layer = action.layers[0] if action.layers else action.layers.new(LAYER_NAME)
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def find_channelbag(obj: bpy.types.Object):
    """The existing F-curve container of `obj`'s action, or None (never creates anything)."""
    anim = obj.animation_data
    if anim is None or anim.action is None:
        return None
    if not LAYERED_ACTIONS:
        return anim.action
    if anim.action_slot is None:
        return None
    for layer in anim.action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(anim.action_slot)
            if bag is not None:
                return bag
    return None


def new_fcurve(bag, data_path: str, index: int = 0, group: str = "") -> bpy.types.FCurve:
    """A new F-curve in `bag` (from `channelbag`), in the channel group `group` ("" for none)."""
    if not LAYERED_ACTIONS:
        return bag.fcurves.new(data_path, index=index, action_group=group)
    if _FCURVE_GROUP_ARG:
        return bag.fcurves.new(data_path, index=index, **{_FCURVE_GROUP_ARG: group})
    fcurve = bag.fcurves.new(data_path, index=index)
    if group:
        fcurve.group = bag.groups.get(group) or bag.groups.new(group)
    return fcurve


# --- bones -------------------------------------------------------------------------------------------

_SELECT_ON_POSE_BONE = "select" in bpy.types.PoseBone.bl_rna.properties  # Blender 5.0+


def pose_bone_selected(pose_bone: bpy.types.PoseBone) -> bool:
    """Whether the bone is selected: the pose bone holds that from 5.0, the armature's bone before."""
    return bool(pose_bone.select if _SELECT_ON_POSE_BONE else pose_bone.bone.select)


def set_pose_bone_selected(pose_bone: bpy.types.PoseBone, state: bool) -> None:
    if _SELECT_ON_POSE_BONE:
        pose_bone.select = state
    else:
        pose_bone.bone.select = state


# --- materials ---------------------------------------------------------------------------------------

def principled_bsdf(material: bpy.types.Material) -> bpy.types.ShaderNode | None:
    """The material's Principled BSDF node (what EEVEE and Cycles shade with), giving the material its
    default node tree first where Blender makes one only on request; None if it has no such node."""
    if material.node_tree is None and _MATERIAL_NODES_ON_REQUEST:
        material.use_nodes = True
    if material.node_tree is None:
        return None
    return next((n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)


# --- versions ----------------------------------------------------------------------------------------

def _series(version: Iterable[int | str]) -> tuple[int, int]:
    major, minor = list(version)[:2]
    return int(major), int(minor)


def untested_notice(version: Iterable[int] | None = None) -> str | None:
    """One line for the preferences when this Blender is not a release series the tests run on (a newer
    one, or one between the tested ones); None on a tested series."""
    version = tuple(version or bpy.app.version)
    tested = [_series(v.split(".")) for v in TESTED_BLENDERS]
    if _series(version) in tested:
        return None
    names = ", ".join(f"{major}.{minor}" for major, minor in tested)
    relation = "newer than the releases" if _series(version) > tested[-1] else "not one of the releases"
    return f"Blender {version_text(version)} is {relation} ProPose is tested on ({names}); please report any problem"


# --- clean exit of the bpy module --------------------------------------------------------------------

# Blender 5.0 shuts the module down at interpreter exit whatever still refers to it; 4.2 and 4.5 only
# when the `bpy` module object itself is freed (there is no API to ask which, hence the version).
_EXIT_NEEDS_HELP = not bpy.app.binary_path and bpy.app.version < (5, 0, 0)
_exit_hooks: list[Callable[[], None]] = []


def release_at_exit(unregister: Callable[[], None]) -> None:
    """Have `unregister` called at interpreter exit (it must do nothing when the add-on is no longer
    registered), before the clean-up below; only where that clean-up is needed."""
    if _EXIT_NEEDS_HELP and unregister not in _exit_hooks:
        _exit_hooks.append(unregister)


def _on_exit() -> None:
    """Make the Python process exit cleanly after the add-on ran in the 4.2 / 4.5 `bpy` module.

    Those releases run Blender's shutdown when the `bpy` module object is freed, as the interpreter
    tears down. Whatever still holds `bpy` then (a class left registered, a property group that 4.2
    keeps after unregistering, the rig UI script a generated Rigify rig registers, all through their
    functions' globals) stops that: the process crashes (4.2) or hangs (4.5) on exit. So: unregister,
    then let every module's globals be cleared, so `bpy` is freed and Blender shuts down normally.
    A real Blender unregisters add-ons itself when it quits; nothing is done there, nor on 5.0."""
    for unregister in _exit_hooks:
        try:
            unregister()
        except Exception as exc:  # exiting anyway: say what went wrong, then keep cleaning up
            print(f"ProPose: unregistering at exit failed: {exc}")
    _exit_hooks.clear()
    # Python clears the globals of every module still alive late in its shutdown; keeping them all
    # alive until then (sys is cleared after that step) clears the globals leaked functions hold.
    sys._propose_modules_kept_for_exit = [m for m in list(sys.modules.values()) if m is not None]
    # Globals that belong to no module (scripts run with exec(..., {})) are never cleared: drop `bpy`.
    module = sys.modules.get("bpy")
    owned = {id(vars(m)) for m in sys._propose_modules_kept_for_exit if hasattr(m, "__dict__")}
    for holder in gc.get_referrers(module) if module is not None else ():
        if isinstance(holder, dict) and id(holder) not in owned:
            for key in [k for k, v in holder.items() if v is module]:
                del holder[key]


if _EXIT_NEEDS_HELP:
    atexit.register(_on_exit)
