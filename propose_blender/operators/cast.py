"""Several people: import the chosen people of a clip, merge two tracks of one person, split one
track of two people. Each is one undo step (the people list lives on the scene, cast.py)."""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty

from .. import cast


def build_people(operator: bpy.types.Operator, context: bpy.types.Context, index_path: str | Path, wanted: str,
                 footage: Path | None = None) -> set[str]:
    """Build people of a clip index for an operator, reporting what was built or why not."""
    try:
        done = cast.import_people(context, index_path, wanted, footage=footage)
    except cast.CastFailed as exc:
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    for reason in done.skipped:
        operator.report({"WARNING"}, reason)
    operator.report({"INFO"}, f"ProPose: built {len(done.built)} {'person' if len(done.built) == 1 else 'people'}: "
                              f"{', '.join(b.rig.name for b in done.built)}.")
    return {"FINISHED"}


class PROPOSE_OT_import_people(bpy.types.Operator):
    """Build the chosen people of the clip in the ProPose People panel (one rig and body each)"""

    bl_idname = "propose.import_people"
    bl_label = "Import People"
    bl_options = {"REGISTER", "UNDO"}

    people: StringProperty(name="People", default="all", description='"all", or person numbers such as 1,3')
    index_path: StringProperty(name="Clip index", subtype="FILE_PATH", default="",
                               description="The run's .people.json (default: the clip in this scene)")

    def execute(self, context: bpy.types.Context) -> set[str]:
        path = self.index_path or cast.stored(context.scene).get("index_path", "")
        if not path:
            self.report({"ERROR"}, "No clip with several people here: run with 'Everyone' on, or import a .people.json.")
            return {"CANCELLED"}
        return build_people(self, context, bpy.path.abspath(path), self.people)


class PROPOSE_OT_merge_people(bpy.types.Operator):
    """The two people are one person the tracker split: join their tracks into the first one's rig"""

    bl_idname = "propose.merge_people"
    bl_label = "Merge People"
    bl_options = {"REGISTER", "UNDO"}

    keep: IntProperty(name="Keep", min=1, default=1, description="The person whose number and rig stay")
    other: IntProperty(name="Into it", min=1, default=2, description="The person merged into them (removed)")

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            rig = cast.merge(context, self.keep, self.other)
        except cast.CastFailed as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"ProPose: person {self.other} merged into '{rig.name}'.")
        return {"FINISHED"}


class PROPOSE_OT_split_person(bpy.types.Operator):
    """The track holds two people: from this frame on it becomes a new person with a rig of their own"""

    bl_idname = "propose.split_person"
    bl_label = "Split Person"
    bl_options = {"REGISTER", "UNDO"}

    person: IntProperty(name="Person", min=1, default=1)
    frame: IntProperty(name="At frame", min=1, default=1, description="Scene frame where the other person starts "
                                                                     "(default: the current frame)")

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        self.frame = context.scene.frame_current
        return self.execute(context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            first, second = cast.split(context, self.person, self.frame)
        except cast.CastFailed as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"ProPose: split at frame {self.frame} into '{first.name}' and '{second.name}'.")
        return {"FINISHED"}


CLASSES = (PROPOSE_OT_import_people, PROPOSE_OT_merge_people, PROPOSE_OT_split_person)
