"""The synthetic mini-dataset: 3DPW-format files, renderings and a regressor that fit together."""
from __future__ import annotations

import json

import cv2
import numpy as np

from propose_backend.body import demo_body
from propose_backend.render import project
from propose_backend.train.datasets import pw3d
from propose_backend.train.synthetic import synthetic_h36m_regressor


def test_files_and_counts(synthetic_set) -> None:
    train = json.loads(synthetic_set.train_annotations.read_text())
    assert len(train["images"]) == len(train["annotations"]) == 64
    records = pw3d.load_records(synthetic_set.test_annotations, synthetic_set.images)
    assert len(records) == 8
    image = cv2.imread(str(records[0].image))
    assert image.shape == (128, 128, 3)
    regressor = np.load(synthetic_set.regressor)
    assert regressor.shape == (17, 6890)
    np.testing.assert_allclose(regressor.sum(axis=1), 1.0, atol=1e-5)  # convex combinations of vertices


def test_labels_agree_with_each_other(synthetic_set) -> None:
    data = json.loads(synthetic_set.test_annotations.read_text())
    image, ann = data["images"][0], data["annotations"][0]
    joints = np.asarray(ann["smpl_joint_cam"])
    focal, center = image["cam_param"]["focal"][0], image["cam_param"]["princpt"]
    np.testing.assert_allclose(np.asarray(ann["smpl_joint_img"])[:, :2], project(joints, focal, center), atol=1e-4)
    x, y, w, h = ann["bbox"]
    uv = project(joints, focal, center)
    assert (uv[:, 0] >= x - 1).all() and (uv[:, 0] <= x + w + 1).all()  # joints lie inside the body's box
    assert (uv[:, 1] >= y - 1).all() and (uv[:, 1] <= y + h + 1).all()
    assert synthetic_h36m_regressor(demo_body()).shape == (17, 6890)
