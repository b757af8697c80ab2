"""MPI-INF-3DHP in HybrIK's json format (`annotation_mpi_inf_3dhp_train_v2.json`, docs/training.md, Data).

`images[i]` (file_name, width, height, cam_param {intrinsic_param 3×3}) pairs with
`annotations[i]` (bbox xywh, keypoints_cam 28×3 mm). The 28 marker joints (pelvis at index 4)
fill the SMPL joint slots whose anatomy matches; the spine, clavicle, head, hand and foot
markers sit elsewhere than SMPL's joints and stay unsupervised. No SMPL fits. Images live under
`<images>/<file_name>` (e.g. data/3dhp/mpi_inf_3dhp_train_set).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import parsing, read_json, require_dir
from .record import NUM_JOINTS_29, PersonRecord, box_is_usable, project, xywh_to_xyxy

SOURCE = "hp3d"
NUM_HP3D = 28
HP3D_PELVIS = 4
# SMPL joint slot ← 3DHP joint.
SMPL_FROM_HP3D: dict[int, int] = {0: 4, 1: 18, 2: 23, 4: 19, 5: 24, 7: 20, 8: 25, 12: 5,
                                  16: 9, 17: 14, 18: 10, 19: 15, 20: 11, 21: 16}


def load_records(annotations: Path, images: Path, train: bool = True) -> list[PersonRecord]:
    data = read_json(annotations, SOURCE)
    require_dir(images, SOURCE)
    slots, markers = list(SMPL_FROM_HP3D), list(SMPL_FROM_HP3D.values())
    records = []
    with parsing(annotations, SOURCE):
        for image, ann in zip(data["images"], data["annotations"], strict=True):
            width, height = int(image["width"]), int(image["height"])
            bbox = xywh_to_xyxy(ann["bbox"], width, height)
            if not box_is_usable(bbox):
                continue
            K = np.asarray(image["cam_param"]["intrinsic_param"], np.float32).reshape(3, 3)
            joints = np.asarray(ann["keypoints_cam"], np.float32).reshape(NUM_HP3D, 3)
            xyz29 = np.zeros((NUM_JOINTS_29, 3), np.float32)
            xyz29[slots] = joints[markers]
            vis29 = np.zeros_like(xyz29)
            vis29[slots] = 1.0
            records.append(PersonRecord(
                image=images / image["file_name"], image_size=(width, height), bbox=bbox,
                source=SOURCE, uvd29=project(xyz29, K, float(joints[HP3D_PELVIS, 2])) * vis29,
                uvd29_vis=vis29, xyz29=xyz29, xyz29_vis=vis29.copy(),
                root_cam=joints[HP3D_PELVIS].copy(), focal=K[[0, 1], [0, 1]].copy(),
                principal=K[:2, 2].copy(),
            ))
    return records
