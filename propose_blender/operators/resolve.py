"""Buttons of "edit one key, re-solve the rest": pin posed bones, remove pins, re-solve around them.

The re-solve is a backend job like Run (modal, Esc-safe, the same driver); when it returns, the new
motion goes into the keys around the pins in the same operator, so Ctrl Z undoes all of it at once.
"""
from pathlib import Path

import bpy
from bpy.props import IntProperty

from .. import bridge, importer, pins, preferences, results, review, runner
from ..jobs import JobOperator
from ..rig import active_rig


class _PinOperator:
    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_rig(context) is not None


class PROPOSE_OT_pin_pose(_PinOperator, bpy.types.Operator):
    """Pin the selected bones' current pose on this frame (and key it); re-solve makes the footage follow"""

    bl_idname = "propose.pin_pose"
    bl_label = "Pin Selected Bones"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig, frame = active_rig(context), context.scene.frame_current
        try:
            count = pins.pin(rig, frame, review.selected_bones(rig))
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Pinned {count} bone(s) on frame {frame}; press Re-solve around edits.")
        return {"FINISHED"}


class PROPOSE_OT_remove_pin(_PinOperator, bpy.types.Operator):
    """Remove this pin (the keys stay until the next re-solve)"""

    bl_idname = "propose.remove_pin"
    bl_label = "Remove Pin"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Pin", default=-1, min=-1, description="Pin to remove; -1: every pin")

    def execute(self, context: bpy.types.Context) -> set[str]:
        pins.remove(active_rig(context), None if self.index < 0 else self.index)
        return {"FINISHED"}


def resolved_path(source: Path) -> Path:
    """Where the re-solved results go: beside the imported file, which stays the re-solve's input."""
    return source.with_name(f"{source.stem}.resolved.npz")


class PROPOSE_OT_resolve(JobOperator, bpy.types.Operator):
    """Re-solve the motion around the pins: the footage fills in the frames between them, ghosts are re-drawn"""

    bl_idname = "propose.resolve"
    bl_label = "Re-solve around Edits"
    bl_options = {"REGISTER", "UNDO"}  # the replaced keys are one undo step

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        rig = active_rig(context)
        return rig is not None and not context.window_manager.propose.running

    def make_job(self, context: bpy.types.Context) -> runner.EstimateRun | None:
        rig = active_rig(context)
        self._rig_name = rig.name
        source = Path(bpy.path.abspath(rig.get(importer.RESULTS_PATH, "")))
        if not rig.get(importer.RESULTS_PATH) or not source.is_file():
            self.report({"ERROR"}, f"The results file this body came from is gone ({source}). Re-solving starts "
                                   "from it: put it back, or import it again.")
            return None
        try:
            message = pins.message(rig, results.read(source))  # the file says whether its camera moves
        except bridge.schema().ResultsError as exc:
            self.report({"ERROR"}, str(exc))
            return None
        if not message:
            self.report({"ERROR"}, "No pins yet: pose bones on a frame, select them and press Pin Selected Bones.")
            return None
        settings = context.scene.propose_review
        try:
            request = runner.resolve_request(input=source, output=resolved_path(source), pins=message,
                                             strength=settings.resolve_strength, seed=settings.resolve_seed)
        except ValueError as exc:  # the backend's RequestError: a setting it would refuse
            self.report({"ERROR"}, str(exc))
            return None
        return runner.EstimateRun(preferences.settings(context).python, request)

    def job_finished(self, context: bpy.types.Context, job: runner.EstimateRun) -> set[str]:
        if job.state != runner.FINISHED:
            self.report({"ERROR"} if job.error else {"WARNING"},
                        job.error.splitlines()[0] if job.error else "Re-solve cancelled; the keys are unchanged.")
            return {"CANCELLED"}
        rig = bpy.data.objects.get(self._rig_name)
        if rig is None:
            self.report({"ERROR"}, "The body was deleted while re-solving.")
            return {"CANCELLED"}
        try:
            data = results.read(job.output)
        except bridge.schema().ResultsError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return finish_resolve(self, context, rig, data)


def finish_resolve(operator: bpy.types.Operator | None, context: bpy.types.Context, rig: bpy.types.Object,
                   data: dict) -> set[str]:
    """Take re-solved results into the rig, refresh queue and markers, and say what changed."""
    frames = pins.apply_resolved(rig, data)
    review.build(rig)
    review.refresh_markers(context)
    context.scene.frame_set(context.scene.frame_current)
    if operator is not None:
        text = (f"Re-solved frames {int(frames[0])}–{int(frames[-1])} ({len(frames)} frames)" if len(frames)
                else "Re-solved: the keys already match the pins; nothing changed")
        operator.report({"INFO"}, text)
    return {"FINISHED"}


CLASSES = (PROPOSE_OT_pin_pose, PROPOSE_OT_remove_pin, PROPOSE_OT_resolve)
