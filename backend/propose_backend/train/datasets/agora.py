"""AGORA SMPL annotations (`train_all_SMPL_withjv_withkid.pt`, docs/training.md, Data).

A dict of equally long per-person lists: img_path, ann_path, is_valid, occlusion, shape_kid,
shape (10), pose (72), xyz_17 (m), gt_joints_3d (m, camera), xyz_29 (m, root-relative), uv_24.
Read with `torch.load(weights_only=True)`. Images are 1280×720 under `<images>/<scene>/` for
training (scene = first two parts of the annotation file name) and `<images>/validation/`
otherwise. Intrinsics come from the sensor (36 × 20.25 mm) and the scene's focal length.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import DatasetError, parsing, read_torch, require_dir
from .record import NUM_H36M, NUM_JOINTS_29, PersonRecord, box_is_usable

SOURCE = "agora"
IMAGE_SIZE = (1280, 720)
SENSOR_MM = (36.0, 20.25)
MAX_OCCLUSION = 50  # percent; more occluded people are dropped from training
BOX_MARGIN = 1.25
REQUIRED = ("img_path", "ann_path", "is_valid", "occlusion", "shape_kid", "shape", "pose",
            "xyz_17", "gt_joints_3d", "xyz_29", "uv_24")


def focal_length_mm(image_name: str) -> float:
    """Per-scene focal lengths (HDRI scenes 50 mm, cam00–cam03 18 mm, others 28 mm)."""
    if "hdri" in image_name:
        return 50.0
    if any(f"cam0{i}" in image_name for i in range(4)):
        return 18.0
    return 28.0


def intrinsics(image_name: str) -> tuple[np.ndarray, np.ndarray]:
    focal = focal_length_mm(image_name)
    width, height = IMAGE_SIZE
    f = np.array([focal / SENSOR_MM[0] * width, focal / SENSOR_MM[1] * height], np.float32)
    return f, np.array([width / 2, height / 2], np.float32)


def load_records(annotations: Path, images: Path, train: bool = True) -> list[PersonRecord]:
    db = read_torch(annotations, SOURCE)
    require_dir(images, SOURCE)
    missing = [key for key in REQUIRED if not isinstance(db, dict) or key not in db]
    if missing:
        raise DatasetError(f"{SOURCE}: {annotations} lacks {', '.join(missing)}; is it the "
                           "HybrIK-style AGORA SMPL annotation file?")
    width, height = IMAGE_SIZE
    records = []
    with parsing(annotations, SOURCE):
        for i in range(len(db["ann_path"])):
            if train and (not db["is_valid"][i] or float(db["occlusion"][i]) > MAX_OCCLUSION):
                continue
            if float(np.asarray(db["shape_kid"][i]).reshape(-1)[0]) != 0:
                continue  # kids need the SMIL blend shape, which the released model leaves out
            name = str(db["img_path"][i])
            scene = Path(str(db["ann_path"][i])).name.split("_")
            folder = f"{scene[0]}_{scene[1]}" if "train" in name else "validation"
            joints24 = np.asarray(db["gt_joints_3d"][i], np.float32).reshape(-1, 3)[:24] * 1000.0
            xyz29 = np.asarray(db["xyz_29"][i], np.float32).reshape(NUM_JOINTS_29, 3) * 1000.0 + joints24[0]
            uv = np.asarray(db["uv_24"][i], np.float32).reshape(-1, 2)
            lo, hi = uv.min(axis=0), uv.max(axis=0)
            center, side = (lo + hi) / 2, float(max(hi - lo)) * BOX_MARGIN
            bbox = np.concatenate([center - side / 2, center + side / 2]).astype(np.float32)
            if not (bbox[0] < width - 5 and bbox[1] < height - 5 and bbox[2] > 5 and bbox[3] > 5):
                continue
            if not box_is_usable(bbox):
                continue
            uvd29 = np.zeros((NUM_JOINTS_29, 3), np.float32)
            uvd29[:24, :2] = uv[:24]
            uvd29[:, 2] = xyz29[:, 2] - xyz29[0, 2]
            vis29 = np.zeros_like(uvd29)
            vis29[:24] = 1.0
            xyz17 = np.asarray(db["xyz_17"][i], np.float32).reshape(NUM_H36M, 3) * 1000.0
            focal, principal = intrinsics(name)
            records.append(PersonRecord(
                image=images / folder / name, image_size=IMAGE_SIZE, bbox=bbox, source=SOURCE,
                uvd29=uvd29, uvd29_vis=vis29, xyz29=xyz29, xyz29_vis=vis29.copy(),
                xyz17=xyz17 - xyz17[0], xyz17_vis=np.ones((NUM_H36M, 3), np.float32),
                theta=np.asarray(db["pose"][i], np.float32).reshape(24, 3),
                beta=np.asarray(db["shape"][i], np.float32).reshape(10), has_smpl=True,
                root_cam=joints24[0].copy(), focal=focal, principal=principal, extra_from_smpl=True,
            ))
    return records
