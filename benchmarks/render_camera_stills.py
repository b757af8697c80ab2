"""Stills of a clip placed in the world: the camera view over the footage, and a fixed side view of the floor.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/render_camera_stills.py RESULTS.npz --footage CLIP \
        --out docs/images --name street [--frames 1,100,200] [--still-camera]

The results file is imported by the add-on (importer.import_results, so a solved camera is keyed
along its path) and rendered with Workbench:
  NAME_camera_F.png  — the clip's camera at scene frame F, the body (semi-transparent) over that
                       footage frame: the body must sit on the performer on every frame;
  NAME_side.png      — one fixed orthographic camera from the side of the path, the floor (z = 0)
                       as a grey slab, the body at each of the frames side by side: her feet must
                       stand on the floor.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mathutils import Matrix  # noqa: E402

from propose_blender import importer, results, rig as rig_module  # noqa: E402


def _workbench(scene: bpy.types.Scene) -> None:
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "OBJECT"
    scene.render.film_transparent = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.view_settings.view_transform = "Standard"


def _render(scene: bpy.types.Scene, path: Path) -> np.ndarray:
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _footage_frame(footage: Path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(footage))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"frame {index} of {footage} cannot be read")
    return image


def _body(rig: bpy.types.Object) -> bpy.types.Object:
    return max((c for c in rig.children if c.type == "MESH"), key=lambda o: len(o.data.vertices))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--footage", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", default="clip")
    parser.add_argument("--frames", default="1,100,200")
    parser.add_argument("--still-camera", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    built = importer.import_results(bpy.context, args.results, footage=None, still_camera=args.still_camera)
    rig, scene = built.rig, bpy.context.scene
    body = _body(rig)
    body.color = (0.95, 0.55, 0.2, 1.0)
    _workbench(scene)
    frames = [int(f) for f in args.frames.split(",")]
    work = Path(tempfile.mkdtemp(prefix="propose-stills-"))
    for frame in frames:  # the clip's camera over the footage
        scene.frame_set(frame)
        layer = _render(scene, work / f"cam{frame}.png").astype(np.float32) / 255
        image = _footage_frame(args.footage, frame - results.FIRST_SCENE_FRAME).astype(np.float32) / 255
        alpha = 0.6 * layer[..., 3:]
        out = (layer[..., :3] * alpha + image * (1 - alpha)) * 255
        cv2.putText(out, f"frame {frame}", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
        cv2.imwrite(str(args.out / f"{args.name}_camera_{frame}.png"), out.astype(np.uint8))
    # the side view: fixed, orthographic, across the body's path
    pelvis = []
    for frame in frames:
        scene.frame_set(frame)
        pelvis.append(np.array(rig.matrix_world @ rig.pose.bones[rig_module.joint_names()[0]].head))
    pelvis = np.array(pelvis)
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.0, 0.0, 0.0))
    floor = bpy.context.object  # a thin slab whose top is the floor (z = 0): a band seen edge-on
    centre = pelvis.mean(0)
    floor.scale = (12.0, 12.0, 0.03)
    floor.location = (centre[0], centre[1], -0.015)
    floor.color = (0.55, 0.55, 0.55, 1.0)
    data = bpy.data.cameras.new("side")
    data.type, data.ortho_scale = "ORTHO", 3.2
    side = bpy.data.objects.new("side", data)
    scene.collection.objects.link(side)
    # look along world y (across a path that mostly goes along x), level, 1 m up
    side.matrix_world = Matrix(((1, 0, 0, centre[0]), (0, 0, -1, centre[1] - 8.0), (0, 1, 0, 0.95), (0, 0, 0, 1)))
    side.matrix_world = Matrix(side.matrix_world)
    scene.camera = side
    scene.render.resolution_x, scene.render.resolution_y = 640, 480
    pictures = []
    for frame in frames:
        scene.frame_set(frame)
        rgba = _render(scene, work / f"side{frame}.png").astype(np.float32) / 255
        out = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:]) * 1.0
        out = (out * 255).astype(np.uint8)
        floor_row = 480 // 2 + int(round(0.95 / (3.2 * 480 / 640) * 480))  # z = 0 (ortho height 2.4 m)
        cv2.line(out, (0, floor_row), (639, floor_row), (0, 0, 200), 1)
        cv2.putText(out, f"frame {frame}", (12, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
        pictures.append(out)
    cv2.imwrite(str(args.out / f"{args.name}_side.png"), np.concatenate(pictures, axis=1))
    print("wrote", sorted(p.name for p in args.out.glob(f"{args.name}_*.png")))


if __name__ == "__main__":
    main()
