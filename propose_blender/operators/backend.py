"""Backend: set up its private environment, and check what it runs with."""
from __future__ import annotations

import bpy

from .. import backend_env, preferences
from ..jobs import JobOperator


class PROPOSE_OT_setup_backend(JobOperator, bpy.types.Operator):
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


class PROPOSE_OT_check_backend(JobOperator, bpy.types.Operator):
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


CLASSES = (PROPOSE_OT_setup_backend, PROPOSE_OT_check_backend)
