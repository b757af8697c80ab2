"""What a ProPose .blend holds, as JSON, to check that every supported Blender builds the same scene.

    python scripts/blend_facts.py clip.blend facts-5.0.json     # under any bpy (.venv, .venv-bpy42, ...)
    python scripts/blend_facts.py --compare facts-4.2.json facts-5.0.json [...]   # plain Python

The facts: the scene's frame range and rate; per rig its bones (rest heads and tails), every F-curve
with all its keys, the bone colours at three frames (with the add-on registered, as the animator
sees them), the stored posterior samples, the ghosts shown at those frames (their bones' pose) and
the body; the camera (lens, shift, sensor, placement, background footage). --compare reports every
number that differs by more than 1e-4 (1e-3 for positions along a whole motion) and every
difference in names or counts; it exits 1 when there is one.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _round(values, digits: int = 6):
    return [round(float(v), digits) for v in values]


def _curves(bag) -> dict:
    import numpy as np

    found = {}
    for fcurve in bag.fcurves if bag is not None else ():
        co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
        fcurve.keyframe_points.foreach_get("co", co)
        found[f"{fcurve.data_path}[{fcurve.array_index}]"] = {
            "group": fcurve.group.name if fcurve.group else "", "frames": _round(co[0::2], 3),
            "values": _round(co[1::2])}
    return found


def _pose(obj) -> dict:
    return {b.name: _round([*b.matrix.translation, *b.matrix.to_quaternion()]) for b in obj.pose.bones}


def facts(blend: Path) -> dict:
    import bpy

    sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
    import propose_blender
    from propose_blender import compat, ghosts, rig as rig_module

    propose_blender.register()  # the colours and ghosts follow frames through the add-on's handlers
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    out = {"blender": bpy.app.version_string, "frames": [scene.frame_start, scene.frame_end],
           "fps": scene.render.fps / scene.render.fps_base, "rigs": {}, "camera": None}
    for rig in rig_module.find_rigs(scene):
        bones = {b.name: _round([*b.head_local, *b.tail_local]) for b in rig.data.bones}
        body = next((c for c in rig.children if c.type == "MESH" and ghosts.GHOST_OF not in c), None)
        keys = sorted(k for k in rig.keys() if not k.startswith("_"))
        entry = {"bones": bones, "collections": sorted(c.name for c in rig.data.collections),
                 "curves": _curves(compat.find_channelbag(rig)), "properties": keys,
                 "samples": _round(list(rig.get(ghosts.SAMPLES, []))[:4000:7]),
                 "body": None if body is None else {
                     "vertices": len(body.data.vertices), "materials": [m.name for m in body.data.materials if m],
                     "modifiers": [m.type for m in body.modifiers]},
                 "at_frames": {}}
        frames = [scene.frame_start, (scene.frame_start + scene.frame_end) // 2, scene.frame_end]
        count = ghosts.sample_count(rig)
        for frame in frames:
            scene.frame_set(frame)
            shown = {"pose": _pose(rig), "colors": {b.name: [b.color.palette, *_round(b.color.custom.normal, 4)]
                                                    for b in rig.pose.bones}}
            if count:
                bpy.context.view_layer.objects.active = rig
                bpy.ops.propose.show_ghosts()
                shown["ghosts"] = {g.name: _pose(g) for g in ghosts.ghosts_of(rig)}
            entry["at_frames"][str(frame)] = shown
        out["rigs"][rig.name] = entry
    camera = scene.camera
    if camera is not None:
        data = camera.data
        out["camera"] = {"lens": round(data.lens, 5), "sensor": [round(data.sensor_width, 5), data.sensor_fit],
                         "shift": _round([data.shift_x, data.shift_y]),
                         "matrix": _round([v for row in camera.matrix_world for v in row]),
                         "background": [Path(b.clip.filepath if b.source == "MOVIE_CLIP" and b.clip else
                                             b.image.filepath if b.image else "").name for b in data.background_images],
                         "curves": _curves(compat.find_channelbag(camera)),
                         "resolution": [scene.render.resolution_x, scene.render.resolution_y]}
    return out


def compare(reference: dict, other: dict, path: str = "") -> list[str]:
    """Every difference between two fact trees (numbers beyond tolerance, names, counts)."""
    if isinstance(reference, dict) and isinstance(other, dict):
        found = [f"{path}: only in one: {sorted(set(reference) ^ set(other))[:8]}"] \
            if set(reference) != set(other) else []
        for key in sorted(set(reference) & set(other)):
            if path == "" and key == "blender":
                continue
            found += compare(reference[key], other[key], f"{path}/{key}")
        return found
    if isinstance(reference, list) and isinstance(other, list):
        if len(reference) != len(other):
            return [f"{path}: {len(reference)} vs {len(other)} entries"]
        found = []
        for i, (a, b) in enumerate(zip(reference, other)):
            found += compare(a, b, f"{path}[{i}]")
        return found[:5]
    if isinstance(reference, (int, float)) and isinstance(other, (int, float)):
        return [] if abs(reference - other) <= 1e-4 * max(1.0, abs(reference)) else [f"{path}: {reference} vs {other}"]
    return [] if reference == other else [f"{path}: {reference!r} vs {other!r}"]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"]:
        loaded = [json.loads(Path(p).read_text()) for p in argv[1:]]
        worst = 0
        for path, other in zip(argv[2:], loaded[1:]):
            differences = compare(loaded[0], other)
            print(f"{loaded[0]['blender']} vs {other['blender']} ({path}): "
                  f"{'same' if not differences else f'{len(differences)} differences'}")
            for line in differences[:40]:
                print("   ", line)
            worst = max(worst, len(differences))
        return 1 if worst else 0
    Path(argv[1]).write_text(json.dumps(facts(Path(argv[0]).resolve()), indent=0, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
