"""Everything the panel's buttons do.

Long jobs (estimate, set-up, check) share one driver: in the UI it is a modal operator polled by a
timer, so Blender stays responsive and Esc cancels; from scripts and `--background` (no window)
the same job runs to its end in a loop. Either way, only the main thread touches Blender data.
"""

import json
import tempfile
import time
import traceback
from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from . import backend_env, ghosts, importer, people, preferences, rig as rig_module, runner
from .client import LaunchFailed

_TIMER_S = 0.1
_live_jobs: list = []  # every job still running, so unregister() can stop its process


def active_rig(context: bpy.types.Context) -> bpy.types.Object | None:
    """The rig of the active object (rig, body or ghost), else the scene's only rig."""
    rig = rig_module.rig_of(context.active_object)
    if rig is not None:
        return rig
    rigs = rig_module.find_rigs(context.scene)
    return rigs[0] if len(rigs) == 1 else None


def results_path(footage: Path) -> Path:
    """Where a run writes its results: beside the saved .blend, else in the temporary folder."""
    folder = Path(bpy.data.filepath).parent if bpy.data.filepath else Path(tempfile.gettempdir())
    return folder / "propose_results" / f"{footage.stem}-{time.strftime('%Y%m%d-%H%M%S')}.npz"


def stop_all_jobs() -> None:
    for job in _live_jobs:
        job.close()
    _live_jobs.clear()


def _forget(job) -> None:
    """Stop tracking `job`; unregister() may already have stopped and forgotten it."""
    if job in _live_jobs:
        _live_jobs.remove(job)


class _JobOperator:
    """Mix-in: drive a job (start / step / done / cancel / close) modally or, headless, in a loop."""

    def make_job(self, context: bpy.types.Context):  # returns the job, or None after self.report
        raise NotImplementedError

    def job_finished(self, context: bpy.types.Context, job) -> set[str]:
        raise NotImplementedError

    def _begin(self, context: bpy.types.Context):
        state = context.window_manager.propose
        if state.running:
            self.report({"ERROR"}, "A ProPose job is already running; wait for it or cancel it first.")
            return None
        job = self.make_job(context)
        if job is None:
            return None
        try:
            job.start()
        except (LaunchFailed, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            state.last_error = str(exc)
            return None
        _live_jobs.append(job)
        state.running, state.cancel_requested, state.last_error = True, False, ""
        state.status, state.progress = job.status, 0.0
        return job

    def _end(self, context: bpy.types.Context, job) -> set[str]:
        job.close()
        _forget(job)
        state = context.window_manager.propose
        state.running, state.cancel_requested, state.status = False, False, ""
        if job.error:
            state.last_error = job.error
        return self.job_finished(context, job)

    def execute(self, context: bpy.types.Context) -> set[str]:
        job = self._begin(context)
        if job is None:
            return {"CANCELLED"}
        while not job.done:
            job.step()
            time.sleep(0.05)
        return self._end(context, job)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window is None:
            return self.execute(context)
        self._job = self._begin(context)
        if self._job is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(_TIMER_S, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        state = context.window_manager.propose
        if (event.type == "ESC" and event.value == "PRESS") or state.cancel_requested:
            state.cancel_requested = False
            self._job.cancel()
            if event.type == "ESC":
                return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            self._job.step()
            state.status = self._job.status
            fraction = getattr(getattr(self._job, "progress", None), "fraction", 0.0)
            state.progress = fraction
            context.window_manager.progress_update(int(fraction * 100))
            _redraw(context)
            if not self._job.done:
                return {"PASS_THROUGH"}
            self._stop_timer(context)
            return self._end(context, self._job)
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the timer and "running" behind
            return self._crashed(context, exc)
        finally:
            _redraw(context)

    def _crashed(self, context: bpy.types.Context, exc: Exception) -> set[str]:
        """An unexpected error while driving the job: clean up, say it in words, keep the trace in the console."""
        traceback.print_exc()
        if self._timer is not None:
            self._stop_timer(context)
        self._job.cancel()
        self._job.close()
        _forget(self._job)
        state = context.window_manager.propose
        state.running, state.cancel_requested, state.status = False, False, ""
        state.last_error = (f"ProPose stopped because of an unexpected error: {exc or type(exc).__name__}\n"
                            "The full report is in Blender's system console; please include it in a bug report.")
        self.report({"ERROR"}, state.last_error.splitlines()[0])
        return {"CANCELLED"}

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends modal operators on file load or quit: stop the backend, import nothing."""
        if self._timer is not None:
            self._stop_timer(context)
        self._job.cancel()
        self._job.close()
        _forget(self._job)
        context.window_manager.propose.running = False

    def _stop_timer(self, context: bpy.types.Context) -> None:
        context.window_manager.event_timer_remove(self._timer)
        self._timer = None
        context.window_manager.progress_end()


def _redraw(context: bpy.types.Context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "PREFERENCES"}:
                area.tag_redraw()


class PROPOSE_OT_run(_JobOperator, bpy.types.Operator):
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
                                              bbox=people.chosen_box(context.scene), **prefs.request_fields(),
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
            rig = importer.import_results(context, output, footage=job.input)
        except importer.ImportFailed as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        frames = len(rig[ghosts.SAMPLE_FRAMES]) if ghosts.SAMPLE_FRAMES in rig else 0
        if job.state == runner.FINISHED:
            for warning in job.warnings:
                self.report({"WARNING"}, warning)
            if job.incomplete:
                context.window_manager.propose.last_error = (
                    f"Only {job.progress.done} of the {job.expected_frames} frames the footage's header promises "
                    "could be read (a truncated or damaged file?); imported those.")
                self.report({"WARNING"}, context.window_manager.propose.last_error)
            self.report({"INFO"}, f"ProPose: built '{rig.name}' from {output.name}.")
        elif job.state == runner.CANCELLED:
            self.report({"WARNING"}, f"Cancelled; imported the frames already done ({frames} with a person).")
        else:
            self.report({"ERROR"}, f"{job.reason} Imported the frames already done "
                                   f"({frames} with a person) from {output.name}.")
        return {"FINISHED"}


class PROPOSE_OT_find_people(_JobOperator, bpy.types.Operator):
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
        first = settings.frame_first - 1 if settings.use_frame_range else 0
        return people.PeopleRun(preferences.settings(context).python, footage, first)

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
        _redraw(context)
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


class PROPOSE_OT_import_results(bpy.types.Operator, ImportHelper):
    """Build the rig from a results file made elsewhere (another machine, the batch, an earlier run)"""

    bl_idname = "propose.import_results"
    bl_label = "Import ProPose Results"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".npz"
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})
    footage: StringProperty(name="Footage", subtype="FILE_PATH",
                            description="Video or image for the camera background (default: the source "
                                        "recorded in the results, if it is still there)")

    def execute(self, context: bpy.types.Context) -> set[str]:
        path = Path(self.filepath)
        if path.parent.suffix == ".chunks":  # a chunk of an unfinished run: read all its chunks
            path = path.parent.with_suffix("")
        footage = Path(bpy.path.abspath(self.footage)) if self.footage else None
        try:
            rig = importer.import_results(context, path, footage=footage)
        except importer.ImportFailed as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"ProPose: built '{rig.name}' from {path.name}.")
        return {"FINISHED"}


class _RigOperator:
    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        rig = active_rig(context)
        return rig is not None and ghosts.sample_count(rig) > 0


class PROPOSE_OT_show_ghosts(_RigOperator, bpy.types.Operator):
    """Show this frame's posterior samples as translucent ghost bodies, densest first"""

    bl_idname = "propose.show_ghosts"
    bl_label = "Show Ghosts"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        made = ghosts.show(rig, context.scene.frame_current, context.scene.propose.ghost_spacing)
        if ghosts.samples_at(rig, context.scene.frame_current) is None:
            self.report({"WARNING"}, "No person was found on this frame; the ghosts appear on frames that have one.")
        self.report({"INFO"}, f"{len(made)} ghosts")
        return {"FINISHED"}


class PROPOSE_OT_refresh_ghosts(_RigOperator, bpy.types.Operator):
    """Pose the ghosts with the samples of the current frame"""

    bl_idname = "propose.refresh_ghosts"
    bl_label = "Refresh Ghosts"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        ghosts.pose(active_rig(context), context.scene.frame_current)
        return {"FINISHED"}


class PROPOSE_OT_hide_ghosts(bpy.types.Operator):
    """Remove the ghosts (the samples stay stored on the rig)"""

    bl_idname = "propose.hide_ghosts"
    bl_label = "Hide Ghosts"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        for each in [rig] if rig is not None else rig_module.find_rigs(context.scene):
            ghosts.hide(each)
        return {"FINISHED"}


class PROPOSE_OT_select_ghost(_RigOperator, bpy.types.Operator):
    """Select this ghost in the viewport"""

    bl_idname = "propose.select_ghost"
    bl_label = "Select Ghost"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Sample", default=0, min=0)

    def execute(self, context: bpy.types.Context) -> set[str]:
        found = [g for g in ghosts.ghosts_of(active_rig(context)) if ghosts.ghost_index(g) == self.index]
        if not found:
            self.report({"ERROR"}, "That ghost is gone; press Show Ghosts.")
            return {"CANCELLED"}
        target = ghosts.shell_of(found[0]) or found[0]  # the body is what one sees and clicks
        for obj in context.view_layer.objects.selected:
            obj.select_set(False)
        target.select_set(True)
        context.view_layer.objects.active = target
        return {"FINISHED"}


class PROPOSE_OT_apply_ghost(_RigOperator, bpy.types.Operator):
    """Replace the body's rotation keys on this frame with the ghost's pose"""

    bl_idname = "propose.apply_ghost"
    bl_label = "Apply Ghost"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Sample", default=-1, min=-1,
                       description="Sample to apply (0 = densest); -1: the selected ghost")

    def execute(self, context: bpy.types.Context) -> set[str]:
        rig = active_rig(context)
        index = self.index if self.index >= 0 else ghosts.ghost_index(context.active_object)
        if index is None:
            self.report({"ERROR"}, "Select a ghost in the viewport or in the panel list first.")
            return {"CANCELLED"}
        frame = context.scene.frame_current
        try:
            ghosts.apply(rig, index, frame)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        context.scene.frame_set(frame)  # re-evaluate the changed keys
        self.report({"INFO"}, f"Frame {frame}: {rig.name} now has the pose of ghost {index + 1}.")
        return {"FINISHED"}


class PROPOSE_OT_setup_backend(_JobOperator, bpy.types.Operator):
    """Make a private Python environment with the backend's dependencies (downloads PyTorch, ~2 GB)"""

    bl_idname = "propose.setup_backend"
    bl_label = "Set up Backend"

    def make_job(self, context: bpy.types.Context) -> backend_env.SetupRun | None:
        env = backend_env.private_env_dir()
        if not bpy.app.online_access:
            message = backend_env.offline_instructions(env)
            context.window_manager.propose.backend_report = message
            self.report({"ERROR"}, message)
            return None
        return backend_env.SetupRun(env)

    def job_finished(self, context: bpy.types.Context, job: backend_env.SetupRun) -> set[str]:
        state = context.window_manager.propose
        if job.error:
            state.backend_report = job.error
            self.report({"ERROR"}, job.error.splitlines()[0])
            return {"CANCELLED"}
        state.backend_report = f"Backend environment ready: {backend_env.env_python(job.env)}"
        self.report({"INFO"}, state.backend_report)
        return {"FINISHED"}


class PROPOSE_OT_check_backend(_JobOperator, bpy.types.Operator):
    """Start the backend once and report its version, torch, GPU and the model files it will use"""

    bl_idname = "propose.check_backend"
    bl_label = "Check Backend"

    def make_job(self, context: bpy.types.Context) -> backend_env.CheckRun:
        prefs = preferences.settings(context)
        return backend_env.CheckRun(prefs.python, prefs.model_folder)

    def job_finished(self, context: bpy.types.Context, job: backend_env.CheckRun) -> set[str]:
        state = context.window_manager.propose
        state.backend_report = job.error or "\n".join(job.report)
        for line in state.backend_report.splitlines()[:1]:
            self.report({"ERROR" if job.error else "INFO"}, line)
        return {"CANCELLED" if job.error else "FINISHED"}


CLASSES = (PROPOSE_OT_run, PROPOSE_OT_find_people, PROPOSE_OT_pick_person, PROPOSE_OT_cancel, PROPOSE_OT_import_results, PROPOSE_OT_show_ghosts,
           PROPOSE_OT_refresh_ghosts, PROPOSE_OT_hide_ghosts, PROPOSE_OT_select_ghost, PROPOSE_OT_apply_ghost,
           PROPOSE_OT_setup_backend, PROPOSE_OT_check_backend)
