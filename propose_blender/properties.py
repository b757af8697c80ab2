"""The add-on's own properties, all of them: per-scene settings (saved with the .blend) for running,
reviewing and retargeting, and the state of a running job (not saved). Preferences: preferences.py."""

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty, PointerProperty,
                       StringProperty)

from . import bone_map, bridge, review, uncertainty

DETECTORS = bridge.request().choice_items(bridge.request().DETECTORS)


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
                           description="The footage is mirrored (a selfie camera): the rig is the person with their own "
                                       "left and right, facing the camera as they did; the camera shows the footage "
                                       "flipped left-right, with the rig on the person")
    focal_px: FloatProperty(name="Focal length (px)", default=0.0, min=0.0, soft_max=10000.0,
                            description="Focal length of the footage in pixels; 0: from the image diagonal "
                                        "(~53 degree diagonal field of view)")
    still_camera: BoolProperty(name="Still camera", default=False,
                               description="Tripod footage: do not solve the camera's motion, and place the clip "
                                           "as filmed from one spot (a solve that finds no motion does this by itself)")
    ghosts_follow_frame: BoolProperty(name="Follow frame", default=True,
                                      description="Re-pose the ghosts whenever the frame changes")
    ghost_spacing: FloatProperty(name="Spacing", default=0.8, min=0.0, soft_max=3.0, unit="LENGTH",
                                 description="Distance between ghosts along x; 0 puts them over the body")

    def footage_request(self) -> dict:
        """The request fields that describe this scene's footage (runner.estimate_request takes them)."""
        return {"frames": self.frames_argument(), "detector": self.detector, "mirrored": self.mirrored,
                "focal_px": self.focal_px or None, "still_camera": self.still_camera, "everyone": self.everyone}

    def first_frame(self) -> int:
        """The run's first source frame (0-based): where Find People looks and the track starts."""
        return self.frame_first - 1 if self.use_frame_range else 0

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


def _review_settings_changed(_self, context: bpy.types.Context) -> None:
    review.refresh_markers(context)


class ProposeReviewSettings(bpy.types.PropertyGroup):
    """Saved with the .blend: how the review queue ranks, and how ghosts are applied in part."""

    threshold: FloatProperty(
        name="Threshold", default=20.0, min=0.0, soft_max=90.0, precision=1,
        description="A frame is uncertain where some bone's expected error reaches this many degrees",
        update=_review_settings_changed)
    selected_only: BoolProperty(
        name="Selected bones only", default=False,
        description="Rank only the bones selected in Pose Mode (e.g. one arm); otherwise every bone",
        update=_review_settings_changed)
    show_markers: BoolProperty(
        name="Timeline markers", default=True,
        description=f"Mark the {review.MAX_MARKERS} most uncertain spans in the timeline (markers named "
                    f"'{review.MARKER_PREFIX}bone degrees')", update=_review_settings_changed)
    show_colors: BoolProperty(
        name="Uncertainty colours", description="Colour bones by uncertainty; off gives the bones their own "
                                                "colours back, exactly as they were",
        get=lambda self: uncertainty.enabled(self.id_data),
        set=lambda self, on: uncertainty.set_enabled(self.id_data, on))
    ghost_use_range: BoolProperty(
        name="Frame range", default=False,
        description="Apply the ghost over a frame range (eased in and out) instead of the current frame only")
    ghost_first: IntProperty(name="First", default=1, description="First frame that takes the ghost")
    ghost_last: IntProperty(name="Last", default=1, description="Last frame that takes the ghost")
    ghost_ease: IntProperty(name="Ease", default=4, min=0, soft_max=30,
                            description="Frames at each end of the range over which the swap fades in and out")
    resolve_strength: FloatProperty(name="Smoothing", default=bridge.request().DEFAULT_SMOOTH,
                                    min=bridge.request().SMOOTH_RANGE[0], max=bridge.request().SMOOTH_RANGE[1],
                                    soft_max=4.0,
                                    description="Temporal smoothing strength of the re-solve (1 = default, "
                                                "2 = smoother, 0.5 = closer to each frame's estimate)")
    resolve_seed: IntProperty(name="Seed", default=bridge.request().DEFAULT_SEED, min=0,
                              description="Random seed of the re-drawn ghosts (same pins and seed, same result)")


_PRESET_ITEMS: list[tuple[str, str, str]] = []  # kept alive: Blender does not copy dynamic enum strings


def _presets(_self, _context) -> list[tuple[str, str, str]]:
    if _PRESET_ITEMS:
        return _PRESET_ITEMS
    items = _PRESET_ITEMS
    for name in bone_map.preset_names():
        if name == "smpl":
            continue
        preset = bone_map.preset(name)
        items.append((name, preset.name, preset.description))
    items.append(("FILE", "Bone map file…", "A bone map .json of your own (copy a preset and edit it)"))
    return items


def _is_armature(_self, obj: bpy.types.Object) -> bool:
    return obj.type == "ARMATURE"


class ProposeRetargetSettings(bpy.types.PropertyGroup):
    """Saved with the .blend: the retarget target and map, and the export preset."""

    target: PointerProperty(name="Target rig", type=bpy.types.Object, poll=_is_armature,
                            description="The armature to bake the motion onto; empty with the Rigify map "
                                        "generates a Rigify rig fitted to the body")
    preset: EnumProperty(name="Bone map", items=_presets, description="Which bone plays which joint")
    map_file: StringProperty(name="Map file", subtype="FILE_PATH", description="Your bone map (.json)")
    export_path: StringProperty(name="File", subtype="FILE_PATH", default="//propose.fbx",
                                description="Where to export: .fbx, .bvh, .glb or .gltf")
    engine: EnumProperty(name="For", items=[("BLENDER", "Blender", "Blender's own importers"),
                                            ("UNREAL", "Unreal", "Unreal Engine (FBX in centimetres)"),
                                            ("UNITY", "Unity", "Unity (FBX units applied to the file)")])

    def bone_map(self) -> bone_map.BoneMap:
        if self.preset == "FILE":
            if not self.map_file:
                raise bone_map.BoneMapError("Pick a bone map file, or one of the presets.")
            return bone_map.load(bpy.path.abspath(self.map_file))
        return bone_map.preset(self.preset)


CLASSES = (ProposeSceneSettings, ProposeRunState, ProposeReviewSettings, ProposeRetargetSettings)


def attach() -> None:
    bpy.types.Scene.propose = PointerProperty(type=ProposeSceneSettings)
    bpy.types.WindowManager.propose = PointerProperty(type=ProposeRunState)
    bpy.types.Scene.propose_review = PointerProperty(type=ProposeReviewSettings)
    bpy.types.Scene.propose_retarget = PointerProperty(type=ProposeRetargetSettings)


def detach() -> None:
    del bpy.types.Scene.propose_retarget
    del bpy.types.Scene.propose_review
    del bpy.types.WindowManager.propose
    del bpy.types.Scene.propose
