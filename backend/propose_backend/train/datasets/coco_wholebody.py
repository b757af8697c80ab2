"""COCO-WholeBody (`coco_wholebody_train_v1.0.json`), 2D keypoints only (docs/training.md, Data).

Standard COCO json whose person annotations carry `keypoints` (17 × (x, y, v)) and `foot_kpts`
(6 × (x, y, v)). Body keypoints fill SMPL joint slots, face keypoints the 5 face points, foot
keypoints the 6 foot points; no SMPL, so only the 2D terms of the loss act. Images live under
`<images>/<file_name>` (e.g. data/coco/train2017).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import parsing, read_json, require_dir
from .record import NUM_EXTRA, NUM_JOINTS_29, PersonRecord, box_is_usable, xywh_to_xyxy

SOURCE = "coco_wholebody"
PERSON_CATEGORY = 1
# SMPL joint slot ← COCO body keypoint (hips, knees, ankles, shoulders, elbows, wrists).
SMPL_FROM_COCO: dict[int, int] = {1: 11, 2: 12, 4: 13, 5: 14, 7: 15, 8: 16,
                                  16: 5, 17: 6, 18: 7, 19: 8, 20: 9, 21: 10}
# Extra points 0..4 (nose, right eye, left eye, right ear, left ear) ← COCO face keypoints.
FACE_FROM_COCO: tuple[int, ...] = (0, 2, 1, 4, 3)


def coco_keypoints_to_uv(coco: np.ndarray, visible: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(17, 2) COCO pixels and visibility → (uvd29, vis29, uvd11, vis11) with face points filled."""
    uvd29 = np.zeros((NUM_JOINTS_29, 3), np.float32)
    vis29 = np.zeros_like(uvd29)
    for slot, kp in SMPL_FROM_COCO.items():
        uvd29[slot, :2], vis29[slot, :2] = coco[kp], visible[kp]
    uvd11 = np.zeros((NUM_EXTRA, 3), np.float32)
    vis11 = np.zeros_like(uvd11)
    uvd11[:5, :2] = coco[list(FACE_FROM_COCO)]
    vis11[:5, :2] = visible[list(FACE_FROM_COCO), None]
    return uvd29, vis29, uvd11, vis11


def load_records(annotations: Path, images: Path, train: bool = True) -> list[PersonRecord]:
    data = read_json(annotations, SOURCE)
    require_dir(images, SOURCE)
    records = []
    with parsing(annotations, SOURCE):
        image_by_id = {image["id"]: image for image in data["images"]}
        for ann in data["annotations"]:
            if ann.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY or ann.get("iscrowd", 0):
                continue
            body = np.asarray(ann["keypoints"], np.float32).reshape(17, 3)
            feet = np.asarray(ann.get("foot_kpts", [0.0] * 18), np.float32).reshape(6, 3)
            if body[:, 2].max() <= 0 and feet[:, 2].max() <= 0:
                continue
            image = image_by_id[ann["image_id"]]
            width, height = int(image["width"]), int(image["height"])
            bbox = xywh_to_xyxy(ann["bbox"], width, height)
            if ann.get("area", 1) <= 0 or not box_is_usable(bbox, min_size=0.0):
                continue
            visible = np.minimum(body[:, 2], 1.0)
            uvd29, vis29, uvd11, vis11 = coco_keypoints_to_uv(body[:, :2], visible)
            uvd11[5:, :2] = feet[:, :2]
            vis11[5:, :2] = np.minimum(feet[:, 2:3], 1.0)
            records.append(PersonRecord(
                image=images / image["file_name"], image_size=(width, height), bbox=bbox,
                source=SOURCE, uvd29=uvd29, uvd29_vis=vis29, uvd11=uvd11, uvd11_vis=vis11,
            ))
    return records
