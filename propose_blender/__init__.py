"""ProPose for Blender: footage in, an SMPL-rigged body out, with per-bone uncertainty and ghost poses.

This file only registers; see the modules for what each part does.
"""
from __future__ import annotations

import bpy

from . import compat, ghosts, jobs, operators, people, preferences, properties, retarget, ui, uncertainty

_CLASSES = (*properties.CLASSES, preferences.ProposePreferences, *operators.CLASSES, *ui.CLASSES)
_HANDLERS = (
    ("frame_change_post", uncertainty.on_frame_change),
    ("frame_change_post", ghosts.on_frame_change),
    ("frame_change_post", retarget.on_frame_change),
    ("load_post", uncertainty.on_load),
)


_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    properties.attach()
    people.add_draw_handler()
    for name, function in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if function not in handlers:
            handlers.append(function)
    _registered = True
    compat.release_at_exit(unregister)


def unregister() -> None:
    global _registered
    if not _registered:
        return
    _registered = False
    jobs.stop_all_jobs()
    people.remove_draw_handler()
    for name, function in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if function in handlers:
            handlers.remove(function)
    properties.detach()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
