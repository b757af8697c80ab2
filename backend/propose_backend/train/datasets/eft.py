"""EFT pseudo-ground-truth SMPL fits on COCO (`NEW_COCO2014-All-ver01.pkl`, docs/training.md, Data).

A pickle of `(image_paths, labels)` (or just `labels`), each label a dict with bbox (xyxy),
joint_img_17 (17×3×2 COCO keypoints: value, visibility), joints_29 / joints_17 / root_cam in
metres, theta (24×3), beta (10), f, img_path (relative to the image root), width, height. It is
read with the allow-list unpickler: arrays and plain containers only. The principal point is
the box centre, as the fits were made in the crop; 2D labels come from COCO, 3D from the fit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .coco_wholebody import coco_keypoints_to_uv
from .files import DatasetError, parsing, read_pickle, require_dir
from .record import NUM_H36M, NUM_JOINTS_29, PersonRecord, box_is_usable

SOURCE = "eft"


def load_records(annotations: Path, images: Path, train: bool = True) -> list[PersonRecord]:
    data = read_pickle(annotations, SOURCE)
    require_dir(images, SOURCE)
    labels = data[1] if isinstance(data, tuple) and len(data) == 2 else data
    if not isinstance(labels, list):
        raise DatasetError(f"{SOURCE}: {annotations} should hold a list of label dicts (or a pair "
                           f"(image paths, labels)), not a {type(data).__name__}.")
    records = []
    with parsing(annotations, SOURCE):
        for label in labels:
            bbox = np.asarray(label["bbox"], np.float32).reshape(4)
            if not box_is_usable(bbox):
                continue
            coco = np.asarray(label["joint_img_17"], np.float32).reshape(17, 3, 2)
            uvd29, vis29, uvd11, vis11 = coco_keypoints_to_uv(coco[:, :2, 0], coco[:, 0, 1])
            records.append(PersonRecord(
                image=images / str(label["img_path"]),
                image_size=(int(label["width"]), int(label["height"])), bbox=bbox, source=SOURCE,
                uvd29=uvd29, uvd29_vis=vis29, uvd11=uvd11, uvd11_vis=vis11,
                xyz29=np.asarray(label["joints_29"], np.float32).reshape(NUM_JOINTS_29, 3) * 1000.0,
                xyz29_vis=np.ones((NUM_JOINTS_29, 3), np.float32),
                xyz17=np.asarray(label["joints_17"], np.float32).reshape(NUM_H36M, 3) * 1000.0,
                xyz17_vis=np.ones((NUM_H36M, 3), np.float32),
                theta=np.asarray(label["theta"], np.float32).reshape(24, 3),
                beta=np.asarray(label["beta"], np.float32).reshape(10), has_smpl=True,
                root_cam=np.asarray(label["root_cam"], np.float32).reshape(3) * 1000.0,
                focal=np.broadcast_to(np.asarray(label["f"], np.float32).reshape(-1), (2,)).copy(),
                principal=np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], np.float32),
            ))
    return records
