"""The "ProPose" tab of the 3D viewport's side panel (N): run, import, uncertainty legend, ghosts."""
from __future__ import annotations

import textwrap

import bpy

from .. import bridge, cast, ghosts, people, preferences, rig as rig_module, uncertainty
from ..rig import active_rig

_LOG_LINES = 6  # of the backend log under an error; the cause above it is always shown whole
_CHAR_PX = 7  # rough width of a label character, to wrap long messages to the panel


def error_lines(text: str, width_px: int) -> list[str]:
    """The whole cause, wrapped to the panel's width, then the last lines of the backend log."""
    cause, _, log = text.partition("\nBackend log:")
    columns = max(20, int(width_px / _CHAR_PX) - 4)
    lines = [wrapped for paragraph in cause.strip().splitlines()
             for wrapped in (textwrap.wrap(paragraph, columns) or [""])]
    tail = [line for line in log.strip().splitlines() if line.strip()][-_LOG_LINES:]
    return lines + (["Backend log:"] + [line[:columns] for line in tail] if tail else [])


def draw_error(box: bpy.types.UILayout, text: str, width_px: int) -> None:
    for i, line in enumerate(error_lines(text, width_px)):
        box.label(text=line, icon="ERROR" if i == 0 else "BLANK1")


class _ProposePanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "ProPose"


class PROPOSE_PT_estimate(_ProposePanel, bpy.types.Panel):
    bl_label = "ProPose"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings, state = context.scene.propose, context.window_manager.propose
        column = layout.column()
        column.enabled = not state.running
        column.prop(settings, "input_path")
        row = column.row(align=True)
        row.prop(settings, "use_frame_range")
        if settings.use_frame_range:
            row = column.row(align=True)
            row.prop(settings, "frame_first")
            row.prop(settings, "frame_last")
            row.prop(settings, "frame_step")
        if state.running:
            layout.progress(factor=state.progress, text=state.status or "working...")
            layout.operator("propose.cancel", icon="CANCEL")
            layout.label(text="Esc also cancels; finished frames are kept.")
        else:
            layout.operator("propose.run", icon="PLAY")
        layout.operator("propose.import_results", icon="IMPORT")
        if state.last_error:
            draw_error(layout.box(), state.last_error, context.region.width if context.region else 300)


class PROPOSE_PT_people(_ProposePanel, bpy.types.Panel):
    """Whom to follow: the people Find People found, numbered as their boxes in the camera view."""

    bl_label = "Person"
    bl_parent_id = "PROPOSE_PT_estimate"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.propose
        layout.enabled = not context.window_manager.propose.running
        layout.operator("propose.find_people", icon="VIEWZOOM")
        listed = people.found(context.scene)
        if not listed:
            layout.label(text="The detector picks the person.", icon="INFO")
            return
        column = layout.column(align=True)
        pick = column.operator("propose.pick_person", text="Let the detector pick",
                               icon="RADIOBUT_ON" if settings.person == 0 else "RADIOBUT_OFF")
        pick.number = 0
        for person in listed.get("people", []):
            x, y, w, h = person["box"]
            chosen = settings.person == person["number"]
            pick = column.operator("propose.pick_person", text=f"Person {person['number']}  "
                                   f"({x:.0f}, {y:.0f}, {w:.0f}x{h:.0f} px)",
                                   icon="RADIOBUT_ON" if chosen else "RADIOBUT_OFF", depress=chosen)
            pick.number = person["number"]
        layout.label(text=f"Frame {listed.get('frame', 0) + 1}; boxes show in camera view (Numpad 0).")


class PROPOSE_PT_cast(_ProposePanel, bpy.types.Panel):
    """Everyone in the shot: the people of the clip with their frames, which to build, merge, split."""

    bl_label = "People"
    bl_parent_id = "PROPOSE_PT_estimate"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.propose
        layout.prop(settings, "everyone", text="Follow everyone (one rig per person)")
        index = cast.stored(context.scene)
        if not index.get("people"):
            return
        built = cast.rigs(context.scene)
        doubtful = bridge.people_file().DOUBTFUL_IDENTITY
        column = layout.column(align=True)
        for person in index["people"]:
            number = int(person["number"])
            row = column.row(align=True)
            sure = person.get("min_identity_confidence", 1.0) >= doubtful
            row.label(text=f"{number}: frames {person['first_frame'] + 1}-{person['last_frame'] + 1} "
                           f"({person['valid_frames']} seen)", icon="CHECKMARK" if sure else "ERROR")
            op = row.operator("propose.import_people", text="" if number in built else "Build",
                              icon="FILE_REFRESH" if number in built else "IMPORT")
            op.people = str(number)
        column.operator("propose.import_people", text="Build everyone", icon="COMMUNITY").people = "all"
        if any(p.get("min_identity_confidence", 1.0) < doubtful for p in index["people"]):
            layout.label(text="! = an uncertain hand-over: check who is who there.", icon="INFO")
        row = layout.row(align=True)
        row.prop(settings, "merge_keep")
        row.prop(settings, "merge_other")
        op = row.operator("propose.merge_people", text="", icon="AUTOMERGE_ON")
        op.keep, op.other = settings.merge_keep, settings.merge_other
        rig = active_rig(context)
        if rig is not None and cast.PERSON in rig:
            op = layout.operator("propose.split_person", text=f"Split person {rig[cast.PERSON]} at frame "
                                                              f"{context.scene.frame_current}", icon="SCULPTMODE_HLT")
            op.person, op.frame = int(rig[cast.PERSON]), context.scene.frame_current


class PROPOSE_PT_footage(_ProposePanel, bpy.types.Panel):
    """How the footage was shot and how the person is found in it (applies to the next Run)."""

    bl_label = "Footage"
    bl_parent_id = "PROPOSE_PT_estimate"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.propose
        layout.enabled = not context.window_manager.propose.running
        layout.prop(settings, "detector")
        layout.prop(settings, "mirrored")
        layout.prop(settings, "focal_px")
        layout.prop(settings, "still_camera")


class PROPOSE_PT_uncertainty(_ProposePanel, bpy.types.Panel):
    bl_label = "Uncertainty"
    bl_parent_id = "PROPOSE_PT_estimate"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        state = context.window_manager.propose
        layout.label(text="Bone colour = expected error of the pose:")
        grid = layout.grid_flow(columns=2, even_columns=True, align=True)
        for i, (label, _color) in enumerate(uncertainty.legend()):
            row = grid.row(align=True)
            row.prop(state, f"legend_{i}", text="")
            row.label(text=label)
        rig = active_rig(context)
        bone = context.active_pose_bone
        if rig is not None and bone is not None and bone.id_data == rig:
            degrees = uncertainty.at_frame(rig, context.scene.frame_current)
            names = rig_module.all_joint_names(rig)[:0 if degrees is None else len(degrees)]
            if bone.name in names:  # fingers too; root and the IK targets have no uncertainty
                value = degrees[names.index(bone.name)]
                layout.label(text=f"{bone.name}: " + ("no person" if value != value else f"{value:.1f}°"))
        layout.label(text="Curves: Graph Editor > propose_unc_<bone>", icon="GRAPH")


class PROPOSE_PT_ghosts(_ProposePanel, bpy.types.Panel):
    bl_label = "Ghost poses"
    bl_parent_id = "PROPOSE_PT_estimate"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        rig = active_rig(context)
        if rig is None:
            layout.label(text="Select a ProPose body to see its alternatives.")
            return
        settings = context.scene.propose
        row = layout.row(align=True)
        row.operator("propose.show_ghosts", icon="GHOST_ENABLED")
        row.operator("propose.hide_ghosts", icon="GHOST_DISABLED")
        row = layout.row(align=True)
        row.prop(settings, "ghosts_follow_frame")
        row.operator("propose.refresh_ghosts", text="", icon="FILE_REFRESH")
        layout.prop(settings, "ghost_spacing")
        shown = ghosts.ghosts_of(rig)
        found = ghosts.samples_at(rig, context.scene.frame_current)
        if not shown:
            return
        if found is None:
            layout.label(text="No samples on this frame (no person found).", icon="INFO")
            return
        selected = ghosts.ghost_index(context.active_object)
        layout.label(text="Ranked as whole motions (densest over the clip)" if ghosts.are_motions(rig)
                     else "Ranked on this frame (densest first)")
        column = layout.column(align=True)
        for ghost in shown:
            index = ghosts.ghost_index(ghost)
            row = column.row(align=True)
            pick = row.operator("propose.select_ghost", text=f"Ghost {index + 1}",
                                icon="RADIOBUT_ON" if index == selected else "RADIOBUT_OFF", depress=index == selected)
            pick.index = index
            row.label(text=f"log p {found[1][index]:.1f}")
            row.operator("propose.apply_ghost", text="", icon="CHECKMARK").index = index
        if selected is not None:
            layout.operator("propose.apply_ghost", text=f"Apply ghost {selected + 1} to frame "
                                                        f"{context.scene.frame_current}", icon="KEYFRAME").index = -1


class PROPOSE_PT_smoothing(_ProposePanel, bpy.types.Panel):
    bl_label = "Smoothing"
    bl_parent_id = "PROPOSE_PT_estimate"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        prefs = preferences.addon_preferences(context)
        if prefs is None:
            layout.label(text="Enable the add-on to change smoothing.", icon="INFO")
            return
        layout.enabled = not context.window_manager.propose.running
        preferences.draw_smoothing(layout, prefs)
        layout.label(text="Videos only; applies to the next Run.", icon="INFO")


CLASSES = (PROPOSE_PT_estimate, PROPOSE_PT_people, PROPOSE_PT_cast, PROPOSE_PT_footage, PROPOSE_PT_uncertainty, PROPOSE_PT_ghosts, PROPOSE_PT_smoothing)
