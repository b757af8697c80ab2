"""Stills of the fingers estimated on real photos: the camera view (bone markers in their uncertainty
colours over the photo) and each found hand close up (the posed Anny body and its finger markers).

    PYTHONPATH=backend:. .venv/bin/python benchmarks/render_hand_stills.py --out docs/images [--photos 294 459]
        [--body-model model_files/SMPLH_NEUTRAL.npz --prefix smplh] [--mirrored --prefix mirrored]

Each photo goes through the backend's command line (instant mode, its own process), then through the
add-on's importer into Blender, as an animator's import would.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

from propose_blender import importer, results, snapshot, uncertainty  # noqa: E402


def estimate(photo: Path, out: Path, body_model: Path | None = None, mirrored: bool = False) -> Path:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'backend'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    body = ["--body-model", str(body_model)] if body_model else []
    flags = ["--mirrored"] if mirrored else []
    subprocess.run([sys.executable, "-m", "propose_backend", "estimate", "-i", str(photo), "-o", str(out),
                    "--estimator", "keypoints", "--samples", "4", *body, *flags], check=True, env=env,
                   capture_output=True)
    return out


def close_up(rig: bpy.types.Object, side: str, path: Path) -> None:
    """A camera 35 cm from the hand, on the line from the photo's camera, looking at the hand."""
    scene = bpy.context.scene
    wrist = rig.matrix_world @ rig.pose.bones[f"{side}_wrist"].head
    knuckles = rig.matrix_world @ rig.pose.bones[f"{side}_middle1"].head
    centre = (wrist + knuckles) / 2 + (knuckles - wrist) * 0.5
    eye = scene.camera.matrix_world.translation
    location = centre + (eye - centre).normalized() * 0.35
    data = bpy.data.cameras.new("hand close-up")
    data.lens = 35
    cam = bpy.data.objects.new("hand close-up", data)
    scene.collection.objects.link(cam)
    cam.location = location
    cam.rotation_euler = (centre - location).to_track_quat("-Z", "Y").to_euler()
    saved, saved_size = scene.camera, (scene.render.resolution_x, scene.render.resolution_y)
    scene.camera = cam
    scene.render.resolution_x = scene.render.resolution_y = 600
    markers = snapshot.add_bone_markers(rig, uncertainty.at_frame(rig, scene.frame_current))
    try:
        with snapshot._workbench(scene, transparent=False):
            shading = scene.display.shading
            shading.color_type = "MATERIAL"
            shading.show_xray, shading.xray_alpha = True, 0.55  # the finger markers show through the skin
            scene.render.filepath = str(path)
            bpy.ops.render.render(write_still=True)
    finally:
        snapshot._remove(markers)
        scene.camera = saved
        scene.render.resolution_x, scene.render.resolution_y = saved_size
    print("wrote", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--photos", nargs="+", default=["294", "459"])
    parser.add_argument("--body-model", type=Path, help="an SMPL / SMPL-H / SMPL-X file (default: Anny)")
    parser.add_argument("--prefix", default="hands", help="file name prefix of the stills")
    parser.add_argument("--mirrored", action="store_true",
                        help="read each photo's mirror image with --mirrored (a selfie camera's footage)")
    args = parser.parse_args()
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp())
    work = Path(tempfile.mkdtemp())
    for stem in args.photos:
        photo = next(PHOTOS.glob(f"*{stem}.jpg"))
        if args.mirrored:  # the mirror image, written to the work folder (never into the data)
            import cv2

            flipped = work / f"{stem}_mirror.jpg"
            cv2.imwrite(str(flipped), cv2.imread(str(photo))[:, ::-1])
            photo = flipped
        data_path = estimate(photo, work / f"{stem}.npz", args.body_model, args.mirrored)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        rig = importer.import_results(bpy.context, data_path, footage=photo).rig
        data = results.read(data_path)
        bpy.context.scene.frame_set(int(results.scene_frames(data)[0]))
        snapshot.render_overlay(rig, photo, args.out / f"{args.prefix}_{stem}_camera.png")
        print("wrote", args.out / f"{args.prefix}_{stem}_camera.png")
        for k, side in enumerate(("left", "right")):
            if bool(np.asarray(data["hand_valid"])[0, k]):
                close_up(rig, side, args.out / f"{args.prefix}_{stem}_{side}_closeup.png")


if __name__ == "__main__":
    main()
