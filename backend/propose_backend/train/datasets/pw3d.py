"""3DPW in HybrIK's json format (docs/training.md, Data), e.g. `3DPW_train_new.json` / `3DPW_test_new.json`.

COCO-style: `images` (id, file_name, sequence, width, height, cam_param {focal, princpt}) and
`annotations` (image_id, bbox xywh, h36m_joints 17×3 m, smpl_joint_cam 24×3 m, smpl_joint_img
24×3 (u, v, depth m), smpl_param {pose 72, shape 10}, optional gender). Images live under
`<images>/<sequence>/<file_name>`. The synthetic mini-dataset is written in this format too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...skeleton import NUM_SMPL_JOINTS
from .files import parsing, read_json, require_dir
from .record import NUM_H36M, NUM_JOINTS_29, PersonRecord, box_is_usable, xywh_to_xyxy

SOURCE = "3dpw"


def load_records(annotations: Path, images: Path, train: bool = True) -> list[PersonRecord]:
    data = read_json(annotations, SOURCE)
    require_dir(images, SOURCE)
    records = []
    with parsing(annotations, SOURCE):
        image_by_id = {image["id"]: image for image in data["images"]}
        for ann in data["annotations"]:
            image = image_by_id[ann["image_id"]]
            width, height = int(image["width"]), int(image["height"])
            bbox = xywh_to_xyxy(ann["bbox"], width, height)
            if not box_is_usable(bbox):
                continue
            joints_m = np.asarray(ann["smpl_joint_cam"], np.float32).reshape(-1, 3)[:NUM_SMPL_JOINTS]
            pixels = np.asarray(ann["smpl_joint_img"], np.float32).reshape(-1, 3)[:NUM_SMPL_JOINTS]
            xyz29 = np.zeros((NUM_JOINTS_29, 3), np.float32)
            xyz29[:NUM_SMPL_JOINTS] = joints_m * 1000.0
            uvd29 = np.zeros_like(xyz29)
            uvd29[:NUM_SMPL_JOINTS, :2] = pixels[:, :2]
            uvd29[:NUM_SMPL_JOINTS, 2] = (pixels[:, 2] - pixels[0, 2]) * 1000.0
            vis29 = np.zeros_like(xyz29)
            vis29[:NUM_SMPL_JOINTS] = 1.0  # the 5 leaf joints are not annotated
            records.append(PersonRecord(
                image=images / image["sequence"] / image["file_name"], image_size=(width, height),
                bbox=bbox, source=SOURCE, uvd29=uvd29, uvd29_vis=vis29, xyz29=xyz29,
                xyz29_vis=vis29.copy(),
                xyz17=np.asarray(ann["h36m_joints"], np.float32).reshape(NUM_H36M, 3) * 1000.0,
                xyz17_vis=np.ones((NUM_H36M, 3), np.float32),
                theta=np.asarray(ann["smpl_param"]["pose"], np.float32).reshape(24, 3),
                beta=np.asarray(ann["smpl_param"]["shape"], np.float32).reshape(10), has_smpl=True,
                root_cam=xyz29[0].copy(),
                focal=np.asarray(image["cam_param"]["focal"], np.float32).reshape(2),
                principal=np.asarray(image["cam_param"]["princpt"], np.float32).reshape(2),
                extra_from_smpl=True, gender=str(ann.get("gender", "neutral")),
            ))
    return records
