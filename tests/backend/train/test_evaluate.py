"""`evaluate` end to end on the synthetic test split, and the flip-test heatmap mirror."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from propose_backend.body import demo_body
from propose_backend.model import ProPoseNet, soft_argmax
from propose_backend.train.cli import main
from propose_backend.train.config import BACKBONES
from propose_backend.train.evaluate import evaluate
from propose_backend.train.export import export_released
from propose_backend.train.flip_test import heatmap_flip_permutation, mirror_heatmaps
from propose_backend.train.regressor import RegressorError


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return export_released(ProPoseNet(BACKBONES["hrnet_tiny"]), demo_body(),
                           tmp_path_factory.mktemp("ckpt") / "tiny.pth")


def test_3dpw_protocol_with_and_without_flip(synthetic_set, tiny_checkpoint: Path, tmp_path: Path) -> None:
    common = dict(dataset="3dpw", checkpoint=tiny_checkpoint, annotations=synthetic_set.test_annotations,
                  images=synthetic_set.images, config=Path("smoke"), regressor=synthetic_set.regressor,
                  batch_size=4, workers=0)
    plain = evaluate(**common, json_path=tmp_path / "3dpw.json")
    assert plain.samples == 8
    for value in (plain.mpjpe_mm, plain.pa_mpjpe_mm, plain.pve_mm):
        assert np.isfinite(value) and value > 0
    assert plain.pa_mpjpe_mm <= plain.mpjpe_mm  # alignment can only help
    saved = json.loads((tmp_path / "3dpw.json").read_text())
    assert saved["mpjpe_mm"] == pytest.approx(plain.mpjpe_mm) and saved["flip_test"] is False
    table = plain.table()
    assert "MPJPE" in table and "PA-MPJPE" in table and "PVE" in table

    flipped = evaluate(**common, flip_test=True, limit=4)
    assert flipped.samples == 4 and flipped.flip_test and np.isfinite(flipped.mpjpe_mm)


def test_h36m_protocol_via_the_cli(synthetic_set, tiny_checkpoint: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    """The synthetic test split rewritten in the Human3.6M format; no PVE on Human3.6M."""
    data = json.loads(synthetic_set.test_annotations.read_text())
    images, annotations = [], []
    for image, ann in zip(data["images"], data["annotations"], strict=True):
        images.append({"file_name": f"{image['sequence']}/{image['file_name']}", "width": image["width"],
                       "height": image["height"],
                       "cam_param": {"f": image["cam_param"]["focal"], "c": image["cam_param"]["princpt"]}})
        joints = np.asarray(ann["smpl_joint_cam"]) * 1000
        annotations.append({"bbox": ann["bbox"], "h36m_joints": (np.asarray(ann["h36m_joints"]) * 1000).tolist(),
                            "smpl_joints": joints.tolist(), "root_coord": joints[0].tolist(),
                            "thetas": ann["smpl_param"]["pose"], "betas": ann["smpl_param"]["shape"]})
    path = tmp_path / "Sample_20_test_Human36M_smpl_protocol_2.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    out = tmp_path / "h36m.json"
    assert main(["evaluate", "--dataset", "h36m", "--checkpoint", str(tiny_checkpoint), "--config", "smoke",
                 "--annotations", str(path), "--images", str(synthetic_set.images), "--regressor",
                 str(synthetic_set.regressor), "--workers", "0", "--json", str(out)]) == 0
    assert "PA-MPJPE" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["samples"] == 8 and result["pve_mm"] is None and result["mpjpe_mm"] > 0


def test_missing_regressor_says_where_to_put_it(synthetic_set, tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(RegressorError, match="J_regressor_h36m.npy.*model_files"):
        evaluate(dataset="3dpw", checkpoint=tiny_checkpoint, annotations=synthetic_set.test_annotations,
                 images=synthetic_set.images, config=Path("smoke"), regressor=tmp_path / "J_regressor_h36m.npy")


def test_mirrored_heatmaps_decode_to_mirrored_coordinates() -> None:
    joints, depth, size = 34, 8, 16
    probs = torch.zeros(1, joints, depth, size, size)
    probs[0, 0, 3, 5, 4] = 1.0  # point 1 (left hip), x index 4
    probs[0, 2, 6, 2, 9] = 1.0  # point 3 (spine1) has no partner
    for j in range(joints):
        if probs[0, j].sum() == 0:
            probs[0, j, 0, 0, 8] = 1.0  # x index 8 = the centre, mirrors onto itself
    coords = soft_argmax(probs)
    mirrored = soft_argmax(mirror_heatmaps(probs))
    torch.testing.assert_close(mirrored[0, 1], coords[0, 0] * torch.tensor([-1.0, 1.0, 1.0]))  # → right hip
    torch.testing.assert_close(mirrored[0, 2], coords[0, 2] * torch.tensor([-1.0, 1.0, 1.0]))
    order = heatmap_flip_permutation()
    assert [order[i] for i in order] == list(range(joints)) and order[0] == 1 and order[28] == 31
