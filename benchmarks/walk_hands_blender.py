"""The fingers in Blender, walked through as an animator would, on whichever `bpy` runs this script.

    PYTHONPATH=backend:.:tests/blender BLENDER_USER_RESOURCES=$(mktemp -d) .venv-bpy42/bin/python \
        benchmarks/walk_hands_blender.py --street street.npz --photos 459.npz 294.npz --out /tmp/hands-4.2

Run it once per supported Blender (`.venv-bpy42`, `.venv-bpy45`, `.venv`) on the same results files and
compare: it installs the extension zip built from this checkout (as the tests do), imports each result
with the add-on's operator (timed), and checks and renders the finger bones, the body's fingers bending
with them, their uncertainty colours, the review queue, the ghosts, part of a ghost on one frame, the
FBX / BVH / glTF round trips and the Rigify / Mixamo / UE5 retargets. It prints one line per check and
writes `checks.json` and the stills (`*.png`) to --out.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT), str(ROOT / "tests" / "blender"), str(ROOT / "benchmarks")]

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from mathutils import Quaternion, Vector  # noqa: E402

import build_addon  # noqa: E402
import target_rigs  # noqa: E402
from render_retarget_stills import _markers as markers  # noqa: E402 - octahedra in a target's bone colours

MODULE = "bl_ext.user_default.propose_blender"
FINGERS = [f"{s}_{f}{k}" for s in ("left", "right") for f in ("index", "middle", "pinky", "ring", "thumb")
           for k in (1, 2, 3)]
checks: dict[str, object] = {}
FRAMES = Path(".")


def note(name: str, value: object) -> None:
    checks[name] = value
    print(f"{name}: {value}")


def addon(name: str):
    return importlib.import_module(f"{MODULE}.{name}")


def fresh_scene() -> None:
    """An empty scene with the installed extension enabled (factory settings reset the add-ons)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if MODULE not in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_enable(module=MODULE)


def install(work: Path) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    package = build_addon.build(work / "propose_blender.zip")
    assert bpy.ops.extensions.package_install_files(filepath=str(package), repo="user_default",
                                                    enable_on_install=True) == {"FINISHED"}
    note("blender", bpy.app.version_string)


def import_file(path: Path, footage: Path | None = None) -> bpy.types.Object:
    """The panel's Import ProPose Results… (the operator), timed."""
    start = time.perf_counter()
    assert bpy.ops.propose.import_results(filepath=str(path)) == {"FINISHED"}
    seconds = time.perf_counter() - start
    rig = addon("rig").find_rigs(bpy.context.scene)[-1]
    note(f"import_s[{path.name}]", round(seconds, 2))
    return rig


def best_frame(path: Path, side: int) -> int:
    """Scene frame of the frame whose hand `side` was read most surely."""
    results = addon("results")
    data = results.read(path)
    score = np.where(np.asarray(data["hand_valid"])[:, side], np.asarray(data["hand_score"])[:, side], -1)
    row = int(np.argmax(score))
    return int(results.scene_frames(data)[row])


def hand_camera(rig: bpy.types.Object, side: str, distance: float = 0.35, name: str = "hand close-up"):
    """A camera `distance` from the hand, on the line from the scene's camera (as render_hand_stills)."""
    scene = bpy.context.scene
    bpy.context.view_layer.update()
    wrist = rig.matrix_world @ rig.pose.bones[f"{side}_wrist"].head
    knuckles = rig.matrix_world @ rig.pose.bones[f"{side}_middle1"].head
    centre = (wrist + knuckles) / 2 + (knuckles - wrist) * 0.5
    eye = scene.camera.matrix_world.translation if scene.camera else centre + Vector((0, -3, 0))
    data = bpy.data.cameras.new(name)
    data.lens = 35
    cam = bpy.data.objects.new(name, data)
    scene.collection.objects.link(cam)
    cam.location = centre + (eye - centre).normalized() * distance
    cam.rotation_euler = (centre - cam.location).to_track_quat("-Z", "Y").to_euler()
    return cam


def render(camera: bpy.types.Object, path: Path, markers_of: list[bpy.types.Object], size: int = 360,
           xray: bool = True) -> None:
    """Workbench still through `camera`: the bodies in their materials, bone markers in their colours."""
    snapshot, uncertainty = addon("snapshot"), addon("uncertainty")
    scene = bpy.context.scene
    saved, saved_size = scene.camera, (scene.render.resolution_x, scene.render.resolution_y)
    scene.camera = camera
    scene.render.resolution_x = scene.render.resolution_y = size
    made = []
    for rig in markers_of:
        made += snapshot.add_bone_markers(rig, uncertainty.at_frame(rig, scene.frame_current))
    try:
        with snapshot._workbench(scene, transparent=False):
            shading = scene.display.shading
            shading.color_type = "MATERIAL"
            shading.show_xray, shading.xray_alpha = xray, 0.55
            layer = snapshot._render_rgba(scene, path)
        alpha = layer[..., 3:]  # on white: Workbench leaves the background transparent without a world
        snapshot._write_png(layer[..., :3] * alpha + (1 - alpha), path)
    finally:
        snapshot._remove(made)
        scene.camera = saved
        scene.render.resolution_x, scene.render.resolution_y = saved_size


def body_of(rig):
    return next(c for c in rig.children if c.type == "MESH" and addon("ghosts").GHOST_OF not in c)


def evaluated_vertices(obj) -> np.ndarray:
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def finger_quats(rig) -> np.ndarray:
    return np.array([list(rig.pose.bones[n].rotation_quaternion) for n in FINGERS])


def angle_deg(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    dot = np.abs(np.sum(q1 * q2, -1)) / np.linalg.norm(q1, axis=-1) / np.linalg.norm(q2, axis=-1)
    return np.degrees(2 * np.arccos(np.clip(dot, -1, 1)))


def all_keys(rig) -> dict[tuple[str, int], np.ndarray]:
    bag = addon("keyframes").find_channelbag(rig)
    out = {}
    for c in bag.fcurves:
        values = np.empty(len(c.keyframe_points) * 2)
        c.keyframe_points.foreach_get("co", values)
        out[(c.data_path, c.array_index)] = values.reshape(-1, 2)
    return out


# --- the walk-through --------------------------------------------------------------------------------

def finger_bones(rig, out: Path, tag: str) -> None:
    """30 bones in Hands; a turn about each one's local X curls it into the palm; key a fist and look."""
    hands = rig.data.collections.get("Hands")
    note(f"{tag}.finger_bones_in_Hands", sum(n in hands.bones for n in FINGERS) if hands else 0)
    scene = bpy.context.scene
    frame = scene.frame_current
    curls = []
    for name in FINGERS:
        pb = rig.pose.bones[name]
        saved = pb.rotation_quaternion.copy()
        bpy.context.view_layer.update()
        before = (pb.tail - pb.head).normalized()
        pb.rotation_quaternion = saved @ Quaternion((1, 0, 0), math.radians(40))
        bpy.context.view_layer.update()
        after = (pb.tail - pb.head).normalized()
        # a turn about +X carries a bone's tip towards its +Z
        z_axis = (pb.matrix.to_3x3() @ Vector((0, 0, 1))).normalized()
        curls.append((math.degrees(before.angle(after)), (after - before).dot(z_axis)))
        pb.rotation_quaternion = saved
    curls = np.array(curls)
    note(f"{tag}.curl_40deg_about_x_turns_bone_deg[min,max]", [round(curls[:, 0].min(), 2), round(curls[:, 0].max(), 2)])
    # the fist: every finger bone of the left hand keyed 60 degrees about X on this frame
    body = body_of(rig)
    side = "left"
    near = [i for i, g in enumerate(body.vertex_groups) if g.name.startswith(f"{side}_") and g.name[len(side) + 1:-1]
            in ("index", "middle", "pinky", "ring", "thumb")]
    rest_vertices = evaluated_vertices(body)
    cam = hand_camera(rig, side)
    render(cam, out / f"{tag}_hand_estimated.png", [rig])
    saved = {n: rig.pose.bones[n].rotation_quaternion.copy() for n in FINGERS}
    for name in FINGERS[:15]:
        pb = rig.pose.bones[name]
        pb.rotation_quaternion = Quaternion((1, 0, 0), math.radians(60 if "thumb" not in name else 30))
        pb.keyframe_insert("rotation_quaternion", frame=frame)
    scene.frame_set(frame)
    fist = evaluated_vertices(body)
    moved = np.linalg.norm(fist - rest_vertices, axis=1)
    weights = np.zeros(len(body.data.vertices))
    for v in body.data.vertices:
        weights[v.index] = sum(g.weight for g in v.groups if g.group in near)
    note(f"{tag}.fist_moves_finger_vertices_cm[median of weight>0.5, max elsewhere(weight 0)]",
         [round(100 * float(np.median(moved[weights > 0.5])), 2), round(100 * float(moved[weights == 0].max()), 3)])
    render(cam, out / f"{tag}_hand_fist.png", [rig])
    for name, q in saved.items():  # back to the estimate on this frame
        rig.pose.bones[name].rotation_quaternion = q
        if name in FINGERS[:15]:
            rig.pose.bones[name].keyframe_insert("rotation_quaternion", frame=frame)
    scene.frame_set(frame)
    bpy.data.objects.remove(cam)


def colours(rig, tag: str) -> None:
    uncertainty, rig_module = addon("uncertainty"), addon("rig")
    scene = bpy.context.scene
    degrees = uncertainty.at_frame(rig, scene.frame_current)
    uncertainty.refresh(scene)
    names = rig_module.all_joint_names(rig)
    want = uncertainty.colors_of(degrees)
    got = np.array([list(rig.pose.bones[n].color.custom.normal) if rig.pose.bones[n].color.palette == "CUSTOM"
                    else [np.nan] * 3 for n in names[:len(degrees)]])
    fingers = [names.index(n) for n in FINGERS]
    note(f"{tag}.finger_colours_match[count, max diff]",
         [int(np.sum(np.all(np.abs(got[fingers] - want[fingers]) < 0.01, 1))), round(float(np.nanmax(np.abs(got - want))), 4)])
    note(f"{tag}.finger_uncertainty_deg[left mean, right mean]",
         [round(float(np.mean(degrees[fingers[:15]])), 1), round(float(np.mean(degrees[fingers[15:]])), 1)])


def review_queue(rig, tag: str) -> None:
    review, rig_module = addon("review"), addon("rig")
    names = rig_module.all_joint_names(rig)
    frames, degrees = review.read_table(rig)
    found = review.queue(rig, 20.0)
    peaks = [names[int(j)] for j in found.peak_joint]
    only = review.queue(rig, 20.0, tuple(names.index(n) for n in FINGERS))
    note(f"{tag}.review[table shape, spans, spans peaking on a finger, finger-only spans]",
         [list(degrees.shape), len(found), sum(p in FINGERS for p in peaks), len(only)])
    if len(only):
        here = bpy.context.scene.frame_current
        frame, bone = review.jump(bpy.context, rig, only, 0)
        bpy.ops.object.mode_set(mode="OBJECT")
        bpy.context.scene.frame_set(here)
        note(f"{tag}.review_jump_to_finger_span", [frame, bone, bone in FINGERS])


def operators(rig, tag: str, side: str) -> None:
    """What the panel's buttons do with finger bones: Next in the review queue (fingers only), the
    Uncertainty panel with a finger bone active, Apply ghost to one selected finger."""
    from test_panel import _draw  # the recording layout the panel tests draw with

    ui_review, ui_panel, review = addon("ui.review"), addon("ui.panel"), addon("review")
    scene = bpy.context.scene
    frame = scene.frame_current
    settings = scene.propose_review
    settings.threshold = 1.0  # every frame is a span: the queue's list then names finger bones too
    bpy.context.view_layer.objects.active = rig
    drawn = _draw(ui_review.PROPOSE_PT_review, bpy.context)
    note(f"{tag}.review_panel_draws_with_finger_spans", "operator propose.review_jump" in drawn)
    settings.threshold = 20.0
    scene.frame_set(scene.frame_start)
    done = bpy.ops.propose.review_next()
    bone = bpy.context.active_pose_bone.name if bpy.context.active_pose_bone else None
    note(f"{tag}.review_next", [sorted(done), scene.frame_current, bone])
    review.select_bone(bpy.context, rig, f"{side}_index2")
    drawn = _draw(ui_panel.PROPOSE_PT_uncertainty, bpy.context)
    note(f"{tag}.uncertainty_panel_finger_value", [d for d in drawn if d.startswith(f"label {side}_index2")])
    scene.frame_set(frame)
    review.select_bone(bpy.context, rig, f"{side}_index1")
    before = all_keys(rig)
    bpy.ops.propose.show_ghosts()
    done = bpy.ops.propose.apply_ghost_bones(index=1)
    after = all_keys(rig)
    moved = sorted({k[0].split('"')[1] for k in after if k[0].startswith("pose") and not np.array_equal(after[k], before[k])})
    note(f"{tag}.apply_ghost_to_selected_finger", [sorted(done), moved])
    bpy.ops.propose.hide_ghosts()
    bpy.ops.object.mode_set(mode="OBJECT")
    for k in before:  # put the keys back for the next checks
        c = addon("keyframes").find_channelbag(rig).fcurves.find(k[0], index=k[1])
        c.keyframe_points.foreach_set("co", before[k].ravel())
        c.update()
    scene.frame_set(frame)


def ghost_fingers(rig, out: Path, tag: str, side: str) -> None:
    ghosts = addon("ghosts")
    scene = bpy.context.scene
    made = ghosts.show(rig, scene.frame_current, 0.0)
    bpy.context.view_layer.update()
    mine = finger_quats(rig)
    spread = [angle_deg(finger_quats(g), mine) for g in made]
    note(f"{tag}.ghosts[count, mean finger angle to the shown pose per ghost deg]",
         [len(made), [round(float(s.mean()), 1) for s in spread]])
    for g in made:
        for c in g.children:
            c.hide_render = False
    cam = hand_camera(rig, side)
    render(cam, out / f"{tag}_hand_ghosts.png", [rig], xray=False)
    bpy.data.objects.remove(cam)
    ghosts.hide(rig)


def part_of_ghost(rig, out: Path, tag: str, side: str) -> None:
    ghosts = addon("ghosts")
    scene = bpy.context.scene
    frame = scene.frame_current
    before = all_keys(rig)
    changed = ghosts.apply_to_bones(rig, 1, [f"{side}_wrist"], frame, frame)
    after = all_keys(rig)
    moved = sorted({k[0].split('"')[1] for k in after if k[0].startswith("pose") and
                    not np.array_equal(after[k], before[k])})
    frames = sorted({float(f) for k in after for f in after[k][np.any(after[k] != before[k], 1), 0]})
    note(f"{tag}.ghost2_{side}_hand[frames changed, bones changed]", [changed, frames, len(moved),
                                                                     all(m.startswith(side) for m in moved)])
    scene.frame_set(frame)
    cam = hand_camera(rig, side)
    render(cam, out / f"{tag}_hand_from_ghost2.png", [rig])
    bpy.data.objects.remove(cam)
    before = after
    ghosts.apply_to_bones(rig, 2, [f"{side}_index1"], frame, frame)
    after = all_keys(rig)
    moved = sorted({k[0].split('"')[1] for k in after if k[0].startswith("pose") and
                    not np.array_equal(after[k], before[k])})
    frames = sorted({float(f) for k in after for f in after[k][np.any(after[k] != before[k], 1), 0]})
    note(f"{tag}.ghost3_{side}_index[frames, bones]", [frames, moved])


def round_trips(rig, work: Path, tag: str, frames: range) -> None:
    """Export with the add-on, read back with Blender's own importer into an empty scene, compare the
    fingertips frame by frame (BVH in the armature's space: it has no object transform)."""
    export = addon("export")
    tips = [n for n in FINGERS if n.endswith("3")]
    wrists = ["left_wrist"] * 5 + ["right_wrist"] * 5

    def heads(obj, bones, space):
        scene, out = bpy.context.scene, []
        for f in frames:
            scene.frame_set(f)
            m = np.array(obj.matrix_world) if space == "WORLD" else np.eye(4)
            out.append(np.array([obj.pose.bones[b].head for b in bones]) @ m[:3, :3].T + m[:3, 3])
        return np.array(out)

    blend = work / f"{tag}_before_export.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    name_of_rig = rig.name
    for name in ("hands.fbx", "hands.bvh", "hands.glb"):
        bpy.ops.wm.open_mainfile(filepath=str(blend))
        rig = bpy.data.objects[name_of_rig]
        space = "ARMATURE" if name.endswith(".bvh") else "WORLD"
        before = heads(rig, tips, space)
        moving = np.ptp(before - heads(rig, wrists, space), axis=0).max()  # fingers move within the hand
        fps = bpy.context.scene.render.fps
        path = export.export(bpy.context, rig, work / name)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        if name.endswith(".fbx"):
            bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
        elif name.endswith(".bvh"):
            bpy.ops.import_anim.bvh(filepath=str(path), update_scene_fps=True, axis_forward="Y", axis_up="Z")
        else:
            bpy.context.scene.render.fps = fps
            bpy.ops.import_scene.gltf(filepath=str(path))
        again = next(o for o in bpy.data.objects if o.type == "ARMATURE")
        after = heads(again, tips, space)
        note(f"{tag}.{name}[fingertips move within the hand m, max fingertip error mm]",
             [round(float(moving), 3), round(1000 * float(np.linalg.norm(after - before, axis=-1).max()), 3)])
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    if MODULE not in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_enable(module=MODULE)


def retargets(rig, out: Path, tag: str, frames: range, frame: int) -> None:
    bone_map, retarget, rigify_target = addon("bone_map"), addon("retarget"), addon("rigify_target")
    scene = bpy.context.scene
    targets = [("rigify", rigify_target.generate(bpy.context, rig)),
               ("mixamo", target_rigs.mixamo_rig(fingers=True)),
               ("ue5", target_rigs.ue5_rig(rotation_z=0.0, fingers=True))]
    for k, (preset, target) in enumerate(targets):
        target.location.x += 1.0 + k
        bpy.context.view_layer.update()
        names = bone_map.preset(preset).resolve(target)
        mapped = [n for n in FINGERS if n in names]
        retarget.retarget(bpy.context, rig, target, bone_map.preset(preset), bone_map.identity())
        errors, motion = [], []
        for f in frames:
            scene.frame_set(f)
            want = np.array([(rig.matrix_world.to_3x3() @ (rig.pose.bones[n].tail - rig.pose.bones[n].head)).normalized()[:]
                             for n in mapped])
            got = np.array([(target.matrix_world.to_3x3() @ (target.pose.bones[names[n]].tail
                                                              - target.pose.bones[names[n]].head)).normalized()[:]
                            for n in mapped])
            errors.append(np.degrees(np.arccos(np.clip((want * got).sum(-1), -1, 1))))
            motion.append(got)
        motion = np.array(motion)
        turn = np.degrees(np.arccos(np.clip((motion * motion[:1]).sum(-1), -1, 1))).max()
        note(f"{tag}.retarget_{preset}[finger bones mapped, max direction error deg, max finger turn over clip deg]",
             [len(mapped), round(float(np.max(errors)), 2), round(float(turn), 1)])
        scene.frame_set(frame)
        retarget.refresh_colors(scene)
        markers(target, [names[n] for n in mapped] + [names["left_wrist"]])
        side = "left"
        hand = target.pose.bones[names[f"{side}_middle1"]]
        wrist = target.pose.bones[names[f"{side}_wrist"]]
        centre = target.matrix_world @ ((hand.head + wrist.head) / 2 + (hand.head - wrist.head) * 0.5)
        cam_data = bpy.data.cameras.new("target hand")
        cam_data.lens = 35
        cam = bpy.data.objects.new("target hand", cam_data)
        scene.collection.objects.link(cam)
        source_cam = scene.camera.matrix_world.translation if scene.camera else centre + Vector((0, -3, 0))
        cam.location = centre + (source_cam - centre).normalized() * 0.35
        cam.rotation_euler = (centre - cam.location).to_track_quat("-Z", "Y").to_euler()
        render(cam, out / f"{tag}_retarget_{preset}_hand.png", [], xray=False)
        bpy.data.objects.remove(cam)


def step(name: str, fn, *args) -> None:
    """Run one check; a failure is recorded and printed, and the walk goes on."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - every failure is a finding
        import traceback

        traceback.print_exc()
        note(f"FAILED {name}", f"{type(exc).__name__}: {exc}")
        if bpy.context.object is not None and bpy.context.object.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")


def walk(path: Path, out: Path, work: Path, tag: str, frames: int | None, full: bool) -> None:
    fresh_scene()
    rig = import_file(path)
    data = addon("results").read(path)
    valid = np.asarray(data["hand_valid"])
    note(f"{tag}.hands_read[left, right of rows]", [int(valid[:, 0].sum()), int(valid[:, 1].sum()), len(valid)])
    side = "left" if valid[:, 0].sum() >= valid[:, 1].sum() else "right"
    frame = best_frame(path, 0 if side == "left" else 1)
    scene = bpy.context.scene
    scene.frame_set(frame)
    note(f"{tag}.frame", [frame, side])
    footage = addon("importer").footage_from_meta(data)
    if footage is not None and footage.suffix.lower() in {".avi", ".mp4", ".mov", ".mkv"}:  # the frame itself
        footage = FRAMES / f"frame{frame - 1:06d}.png"  # (propose-backend frame --frame F-1 --output ...)
    addon("snapshot").render_overlay(rig, footage, out / f"{tag}_camera.png")
    step(f"{tag}.colours", colours, rig, tag)
    step(f"{tag}.review", review_queue, rig, tag)
    step(f"{tag}.operators", operators, rig, tag, side)
    if not full:
        for k, s in enumerate(("left", "right")):
            if valid[0, k]:
                cam = hand_camera(rig, s)
                render(cam, out / f"{tag}_{s}_closeup.png", [rig])
                bpy.data.objects.remove(cam)
        return
    step(f"{tag}.finger bones", finger_bones, rig, out, tag)
    scene.frame_set(frame)
    step(f"{tag}.ghosts", ghost_fingers, rig, out, tag, side)
    span = range(max(scene.frame_start, frame - (frames or 30) // 2), min(scene.frame_end, frame + (frames or 30) // 2) + 1)
    name = rig.name
    step(f"{tag}.round trips", round_trips, rig, work, tag, span)
    rig = bpy.data.objects[name]
    scene = bpy.context.scene
    scene.frame_set(frame)
    step(f"{tag}.part of a ghost", part_of_ghost, rig, out, tag, side)
    scene.frame_set(frame)
    step(f"{tag}.retarget", retargets, rig, out, tag, span, frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--street", type=Path, required=True, help="results of the street clip (with fingers)")
    parser.add_argument("--photos", type=Path, nargs="*", default=[], help="results of photos with hands")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames-dir", type=Path, help="the street frames as propose-backend frame writes them "
                        "(frame000166.png for scene frame 167): the camera view's background")
    parser.add_argument("--frames", type=int, default=30, help="frames round the chosen one for round trips")
    parser.add_argument("--import-only", action="store_true", help="only time the street import (three times)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    global FRAMES
    FRAMES = args.frames_dir or args.out
    work = Path(tempfile.mkdtemp())
    install(work)
    if args.import_only:
        for k in range(3):
            fresh_scene()
            import_file(args.street)
            checks.setdefault("street_imports_s", []).append(checks.pop(f"import_s[{args.street.name}]"))
    else:
        walk(args.street, args.out, work, "street", args.frames, full=True)
        for photo in args.photos:
            walk(photo, args.out, work, photo.stem, None, full=photo == args.photos[0])
    (args.out / "checks.json").write_text(json.dumps(checks, indent=1))
    print("done", args.out)


if __name__ == "__main__":
    main()
