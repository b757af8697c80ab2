"""Import: build the rig from a results file made elsewhere."""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ImportHelper

from .. import importer
from .cast import build_people


class PROPOSE_OT_import_results(bpy.types.Operator, ImportHelper):
    """Build the rig from a results file made elsewhere (another machine, the batch, an earlier run), or
    every person of a clip index (.people.json)"""

    bl_idname = "propose.import_results"
    bl_label = "Import ProPose Results"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".npz"
    filter_glob: StringProperty(default="*.npz;*.people.json", options={"HIDDEN"})
    footage: StringProperty(name="Footage", subtype="FILE_PATH",
                            description="Video or image for the camera background (default: the source "
                                        "recorded in the results, if it is still there)")

    def execute(self, context: bpy.types.Context) -> set[str]:
        path = Path(self.filepath)
        if path.parent.suffix == ".chunks":  # a chunk of an unfinished run: read all its chunks
            path = path.parent.with_suffix("")
        footage = Path(bpy.path.abspath(self.footage)) if self.footage else None
        if path.name.endswith(".people.json"):  # a run that followed everyone: every person
            return build_people(self, context, path, "all", footage)
        try:
            built = importer.import_results(context, path, footage=footage)
        except importer.ImportFailed as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for warning in built.warnings:
            self.report({"WARNING"}, warning)
        self.report({"INFO"}, f"ProPose: built '{built.rig.name}' from {path.name} "
                              f"({built.valid_frames} of {built.frames} frames with a person).")
        return {"FINISHED"}


CLASSES = (PROPOSE_OT_import_results,)
