"""Choosing whom to follow: the people the backend finds in one frame, drawn as numbered boxes in
the camera view and listed in the panel; the chosen number goes into the run's request, so the
backend finds the same people in the same frame, follows that one and records the number in the
results (`meta.person`, docs/results-schema.md).

The list lives on the scene as JSON (`propose.people_json`, the backend's `people` event) so it is
saved with the .blend; `propose.person` is the chosen number (0 = let the detector pick).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from .client import BackendProcess, new_request_id
from .runner import describe_exit

BOX_COLOR = (1.0, 0.8, 0.1, 1.0)
CHOSEN_COLOR = (0.2, 1.0, 0.3, 1.0)


def found(scene: bpy.types.Scene) -> dict[str, Any]:
    """The stored `people` event ({} when nobody has looked yet)."""
    try:
        return json.loads(scene.propose.people_json) if scene.propose.people_json else {}
    except json.JSONDecodeError:
        return {}


def chosen_person(scene: bpy.types.Scene, first_frame: int) -> int | None:
    """The request's `person` (0 = leftmost) for the number picked in the panel; None = the detector
    picks (nobody picked, or the list belongs to other footage).

    first_frame: the run's first source frame, where the backend looks for the people again; a list
    found in another frame would number other people, so it raises ValueError saying what to do.
    """
    listed = found(scene)
    number = scene.propose.person
    if not number or number > len(listed.get("people", [])) or listed.get("input") != _footage(scene):
        return None
    if int(listed.get("frame", 0)) != first_frame:
        raise ValueError(f"Person {number} was picked among the people in frame {int(listed['frame']) + 1}, but "
                         f"the run starts at frame {first_frame + 1}; press Find People again.")
    return number - 1


def _footage(scene: bpy.types.Scene) -> str:
    path = scene.propose.input_path
    return str(Path(bpy.path.abspath(path))) if path else ""


@dataclass
class PeopleRun:
    """A `people` request on its own backend process, driven by polling like an estimate run."""

    python: str
    input: Path
    frame: int = 0
    found: dict[str, Any] | None = None
    error: str = ""
    request_id: str = field(default_factory=lambda: new_request_id("people"))
    process: BackendProcess | None = None

    def start(self) -> None:
        self.process = BackendProcess(self.python)
        self.process.start()
        self.process.send({"type": "people", "id": self.request_id, "input": str(self.input), "frame": self.frame})

    @property
    def done(self) -> bool:
        return self.found is not None or bool(self.error)

    @property
    def status(self) -> str:
        return f"looking for people in frame {self.frame + 1}"

    def step(self) -> None:
        if self.done or self.process is None:
            return
        for event in self.process.events():
            if event.get("id") != self.request_id:
                continue
            if event.get("type") == "people":
                self.found = event
            elif event.get("type") == "error":
                self.error = event.get("message") or "The backend could not look for people."
        if not self.done and self.process.exited:
            self.error = f"The backend stopped unexpectedly ({describe_exit(self.process.exit_code)})."
        if self.done:
            self.process.stop(timeout=2.0)

    def cancel(self) -> None:
        self.error = self.error or "Cancelled."

    def close(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=2.0)


# --- numbered boxes in the camera view --------------------------------------------------------

_handle = None


def _camera_frame_px(context: bpy.types.Context) -> tuple[float, float, float, float] | None:
    """Region pixels (left, bottom, width, height) of the camera frame, in camera view only."""
    from bpy_extras import view3d_utils

    region, space = context.region, context.space_data
    scene = context.scene
    if space is None or space.type != "VIEW_3D" or space.region_3d.view_perspective != "CAMERA" or not scene.camera:
        return None
    corners = [scene.camera.matrix_world @ v for v in scene.camera.data.view_frame(scene=scene)]
    points = [view3d_utils.location_3d_to_region_2d(region, space.region_3d, c) for c in corners]
    if any(p is None for p in points):
        return None
    xs, ys = [p.x for p in points], [p.y for p in points]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _draw() -> None:
    import blf
    import gpu
    from gpu_extras.batch import batch_for_shader

    context = bpy.context
    if context.scene is None or not hasattr(context.scene, "propose"):
        return
    listed = found(context.scene)
    frame = _camera_frame_px(context) if listed.get("people") else None
    if frame is None:
        return
    left, bottom, width, height = frame
    image_w, image_h = listed["image_size"]
    shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    for person in listed["people"]:
        x, y, w, h = person["box"]
        x0, x1 = left + x / image_w * width, left + (x + w) / image_w * width
        y0, y1 = bottom + (1 - (y + h) / image_h) * height, bottom + (1 - y / image_h) * height
        color = CHOSEN_COLOR if person["number"] == context.scene.propose.person else BOX_COLOR
        batch = batch_for_shader(shader, "LINE_LOOP", {"pos": [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]})
        shader.uniform_float("color", color)
        batch.draw(shader)
        blf.size(0, 20)
        blf.color(0, *color)
        blf.position(0, x0 + 4, y1 - 22, 0)
        blf.draw(0, str(person["number"]))


def add_draw_handler() -> None:
    global _handle
    if _handle is None and not bpy.app.background:
        _handle = bpy.types.SpaceView3D.draw_handler_add(_draw, (), "WINDOW", "POST_PIXEL")


def remove_draw_handler() -> None:
    global _handle
    if _handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_handle, "WINDOW")
        _handle = None
