"""Human3.6M in HybrIK's parsed SMPL format (docs/training.md, Data), e.g.
`Sample_5_train_Human36M_smpl_leaf_twist_protocol_2.json` (train) or
`Sample_20_test_Human36M_smpl_protocol_2.json` (test).

COCO-like json: `images[i]` (file_name, width, height, cam_param {f, c}) pairs with
`annotations[i]` (bbox xywh, h36m_joints 17×3 mm, smpl_joints 24 or 29 ×3 mm, root_coord,
thetas 72, betas 10), all in camera space. Images live under `<images>/<file_name>`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import parsing, read_json, require_dir
from .record import NUM_H36M, NUM_JOINTS_29, PersonRecord, box_is_usable, project, xywh_to_xyxy

SOURCE = "h36m"
ENLARGE = 1.1  # tighter crops than the other sources, as in the reference
# Sequences with corrupted frames that the reference skips.
BLOCKED_SEQUENCES = ("s_09_act_05_subact_02_ca", "s_09_act_10_subact_02_ca", "s_09_act_13_subact_01_ca")


def load_records(annotations: Path, images: Path, train: bool = True) -> list[PersonRecord]:
    data = read_json(annotations, SOURCE)
    require_dir(images, SOURCE)
    records = []
    with parsing(annotations, SOURCE):
        for image, ann in zip(data["images"], data["annotations"], strict=True):
            if any(name in image["file_name"] for name in BLOCKED_SEQUENCES):
                continue
            width, height = int(image["width"]), int(image["height"])
            bbox = xywh_to_xyxy(ann["bbox"], width, height)
            if not box_is_usable(bbox):
                continue
            focal = np.asarray(image["cam_param"]["f"], np.float32).reshape(2)
            principal = np.asarray(image["cam_param"]["c"], np.float32).reshape(2)
            smpl_joints = np.asarray(ann["smpl_joints"], np.float32).reshape(-1, 3)
            xyz29 = np.zeros((NUM_JOINTS_29, 3), np.float32)
            xyz29[:len(smpl_joints)] = smpl_joints
            vis29 = np.zeros_like(xyz29)
            vis29[:len(smpl_joints)] = 1.0
            record = PersonRecord(
                image=images / image["file_name"], image_size=(width, height), bbox=bbox,
                source=SOURCE, enlarge=ENLARGE, xyz29=xyz29, xyz29_vis=vis29, uvd29_vis=vis29.copy(),
                xyz17=np.asarray(ann["h36m_joints"], np.float32).reshape(NUM_H36M, 3),
                xyz17_vis=np.ones((NUM_H36M, 3), np.float32),
                theta=np.asarray(ann["thetas"], np.float32).reshape(24, 3),
                beta=np.asarray(ann["betas"], np.float32).reshape(10), has_smpl=True,
                root_cam=np.asarray(ann["root_coord"], np.float32).reshape(3),
                focal=focal, principal=principal, extra_from_smpl=True,
            )
            record.uvd29 = project(xyz29, record.intrinsics(), float(xyz29[0, 2]))
            records.append(record)
    return records
