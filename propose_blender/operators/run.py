"""Run: estimate the footage with the backend and build the rig; find and pick the person; cancel."""
from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import bpy
from bpy.props import IntProperty

from .. import backend_env, cast, importer, people, preferences, runner
from ..jobs import JobOperator, redraw


def results_path(footage: Path) -> Path:
    """Where a run writes its results: beside the saved .blend, else in the temporary folder.

    The name holds the time and this Blender's process id, and never names a file or an unfinished
    run's chunks that exist already: two Blenders (or two runs) started in the same second would
    otherwise write into, and clear, each other's results."""
    folder = Path(bpy.data.filepath).parent if bpy.data.filepath else Path(tempfile.gettempdir())
    stem = f"{footage.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for attempt in itertools.count(1):
        path = folder / "propose_results" / f"{stem}{'' if attempt == 1 else f'-{attempt}'}.npz"
        if not path.exists() and not path.with_name(path.name + ".chunks").exists():
            return path


class PROPOSE_OT_run(JobOperator, bpy.types.Operator):
    """Estimate the body in the chosen footage with the backend, then build the animated rig"""

    bl_idname = "propose.run"
    bl_label = "Run ProPose"
    bl_options = {"REGISTER", "UNDO"}  # the import is one undo step, not folded into the next one

    def make_job(self, context: bpy.types.Context) -> runner.EstimateRun | None:
        settings = context.scene.propose
        footage = Path(bpy.path.abspath(settings.input_path)) if settings.input_path else None
        if footage is None:
            self.report({"ERROR"}, "Pick an image or a video first (the Footage field in the ProPose panel).")
            return None
        if not footage.is_file():
            problem = "is a folder, not a file" if footage.is_dir() else "does not exist"
            message = f"The footage {footage} {problem}; check the Footage path in the ProPose panel."
            context.window_manager.propose.last_error = message
            self.report({"ERROR"}, message)
            return None
        prefs = preferences.settings(context)
        problem = backend_env.model_folder_problem(prefs.model_folder)
        if problem:
            self.report({"ERROR"}, problem)
            return None
        try:
            request = runner.estimate_request(input=footage, output=results_path(footage),
                                              person=None if settings.everyone else
                                              people.chosen_person(context.scene, settings.first_frame()),
                                              **prefs.request_fields(),
                                              **settings.footage_request())
        except ValueError as exc:  # the backend's RequestError: a setting it would refuse
            self.report({"ERROR"}, str(exc))
            return None
        return runner.EstimateRun(prefs.python, request, model_folder=backend_env.model_folder(prefs.model_folder))

    def job_finished(self, context: bpy.types.Context, job: runner.EstimateRun) -> set[str]:
        output = job.output if job.state == runner.FINISHED else job.partial_output()
        if output is None:
            if job.state == runner.CANCELLED:
                self.report({"WARNING"}, "Cancelled before any frame was finished.")
            else:
                self.report({"ERROR"}, job.reason or "The run failed.")
            return {"CANCELLED"}
        try:
            if output.name.endswith(".people.json"):  # everyone was followed: a rig per person
                built = cast.import_people(context, output, "all", footage=job.input).built[0]
            else:
                built = importer.import_results(context, output, footage=job.input)
        except (importer.ImportFailed, cast.CastFailed) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        frames = built.valid_frames
        if job.state == runner.FINISHED:
            for warning in job.warnings:
                self.report({"WARNING"}, warning)
            if job.incomplete:
                context.window_manager.propose.last_error = (
                    f"Only {job.progress.done} of the {job.expected_frames} frames the footage's header promises "
                    "could be read (a truncated or damaged file?); imported those.")
                self.report({"WARNING"}, context.window_manager.propose.last_error)
            self.report({"INFO"}, f"ProPose: built '{built.rig.name}' from {output.name}.")
        elif job.state == runner.CANCELLED:
            self.report({"WARNING"}, f"Cancelled; imported the frames already done ({frames} with a person).")
        else:
            self.report({"ERROR"}, f"{job.reason} Imported the frames already done "
                                   f"({frames} with a person) from {output.name}.")
        return {"FINISHED"}


class PROPOSE_OT_find_people(JobOperator, bpy.types.Operator):
    """Find the people in the footage's first frame (of the frame range); they appear as numbered boxes
    in the camera view and in the panel, to pick whom the run follows"""

    bl_idname = "propose.find_people"
    bl_label = "Find People"

    def make_job(self, context: bpy.types.Context) -> people.PeopleRun | None:
        settings = context.scene.propose
        footage = Path(bpy.path.abspath(settings.input_path)) if settings.input_path else None
        if footage is None or not footage.is_file():
            self.report({"ERROR"}, "Pick an existing image or video first (the Footage field in the ProPose panel).")
            return None
        return people.PeopleRun(preferences.settings(context).python, footage, settings.first_frame())

    def job_finished(self, context: bpy.types.Context, job: people.PeopleRun) -> set[str]:
        settings = context.scene.propose
        if job.error:
            self.report({"ERROR"}, job.error)
            return {"CANCELLED"}
        settings.people_json = json.dumps(job.found)
        count = len(job.found.get("people", []))
        settings.person = 0
        self.report({"INFO" if count else "WARNING"},
                    f"{count} people found; pick one in the ProPose panel." if count else
                    "Nobody was found in this frame; try another frame range start.")
        return {"FINISHED"}


class PROPOSE_OT_pick_person(bpy.types.Operator):
    """Follow this person in the next run (0: let the detector pick)"""

    bl_idname = "propose.pick_person"
    bl_label = "Pick Person"
    bl_options = {"REGISTER", "UNDO"}

    number: IntProperty(name="Person", default=0, min=0)

    def execute(self, context: bpy.types.Context) -> set[str]:
        context.scene.propose.person = self.number
        redraw(context)
        return {"FINISHED"}


class PROPOSE_OT_cancel(bpy.types.Operator):
    """Stop the running ProPose job after its current batch; finished frames are kept"""

    bl_idname = "propose.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.window_manager.propose.running

    def execute(self, context: bpy.types.Context) -> set[str]:
        context.window_manager.propose.cancel_requested = True
        return {"FINISHED"}


CLASSES = (PROPOSE_OT_run, PROPOSE_OT_find_people, PROPOSE_OT_pick_person, PROPOSE_OT_cancel)
