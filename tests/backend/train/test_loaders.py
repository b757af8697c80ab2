"""The six annotation loaders on small hand-written files in each source's format."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from propose_backend.body import demo_body
from propose_backend.train.config import parse_config
from propose_backend.train.datasets import FORMATS, DatasetError, SourceDataset, build_training_set, load_source
from propose_backend.train.datasets import agora, coco_wholebody, eft, h36m, hp3d, pw3d
from propose_backend.train.datasets.sample import CUBE_MM, axis_angle_to_matrix
from propose_backend.train.skinning import SupervisedPoints

W, H = 64, 48


@pytest.fixture(scope="module")
def skinner() -> SupervisedPoints:
    return SupervisedPoints(demo_body())


def write_image(path: Path, width: int = W, height: int = H) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 127, np.uint8))


def smpl_joints_mm() -> np.ndarray:
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 200, size=(24, 3))
    joints[:, 2] += 5000.0
    return joints


def test_h36m(tmp_path: Path, skinner: SupervisedPoints) -> None:
    joints = smpl_joints_mm()
    theta = np.zeros(72)
    theta[0] = np.pi
    image = {"file_name": "s_01_act_02_subact_01_ca_01/s_01_act_02_subact_01_ca_01_000001.jpg",
             "width": W, "height": H, "cam_param": {"f": [1100.0, 1120.0], "c": [30.0, 25.0]}}
    blocked = {**image, "file_name": "s_09_act_05_subact_02_ca_01/x.jpg"}
    ann = {"bbox": [10, 5, 30, 40], "h36m_joints": (joints[:17] + 1).ravel().tolist(),
           "smpl_joints": joints.ravel().tolist(), "root_coord": joints[0].tolist(),
           "thetas": theta.tolist(), "betas": [0.1] * 10}
    path = tmp_path / "h36m.json"
    path.write_text(json.dumps({"images": [image, blocked], "annotations": [ann, ann]}))
    write_image(tmp_path / "images" / image["file_name"])

    records = h36m.load_records(path, tmp_path / "images")
    assert len(records) == 1  # the corrupted S9 sequence is skipped
    record = records[0]
    assert record.enlarge == 1.1 and record.has_smpl and record.extra_from_smpl
    np.testing.assert_allclose(record.bbox, [10, 5, 39, 44])
    np.testing.assert_allclose(record.uvd29[3, 0], joints[3, 0] / joints[3, 2] * 1100.0 + 30.0, rtol=1e-5)
    np.testing.assert_allclose(record.uvd29[3, 2], joints[3, 2] - joints[0, 2], rtol=1e-5)
    assert record.uvd29_vis[:24].all() and not record.uvd29_vis[24:].any()

    _, targets, image_path, _ = SourceDataset("h36m", records, 32, skinner=skinner)[0]
    assert image_path.endswith("000001.jpg")
    assert targets["target_weight_11_xyz"].eq(1).all()  # extra points posed from the SMPL fit
    with torch.no_grad():
        posed = skinner(torch.full((1, 10), 0.1), torch.from_numpy(axis_angle_to_matrix(theta.reshape(24, 3)))[None])
    np.testing.assert_allclose(targets["target_xyz_11"].view(11, 3).numpy(),
                               posed[0, 24:].numpy() * 1000 / CUBE_MM, atol=1e-5)


def test_3dpw(tmp_path: Path) -> None:
    joints_m = smpl_joints_mm() / 1000.0
    pixels = np.concatenate([np.random.default_rng(1).uniform(0, 40, (24, 2)), joints_m[:, 2:]], axis=1)
    data = {
        "images": [{"id": 7, "file_name": "image_00000.jpg", "sequence": "downtown_walking_00", "width": W,
                    "height": H, "cam_param": {"focal": [1961.0, 1969.0], "princpt": [540.0, 960.0]}}],
        "annotations": [{"image_id": 7, "bbox": [1, 2, 40, 40], "h36m_joints": joints_m[:17].ravel().tolist(),
                         "smpl_joint_cam": joints_m.ravel().tolist(), "smpl_joint_img": pixels.ravel().tolist(),
                         "smpl_param": {"pose": [0.0] * 72, "shape": [0.0] * 10}, "gender": "female"}],
    }
    path = tmp_path / "3DPW_test.json"
    path.write_text(json.dumps(data))
    write_image(tmp_path / "imageFiles" / "downtown_walking_00" / "image_00000.jpg")
    (record,) = pw3d.load_records(path, tmp_path / "imageFiles")
    assert record.image == tmp_path / "imageFiles" / "downtown_walking_00" / "image_00000.jpg"
    np.testing.assert_allclose(record.xyz29[:24], joints_m * 1000.0, rtol=1e-6)
    np.testing.assert_allclose(record.uvd29[:24, 2], (pixels[:, 2] - pixels[0, 2]) * 1000.0, rtol=1e-5, atol=1e-3)
    assert record.uvd29_vis[:24].all() and not record.uvd29_vis[24:].any()  # leaves not annotated
    np.testing.assert_allclose(record.root_cam, joints_m[0] * 1000.0, rtol=1e-6)
    assert record.gender == "female" and record.focal.tolist() == [1961.0, 1969.0]


def test_coco_wholebody(tmp_path: Path) -> None:
    keypoints = np.zeros((17, 3))
    keypoints[:, 0], keypoints[:, 1], keypoints[:, 2] = np.arange(17) + 1, np.arange(17) + 20, 2
    keypoints[3, 2] = 0  # left ear not labelled
    feet = np.stack([np.arange(6) + 40, np.arange(6) + 30, np.full(6, 1)], axis=1)
    data = {
        "images": [{"id": 1, "file_name": "000000000001.jpg", "width": W, "height": H}],
        "annotations": [
            {"image_id": 1, "category_id": 1, "iscrowd": 0, "area": 100.0, "bbox": [0, 0, 50, 40],
             "num_keypoints": 16, "keypoints": keypoints.ravel().tolist(), "foot_kpts": feet.ravel().tolist()},
            {"image_id": 1, "category_id": 1, "iscrowd": 1, "area": 100.0, "bbox": [0, 0, 50, 40],
             "keypoints": keypoints.ravel().tolist()},
            {"image_id": 1, "category_id": 1, "iscrowd": 0, "area": 100.0, "bbox": [0, 0, 50, 40],
             "keypoints": [0.0] * 51},
        ],
    }
    path = tmp_path / "coco_wholebody_train_v1.0.json"
    path.write_text(json.dumps(data))
    write_image(tmp_path / "train2017" / "000000000001.jpg")
    (record,) = coco_wholebody.load_records(path, tmp_path / "train2017")  # crowd and empty skipped
    for slot, kp in coco_wholebody.SMPL_FROM_COCO.items():
        np.testing.assert_allclose(record.uvd29[slot, :2], keypoints[kp, :2])
    assert record.uvd29_vis[16].tolist() == [1, 1, 0]  # 2D only, never depth
    assert not record.uvd29_vis[[0, 3, 6, 9, 12, 15]].any()  # no COCO counterpart
    np.testing.assert_allclose(record.uvd11[:5, :2], keypoints[[0, 2, 1, 4, 3], :2])
    assert record.uvd11_vis[3, 0] == 1 and record.uvd11_vis[4, 0] == 0  # left ear (COCO 3) unlabelled
    np.testing.assert_allclose(record.uvd11[5:, :2], feet[:, :2])
    assert not record.has_smpl and not record.xyz29_vis.any()


def test_mpi_inf_3dhp(tmp_path: Path) -> None:
    joints = np.random.default_rng(2).normal(0, 300, size=(28, 3))
    joints[:, 2] += 4000.0
    K = [[1500.0, 0, 1000.0], [0, 1500.0, 1000.0], [0, 0, 1]]
    data = {"images": [{"file_name": "S1/Seq1/images/S1_Seq1_V0/img_S1_Seq1_V0_000001.jpg", "width": W,
                        "height": H, "cam_param": {"intrinsic_param": K}}],
            "annotations": [{"bbox": [3, 3, 40, 40], "keypoints_cam": joints.tolist()}]}
    path = tmp_path / "annotation_mpi_inf_3dhp_train_v2.json"
    path.write_text(json.dumps(data))
    write_image(tmp_path / "mpi_inf_3dhp_train_set" / data["images"][0]["file_name"])
    (record,) = hp3d.load_records(path, tmp_path / "mpi_inf_3dhp_train_set")
    np.testing.assert_allclose(record.xyz29[0], joints[4])  # pelvis is 3DHP joint 4
    np.testing.assert_allclose(record.root_cam, joints[4])
    np.testing.assert_allclose(record.xyz29[16], joints[9])  # left shoulder
    np.testing.assert_allclose(record.uvd29[16, 2], joints[9, 2] - joints[4, 2], rtol=1e-6)
    assert record.xyz29_vis[:, 0].sum() == len(hp3d.SMPL_FROM_HP3D) and not record.has_smpl


def eft_label(image: str) -> dict:
    coco = np.zeros((17, 3, 2), np.float32)
    coco[:, 0, 0], coco[:, 1, 0] = np.arange(17) + 5, np.arange(17) + 10
    coco[:, :2, 1] = 1.0
    return {"bbox": np.array([4.0, 6.0, 44.0, 46.0]), "joint_img_17": coco,
            "joints_29": np.ones((29, 3), np.float32) * 0.5, "joints_17": np.zeros((17, 3), np.float32),
            "root_cam": np.array([[0.1, 0.2, 4.0]]), "beta": np.zeros(10, np.float32),
            "theta": np.zeros((24, 3), np.float32), "f": np.float32(1500.0), "img_path": image,
            "width": W, "height": H}


def test_eft_pickle(tmp_path: Path) -> None:
    path = tmp_path / "NEW_COCO2014-All-ver01.pkl"
    path.write_bytes(pickle.dumps((["train2014/a.jpg"], [eft_label("train2014/a.jpg")]), protocol=4))
    write_image(tmp_path / "train2014" / "a.jpg")
    (record,) = eft.load_records(path, tmp_path)
    np.testing.assert_allclose(record.principal, [24.0, 26.0])  # box centre
    np.testing.assert_allclose(record.root_cam, [100.0, 200.0, 4000.0])
    np.testing.assert_allclose(record.xyz29, 500.0)
    np.testing.assert_allclose(record.uvd11[:5, :2], [[5, 10], [7, 12], [6, 11], [9, 14], [8, 13]])
    assert record.has_smpl and record.focal.tolist() == [1500.0, 1500.0] and not record.xyz11_vis.any()


class Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_eft_pickle_with_code_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(([], [{"bbox": Exploit()}])))
    with pytest.raises(DatasetError, match="refusing"):
        eft.load_records(path, tmp_path)
    assert "never run" not in capsys.readouterr().out


def agora_db(kid: float = 0.0) -> dict:
    rng = np.random.default_rng(3)
    uv = rng.uniform(200, 400, size=(24, 2))
    return {
        "img_path": ["ag_trainset_renderpeople_bfh_archviz_5_10_cam02_00001.png"] * 3,
        "ann_path": ["archviz_5_10_cam02_00001.pkl"] * 3, "is_valid": [True, True, False],
        "occlusion": [10.0, 80.0, 0.0], "shape_kid": [np.array(kid)] * 3,
        "shape": [np.zeros(10)] * 3, "pose": [np.zeros(72)] * 3, "xyz_17": [np.zeros((17, 3))] * 3,
        "gt_joints_3d": [np.tile([0.0, 0.0, 10.0], (45, 1))] * 3, "xyz_29": [np.zeros((29, 3))] * 3,
        "uv_24": [uv] * 3,
    }


def test_agora_pt(tmp_path: Path) -> None:
    path = tmp_path / "train_all_SMPL_withjv_withkid.pt"
    torch.save(agora_db(), path)
    (tmp_path / "images").mkdir()
    records = agora.load_records(path, tmp_path / "images")
    assert len(records) == 1  # too occluded and invalid people are dropped from training
    record = records[0]
    name = "ag_trainset_renderpeople_bfh_archviz_5_10_cam02_00001.png"
    assert record.image == tmp_path / "images" / "archviz_5" / name  # scene folder from the annotation name
    np.testing.assert_allclose(record.focal, [18 / 36 * 1280, 18 / 20.25 * 720], rtol=1e-6)  # cam02: 18 mm
    uv = agora_db()["uv_24"][0]
    side = (uv.max(0) - uv.min(0)).max() * 1.25
    np.testing.assert_allclose(record.bbox[2] - record.bbox[0], side, rtol=1e-5)
    np.testing.assert_allclose(record.root_cam, [0, 0, 10000.0])
    assert agora.focal_length_mm("x_hdri_y") == 50 and agora.focal_length_mm("x_cam05") == 28

    torch.save(agora_db(kid=0.5), path)
    with pytest.raises(DatasetError, match="no usable person"):
        SourceDataset("agora", agora.load_records(path, tmp_path / "images"), 64)


def test_agora_joblib_style_pickle_gets_conversion_advice(tmp_path: Path) -> None:
    path = tmp_path / "train_all_SMPL_withjv_withkid.pt"
    path.write_bytes(pickle.dumps({"x": Exploit()}))
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="joblib"):
        agora.load_records(path, tmp_path / "images")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_missing_annotation_file_is_named(tmp_path: Path, fmt: str) -> None:
    missing = tmp_path / "nowhere" / "annotations.json"
    with pytest.raises(DatasetError, match="annotation file not found") as info:
        FORMATS[fmt](missing, tmp_path, True)
    assert str(missing) in str(info.value)


def test_missing_image_root_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(DatasetError, match="image root not found") as info:
        pw3d.load_records(path, tmp_path / "no_images")
    assert str(tmp_path / "no_images") in str(info.value)


def test_missing_field_and_missing_image_are_explained(tmp_path: Path, synthetic_set) -> None:
    data = json.loads(synthetic_set.test_annotations.read_text())
    del data["annotations"][0]["smpl_param"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="smpl_param"):
        pw3d.load_records(broken, synthetic_set.images)

    records = pw3d.load_records(synthetic_set.test_annotations, synthetic_set.images)
    records[0].image = tmp_path / "gone.jpg"
    dataset = SourceDataset("3dpw", records, 64, skinner=SupervisedPoints(demo_body()))
    with pytest.raises(DatasetError, match="gone.jpg"):
        dataset[0]


def test_mixing_by_ratios(synthetic_set) -> None:
    config = parse_config({"data": {"root": str(synthetic_set.root), "sources": {
        "a": {"format": "3dpw", "ratio": 3.0, "annotations": "json/synthetic_train.json", "images": "imageFiles"},
        "b": {"format": "3dpw", "ratio": 1.0, "annotations": "json/synthetic_test.json", "images": "imageFiles"},
        "off": {"format": "h36m", "ratio": 0.0, "annotations": "missing.json", "images": "nowhere"},
    }}})
    mixed = build_training_set(config.data, 64, SupervisedPoints(demo_body()), seed=1)
    assert len(mixed) == 64 and [s.name for s in mixed.sources] == ["a", "b"]  # ratio 0 is never loaded
    picks = [mixed.locate((0, i))[0] for i in range(64)] + [mixed.locate((1, i))[0] for i in range(64)]
    assert 0.6 < picks.count(0) / len(picks) < 0.9
    assert mixed.locate((2, 5))[:2] == mixed.locate((2, 5))[:2]


def test_load_source_resolves_paths_against_the_data_root(synthetic_set) -> None:
    config = parse_config({"data": {"root": str(synthetic_set.root), "sources": {
        "synthetic": {"format": "3dpw", "ratio": 1.0, "annotations": "json/synthetic_test.json",
                      "images": "imageFiles"}}}})
    source = load_source(config.data.sources[0], config.data.root, 64, None, SupervisedPoints(demo_body()))
    image, targets, _, box = source[0]
    assert image.shape == (3, 64, 64) and box.shape == (4,) and len(source) == 8


def test_an_unknown_format_is_named_before_any_source_is_read(tmp_path: Path, skinner: SupervisedPoints) -> None:
    config = parse_config({"data": {"root": str(tmp_path), "sources": {
        "h36m": {"ratio": 1.0, "annotations": "missing.json", "images": "none"},
        "x": {"ratio": 0.0, "annotations": "a", "images": "b"}}}})
    with pytest.raises(DatasetError, match="data.sources.x.format: unknown format 'x'; choose one of h36m"):
        build_training_set(config.data, 64, skinner, seed=0)
    with pytest.raises(DatasetError, match="unknown format 'x'"):
        load_source(config.data.sources[1], tmp_path, 64, None, skinner)
