"""The panel and preferences draw code, run against a layout that checks every property and operator.

Headless Blender has no window to draw in, so a small recording layout stands in for
`UILayout`: it fails on any property the data does not have and any operator that is not registered.
"""
from __future__ import annotations

import bpy
import pytest

from propose_blender import preferences
from propose_blender.ui import panel


class CheckingLayout:
    """Records what a draw() puts on screen; rejects unknown properties and operators."""

    def __init__(self, drawn: list[str]) -> None:
        self.drawn = drawn
        self.enabled = True

    def _child(self, *args, **kwargs) -> "CheckingLayout":
        return CheckingLayout(self.drawn)

    row = column = box = grid_flow = _child

    def prop(self, data, name: str, **kwargs) -> None:
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property '{name}'"
        self.drawn.append(f"prop {name}")

    def operator(self, idname: str, **kwargs):
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.types, f"{category.upper()}_OT_{name}", None), "bl_idname"), idname
        self.drawn.append(f"operator {idname}")
        return type("Properties", (), {})()

    def label(self, text: str = "", **kwargs) -> None:
        self.drawn.append(f"label {text}")

    def progress(self, factor: float = 0.0, text: str = "", **kwargs) -> None:
        self.drawn.append(f"progress {text}")


def _draw(cls, context) -> list[str]:
    drawn: list[str] = []
    stand_in = type("Drawn", (), {"layout": CheckingLayout(drawn)})()
    cls.draw(stand_in, context)
    return drawn


@pytest.fixture
def rig_with_ghosts(blender, results_file):
    path, _ = results_file(num_frames=2, num_samples=3)
    bpy.ops.propose.import_results(filepath=str(path))
    blender.scene.frame_set(1)
    bpy.ops.propose.show_ghosts()
    bpy.ops.propose.select_ghost(index=1)
    return blender


def test_panels_draw_with_a_rig_and_ghosts(rig_with_ghosts):
    drawn = [line for cls in panel.CLASSES for line in _draw(cls, bpy.context)]
    assert "operator propose.run" in drawn and "operator propose.import_results" in drawn
    assert sum(line.startswith("prop legend_") for line in drawn) == 6
    assert drawn.count("operator propose.select_ghost") == 3
    assert "operator propose.apply_ghost" in drawn
    assert {"prop detector", "prop mirrored", "prop focal_px"} <= set(drawn)  # the footage settings of a run


def test_panel_shows_progress_and_errors_while_running(blender):
    state = blender.window_manager.propose
    state.running, state.status, state.progress = True, "estimating, 3/10 frames", 0.3
    state.last_error = "The backend stopped unexpectedly.\nBackend log:\nTraceback"
    drawn = _draw(panel.PROPOSE_PT_estimate, blender)
    assert "progress estimating, 3/10 frames" in drawn and "operator propose.cancel" in drawn
    assert "label The backend stopped unexpectedly." in drawn
    state.running = False


def test_preferences_draw(blender):
    drawn: list[str] = []
    stand_in = type("Preferences", (), {"layout": CheckingLayout(drawn), "backend_python": "", "smooth_motion": True,
                                        "bl_rna": preferences.ProposePreferences.bl_rna})()
    preferences.ProposePreferences.draw(stand_in, blender)
    assert {"prop backend_python", "prop model_folder", "prop device", "prop estimator", "prop samples",
            "prop allow_random_weights", "prop smooth_motion", "prop smooth_strength"} <= set(drawn)
    assert "operator propose.setup_backend" in drawn and "operator propose.check_backend" in drawn
