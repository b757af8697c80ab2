"""SMPL-H / SMPL-X body files: read safely, checked against smplx's own layers, with clear errors.

The files are the demo body re-rigged in each layout (body/demo_hands.py), since the real ones
are licence-gated; smplx itself must load them, so they are valid models of that layout.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import smplx
import torch
from smplx.lbs import lbs

from propose_backend.body import BodyModelError, demo_body, load_body_model, save_npz
from propose_backend.body.demo_hands import demo_hands_arrays
from propose_backend.body.layer import BodyLayer
from propose_backend.body.smplh import FIRST_FINGER, rig_posedirs
from propose_backend.inference.model_files import find_model_files
from propose_backend.request import MODEL_FILES_ENV
from propose_backend.skeleton import FINGER_BONE_LANDMARKS, RIG_PARENTS

from tests.backend.body.test_files import _official_style_pickle_arrays


def _write(kind: str, folder: Path, suffix: str = ".npz", gender: str = "NEUTRAL") -> Path:
    arrays = demo_hands_arrays(kind)
    path = folder / f"{kind.upper()}_{gender}{suffix}"
    if suffix == ".npz":
        np.savez(path, **arrays)
    else:
        path.write_bytes(pickle.dumps(arrays, protocol=2))
    return path


def _axis_angles(shape: tuple[int, ...], scale: float, seed: int) -> torch.Tensor:
    return torch.randn(*shape, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _matrices(axis_angles: torch.Tensor) -> torch.Tensor:
    return smplx.lbs.batch_rodrigues(axis_angles.reshape(-1, 3)).reshape(*axis_angles.shape[:-1], 3, 3)


def _reference(kind: str, path: Path):
    cls = smplx.SMPLH if kind == "smplh" else smplx.SMPLX
    return cls(model_path=str(path), ext=path.suffix[1:], use_pca=False, flat_hand_mean=True, dtype=torch.float64,
               batch_size=2)


@pytest.mark.parametrize("kind,suffix", [("smplh", ".pkl"), ("smplh", ".npz"), ("smplx", ".npz")])
def test_rig_skinning_matches_smplx(tmp_path: Path, kind: str, suffix: str) -> None:
    """The rig's 54 joints (SMPL's 24, hands resting, + 30 fingers) with the body's finger skinning
    pose the mesh exactly as smplx's SMPL-H / SMPL-X layer poses the file, fingers included."""
    path = _write(kind, tmp_path, suffix)
    body = load_body_model(path)
    assert body.kind == kind and body.rig_weights.shape == (body.num_vertices, 54)
    reference = _reference(kind, path)
    betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    aa_pose, aa_fingers = _axis_angles((2, 22), 0.3, seed=2), _axis_angles((2, 30), 0.5, seed=3)
    pose, fingers = _matrices(aa_pose), _matrices(aa_fingers)
    ref = reference(betas=betas, global_orient=aa_pose[:, 0], body_pose=aa_pose[:, 1:].flatten(1),
                    left_hand_pose=aa_fingers[:, :15].flatten(1), right_hand_pose=aa_fingers[:, 15:].flatten(1))
    layer = BodyLayer(body).double()
    rig_regressor = torch.cat([layer.J_regressor, layer.finger_regressor])
    rig_pose = torch.cat([pose, torch.eye(3, dtype=torch.float64).expand(2, 2, 3, 3), fingers], dim=1)
    posedirs = torch.from_numpy(rig_posedirs(kind, np.asarray(demo_hands_arrays(kind)["posedirs"], np.float64)))
    vertices, joints = lbs(betas, rig_pose, layer.v_template, layer.shapedirs, posedirs.reshape(-1, 53 * 9).T,
                           rig_regressor, torch.tensor(RIG_PARENTS), torch.from_numpy(body.rig_weights).double(),
                           pose2rot=False)
    torch.testing.assert_close(vertices, ref.vertices, atol=1e-5, rtol=0)
    first = FIRST_FINGER[kind]
    torch.testing.assert_close(joints[:, 24:], ref.joints[:, first:first + 30], atol=1e-5, rtol=0)
    # posing the fingers moved the hands' vertices (the fingers deform the mesh)
    rest_fingers = reference(betas=betas, global_orient=aa_pose[:, 0], body_pose=aa_pose[:, 1:].flatten(1))
    assert (ref.vertices - rest_fingers.vertices).norm(dim=-1).max() > 0.02


@pytest.mark.parametrize("kind", ["smplh", "smplx"])
def test_24_joint_view_matches_smplx_with_resting_fingers(tmp_path: Path, kind: str) -> None:
    """The network's / instant mode's 24-joint body is the file's body with the fingers at rest;
    SMPL's hand joints stand at the middle knuckles; the 11 surface points are that mesh's."""
    path = _write(kind, tmp_path)
    body = load_body_model(path)
    layer = BodyLayer(body).double()
    reference = _reference(kind, path)
    betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    aa = _axis_angles((2, 24), 0.3, seed=5)
    aa[:, 22:] = 0.0
    vertices, joints, points35 = layer(betas, _matrices(aa))
    ref = reference(betas=betas, global_orient=aa[:, 0], body_pose=aa[:, 1:22].flatten(1))
    root = ref.joints[:, :1]
    torch.testing.assert_close(vertices, ref.vertices - root, atol=1e-5, rtol=0)
    first = FIRST_FINGER[kind]
    knuckles = [first + 3, first + 18]  # left_middle1, right_middle1
    torch.testing.assert_close(joints, ref.joints[:, list(range(22)) + knuckles] - root, atol=1e-5, rtol=0)
    torch.testing.assert_close(points35[:, 24:], vertices[:, list(body.extra_vertex_ids)])


def test_rest_geometry_carries_the_files_hands(tmp_path: Path) -> None:
    layer = BodyLayer(load_body_model(_write("smplh", tmp_path))).double()
    geometry = layer.rest_geometry(np.zeros(10))
    assert geometry["hand_rest_joints"].shape == (30, 3) and geometry["rig_lbs_weights"].shape == (6890, 54)
    np.testing.assert_allclose(geometry["rig_lbs_weights"].sum(1), 1.0, atol=1e-5)
    hands = layer.hand_rest(np.zeros(10))
    assert hands.shape == (2, 21, 3)
    for h in range(2):  # each fingertip lies beyond its last joint, along the finger
        for a, b in FINGER_BONE_LANDMARKS[2::3]:
            bone, tip = hands[h, a] - hands[h, a - 1], hands[h, b] - hands[h, a]
            assert np.dot(bone, tip) > 0 and 0.005 < np.linalg.norm(tip) < 0.05
    # an SMPL body has no finger joints of its own
    assert BodyLayer(demo_body()).hand_rest(np.zeros(10)) is None


def test_official_style_smplh_pickle_loads_without_chumpy(tmp_path: Path) -> None:
    arrays = demo_hands_arrays("smplh")
    path = tmp_path / "SMPLH_MALE.pkl"
    _official_style_pickle_arrays(arrays, path)
    assert b"chumpy.ch" in path.read_bytes()
    body = load_body_model(path)
    assert body.kind == "smplh"
    np.testing.assert_allclose(body.finger_regressor, arrays["J_regressor"][22:], atol=1e-6)


def test_wrong_files_say_what_to_do(tmp_path: Path) -> None:
    # a plain 24-joint SMPL file named like SMPL-H
    smpl = save_npz(demo_body(), tmp_path / "SMPLH_NEUTRAL.npz")
    with pytest.raises(BodyModelError, match="named like an SMPL-H file but holds an SMPL body.*Rename"):
        load_body_model(smpl)
    # a MANO hand-only model
    mano = {"v_template": np.zeros((778, 3)), "f": np.zeros((1538, 3), np.uint32), "shapedirs": np.zeros((778, 3, 10)),
            "posedirs": np.zeros((778, 3, 135)), "J_regressor": np.zeros((16, 778)), "weights": np.zeros((778, 16)),
            "kintree_table": np.stack([np.r_[4294967295, [0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]],
                                       np.arange(16)])}
    np.savez(tmp_path / "MANO_RIGHT.npz", **mano)
    with pytest.raises(BodyModelError, match="MANO hand-only.*SMPL-H"):
        load_body_model(tmp_path / "MANO_RIGHT.npz")
    # an SMPL-H file whose skinning table is cut short
    arrays = demo_hands_arrays("smplh")
    arrays["weights"] = arrays["weights"][:, :24]
    np.savez(tmp_path / "cut.npz", **arrays)
    with pytest.raises(BodyModelError, match="weights.*SMPL-H file has"):
        load_body_model(tmp_path / "cut.npz")


def test_model_files_prefers_a_body_with_fingers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_FILES_ENV, str(tmp_path))
    save_npz(demo_body(), tmp_path / "SMPL_NEUTRAL.npz")
    assert find_model_files().body_model == tmp_path / "SMPL_NEUTRAL.npz"
    _write("smplh", tmp_path, ".pkl", gender="male")  # as the MANO site names them
    found = find_model_files()
    assert found.body_model == tmp_path / "SMPLH_male.pkl" and "male" in found.warnings[0]
    _write("smplx", tmp_path)
    found = find_model_files()
    assert found.body_model == tmp_path / "SMPLX_NEUTRAL.npz" and not found.warnings


def test_instant_mode_uses_the_files_hands(tmp_path: Path) -> None:
    """The keypoint estimator on an SMPL-H file: the finger posterior's rest hand and the results'
    rig fields are that body's (not the average hand placed on SMPL's wrists)."""
    from propose_backend.inference.model_files import ModelFiles
    from propose_backend.inference.protocol import EstimatorSettings
    from propose_backend.instant.landmark_estimator import KeypointEstimator

    path = _write("smplh", tmp_path)
    estimator = KeypointEstimator(EstimatorSettings(ModelFiles(None, path, tmp_path)))
    try:
        layer = BodyLayer(load_body_model(path)).double()
        np.testing.assert_allclose(estimator.fingers.anatomy.rest.numpy(), layer.hand_rest(np.zeros(10)), atol=1e-6)
        geometry = estimator.rest_geometry(np.zeros(10))
        np.testing.assert_allclose(geometry["hand_rest_joints"], layer.rest_geometry(np.zeros(10))["hand_rest_joints"])
        assert geometry["rig_lbs_weights"].shape == (6890, 54)
    finally:
        estimator.close()


def test_convert_body_keeps_an_smplh_files_hands(tmp_path: Path) -> None:
    """`convert-body` on an official-style SMPL-H pickle writes every array; the .npz reads back the same body."""
    from propose_backend.cli import main

    source = tmp_path / "SMPLH_FEMALE.pkl"
    _official_style_pickle_arrays(demo_hands_arrays("smplh"), source)
    assert main(["convert-body", str(source), str(tmp_path / "SMPLH_FEMALE.npz")]) == 0
    again, before = load_body_model(tmp_path / "SMPLH_FEMALE.npz"), load_body_model(source)
    assert again.kind == "smplh"
    for name in ("v_template", "J_regressor", "weights", "finger_regressor", "rig_weights"):
        np.testing.assert_allclose(getattr(again, name), getattr(before, name), atol=1e-6)
    with np.load(tmp_path / "SMPLH_FEMALE.npz") as npz:
        assert "hands_componentsl" in npz.files and npz["J_regressor"].shape == (52, 6890)
