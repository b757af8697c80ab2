"""Add-on preferences: which Python runs the backend, where the model files are, device, samples."""

import os
from dataclasses import dataclass

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from . import backend_env, bridge, compat

ADDON_ID = __package__ or "propose_blender"
PYTHON_ENV_VAR = "PROPOSE_BACKEND_PYTHON"  # lets scripts and CI point at a backend without preferences

DEVICES = bridge.request().choice_items(bridge.request().DEVICES)
ESTIMATORS = bridge.request().choice_items(bridge.request().ESTIMATORS)


@dataclass
class BackendSettings:
    """The preferences as plain values, so headless code needs no registered add-on."""

    python: str = ""
    model_folder: str = ""
    device: str = "auto"
    estimator: str = "auto"
    samples: int = bridge.request().DEFAULT_SAMPLES
    allow_random_weights: bool = False
    smooth: float = bridge.request().DEFAULT_SMOOTH  # temporal smoothing strength of videos; 0 = off
    seed: int = bridge.request().DEFAULT_SEED  # random seed of the ghosts (posterior samples)

    def request_fields(self) -> dict:
        """The request fields these preferences set (runner.estimate_request takes them)."""
        return {"samples": self.samples, "device": self.device, "estimator": self.estimator,
                "allow_random_weights": self.allow_random_weights, "smooth": self.smooth, "seed": self.seed}


class ProposePreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    backend_python: StringProperty(
        name="Backend Python", subtype="FILE_PATH",
        description="Interpreter that runs the backend (needs torch). Empty: the environment made by "
                    "'Set up backend'")
    model_folder: StringProperty(
        name="Model files", subtype="DIR_PATH",
        description="Folder with propose_hr48_xyz.pth and an SMPL / SMPL-H / SMPL-X body file (see model_files/README.md)")
    device: EnumProperty(name="Device", items=DEVICES, default="auto")
    estimator: EnumProperty(name="Estimator", items=ESTIMATORS, default="auto")
    samples: IntProperty(name="Ghost samples", default=bridge.request().DEFAULT_SAMPLES, min=0, max=64,
                         description="Posterior samples drawn per frame, shown as ghost poses")
    seed: IntProperty(name="Seed", default=bridge.request().DEFAULT_SEED, min=0,
                      description="Random seed of the ghost poses: another seed draws other samples")
    smooth_motion: BoolProperty(
        name="Smooth motion", default=True,
        description="Fuse the per-frame poses of a video over time: steadier bones, feet that stay put, "
                    "ghosts that move smoothly (off: every frame as estimated)")
    smooth_strength: FloatProperty(
        name="Strength", default=bridge.request().DEFAULT_SMOOTH, min=bridge.request().SMOOTH_RANGE[0],
        max=bridge.request().SMOOTH_RANGE[1], soft_max=4.0,
        description="How strongly to smooth: 1 default, 2 smoother, 0.5 closer to the per-frame poses")
    allow_random_weights: BoolProperty(
        name="Allow random weights (testing only)", default=False,
        description="Run without the checkpoint on random network weights: the poses mean nothing")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        notice = compat.untested_notice()
        if notice:
            layout.label(text=notice, icon="ERROR")
        layout.prop(self, "backend_python")
        env = backend_env.env_python(backend_env.private_env_dir())
        if not self.backend_python:
            layout.label(text=f"Using {env}" if env.is_file() else "No backend environment yet: press Set up backend",
                         icon="INFO")
        layout.prop(self, "model_folder")
        row = layout.row()
        row.prop(self, "estimator")
        row.prop(self, "device")
        row.prop(self, "samples")
        row.prop(self, "seed")
        draw_smoothing(layout, self)
        layout.prop(self, "allow_random_weights")
        row = layout.row()
        row.operator("propose.setup_backend", icon="IMPORT")
        row.operator("propose.check_backend", icon="CHECKMARK")
        state = context.window_manager.propose
        if state.running:
            layout.label(text=state.status, icon="TIME")
        for line in state.backend_report.splitlines():
            layout.label(text=line)


def draw_smoothing(layout: bpy.types.UILayout, prefs: "ProposePreferences") -> None:
    """The smoothing switch and strength (preferences and the panel's Smoothing section)."""
    row = layout.row(align=True)
    row.prop(prefs, "smooth_motion")
    sub = row.row(align=True)
    sub.enabled = prefs.smooth_motion
    sub.prop(prefs, "smooth_strength")


def addon_preferences(context: bpy.types.Context) -> "ProposePreferences | None":
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is not None and isinstance(addon.preferences, ProposePreferences):
        return addon.preferences
    return None


def settings(context: bpy.types.Context | None = None) -> BackendSettings:
    """Current preferences; defaults (plus $PROPOSE_BACKEND_PYTHON) when the add-on is not enabled."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is not None and isinstance(addon.preferences, ProposePreferences):
        prefs = addon.preferences
        found = BackendSettings(prefs.backend_python, prefs.model_folder, prefs.device, prefs.estimator,
                                prefs.samples, prefs.allow_random_weights,
                                prefs.smooth_strength if prefs.smooth_motion else 0.0, prefs.seed)
    else:
        found = BackendSettings()
    if not found.python:
        env = backend_env.env_python(backend_env.private_env_dir())
        found.python = os.environ.get(PYTHON_ENV_VAR) or (str(env) if env.is_file() else "")
    found.python = bpy.path.abspath(found.python) if found.python.startswith("//") else found.python
    return found

