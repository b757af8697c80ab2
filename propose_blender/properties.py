"""The add-on's own properties: per-scene settings (saved) and the state of a running job (not saved)."""

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty, PointerProperty,
                       StringProperty)

from . import bridge, uncertainty

_DETECTOR_LABELS = {"auto": "Auto", "blazepose": "BlazePose", "hog": "HOG", "full-frame": "Full Frame"}
DETECTORS = [(name, _DETECTOR_LABELS.get(name, name), text) for name, text in bridge.request().DETECTORS.items()]


class ProposeSceneSettings(bpy.types.PropertyGroup):
    """Saved with the .blend: what to estimate and how ghosts behave."""

    input_path: StringProperty(name="Footage", subtype="FILE_PATH",
                               description="Image or video with the person to estimate")
    use_frame_range: BoolProperty(name="Frame range", default=False,
                                  description="Estimate only part of the video")
    frame_first: IntProperty(name="First", default=1, min=1, description="First video frame (1 = the first)")
    frame_last: IntProperty(name="Last", default=250, min=1, description="Last video frame, included")
    frame_step: IntProperty(name="Step", default=1, min=1, description="Estimate every n-th frame")
    people_json: StringProperty(default="", options={"HIDDEN"},
                                description="The people Find People found (the backend's people event, JSON)")
    person: IntProperty(name="Person", default=0, min=0,
                        description="Number of the person to follow (0: let the detector pick)")
    everyone: BoolProperty(name="Everyone", default=False,
                           description="Follow every person in the footage: one rig and body per person")
    merge_keep: IntProperty(name="Keep", default=1, min=1, description="Person whose number and rig stay")
    merge_other: IntProperty(name="Merge", default=2, min=1, description="Person joined into them")
    detector: EnumProperty(name="Detector", items=DETECTORS, default="auto",
                           description="How the person is found in the footage")
    mirrored: BoolProperty(name="Mirrored", default=False,
                           description="The footage is mirrored (a selfie camera): swap left and right")
    focal_px: FloatProperty(name="Focal length (px)", default=0.0, min=0.0, soft_max=10000.0,
                            description="Focal length of the footage in pixels; 0: from the image diagonal "
                                        "(~53 degree diagonal field of view)")
    ghosts_follow_frame: BoolProperty(name="Follow frame", default=True,
                                      description="Re-pose the ghosts whenever the frame changes")
    ghost_spacing: FloatProperty(name="Spacing", default=0.8, min=0.0, soft_max=3.0, unit="LENGTH",
                                 description="Distance between ghosts along x; 0 puts them over the body")

    def footage_request(self) -> dict:
        """The request fields that describe this scene's footage (runner.estimate_request takes them)."""
        return {"frames": self.frames_argument(), "detector": self.detector, "mirrored": self.mirrored,
                "focal_px": self.focal_px or None, "everyone": self.everyone}

    def frames_argument(self) -> str | None:
        """The protocol's "A:B:STEP" (0-based source frames, end exclusive, like a Python slice)."""
        if not self.use_frame_range:
            return None
        return f"{self.frame_first - 1}:{max(self.frame_first, self.frame_last)}:{self.frame_step}"


def _swatch(index: int) -> FloatVectorProperty:
    label, _ = uncertainty.legend()[index]
    return FloatVectorProperty(name=label, subtype="COLOR_GAMMA", size=3,
                               get=lambda _self: uncertainty.legend()[index][1])


class ProposeRunState(bpy.types.PropertyGroup):
    """Not saved: progress of the running job for the panel, and the legend's colour swatches."""

    running: BoolProperty(default=False)
    cancel_requested: BoolProperty(default=False)
    status: StringProperty(default="")
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    last_error: StringProperty(default="")
    backend_report: StringProperty(default="")
    legend_0: _swatch(0)
    legend_1: _swatch(1)
    legend_2: _swatch(2)
    legend_3: _swatch(3)
    legend_4: _swatch(4)
    legend_5: _swatch(5)


CLASSES = (ProposeSceneSettings, ProposeRunState)


def attach() -> None:
    bpy.types.Scene.propose = PointerProperty(type=ProposeSceneSettings)
    bpy.types.WindowManager.propose = PointerProperty(type=ProposeRunState)


def detach() -> None:
    del bpy.types.WindowManager.propose
    del bpy.types.Scene.propose
