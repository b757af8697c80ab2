"""The procedural demo body: SMPL's format, a closed human-like surface, landmarks in place."""
from __future__ import annotations

from collections import Counter

import numpy as np

from propose_backend.body import demo_body
from propose_backend.body.demo import demo_body as cached_builder
from propose_backend.skeleton import EXTRA_VERTEX_IDS, SMPL_PARENTS


def test_smpl_format() -> None:
    b = demo_body()
    assert b.v_template.shape == (6890, 3) and b.faces.shape == (13776, 3)
    assert b.shapedirs.shape == (6890, 3, 10) and b.posedirs.shape == (6890, 3, 207)
    assert b.J_regressor.shape == (24, 6890) and b.weights.shape == (6890, 24)
    assert tuple(b.parents) == SMPL_PARENTS
    np.testing.assert_allclose(b.weights.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(b.J_regressor.sum(axis=1), 1, atol=1e-5)
    assert (b.weights >= 0).all() and (b.J_regressor >= 0).all()


def test_closed_consistently_oriented_surface() -> None:
    b = demo_body()
    edges = Counter()
    for tri in b.faces:
        for k in range(3):
            edges[(tri[k], tri[(k + 1) % 3])] += 1
    # every directed edge once and its reverse once: closed, manifold, consistently oriented
    assert all(n == 1 and edges[(e[1], e[0])] == 1 for e, n in edges.items())
    v = b.v_template.astype(np.float64)
    a, c, d = v[b.faces[:, 0]], v[b.faces[:, 1]], v[b.faces[:, 2]]
    volume = np.einsum("ij,ij->i", a, np.cross(c, d)).sum() / 6
    assert 0.04 < volume < 0.1  # an adult body is roughly 0.06-0.08 m^3; positive = outward normals


def test_human_proportions_and_landmarks() -> None:
    b = demo_body()
    v = b.v_template
    joints = b.J_regressor @ v
    height = v[:, 1].max() - v[:, 1].min()
    assert 1.6 < height < 1.85
    head, l_ankle, r_ankle = joints[15], joints[7], joints[8]
    nose, r_eye, l_eye, r_ear, l_ear, l_big, l_small, l_heel, r_big, r_small, r_heel = v[list(EXTRA_VERTEX_IDS)]
    assert nose[2] > head[2] + 0.07  # on the front of the face
    assert r_eye[0] < 0 < l_eye[0] and min(r_eye[2], l_eye[2]) > head[2] + 0.05
    assert r_ear[0] < head[0] - 0.06 and l_ear[0] > head[0] + 0.06  # +x is the body's left, as in SMPL
    for big, small, heel, ankle in ((l_big, l_small, l_heel, l_ankle), (r_big, r_small, r_heel, r_ankle)):
        assert big[2] > ankle[2] + 0.1 and small[2] > ankle[2] + 0.1  # toes in front
        assert heel[2] < ankle[2] and heel[1] < ankle[1]  # heel behind and below the ankle
        assert abs(big[0]) < abs(small[0])  # big toe on the inside
    # the kinematic tree goes the right way: knees below hips, elbows outside shoulders
    assert joints[4, 1] < joints[1, 1] and joints[18, 0] > joints[16, 0] > 0 > joints[17, 0] > joints[19, 0]


def test_shape_blend_shapes_change_proportions() -> None:
    b = demo_body()
    v0 = b.v_template

    def shaped(k: int, value: float) -> np.ndarray:
        return v0 + b.shapedirs[:, :, k] * value

    height = lambda v: v[:, 1].max() - v[:, 1].min()  # noqa: E731
    assert height(shaped(0, 2)) - height(v0) > 0.08  # beta 0: taller
    girth = lambda v: np.abs(v[:, 2]).mean()  # noqa: E731
    assert girth(shaped(1, 2)) > girth(v0) * 1.1  # beta 1: heavier
    assert np.abs(b.shapedirs).reshape(-1, 10).max(axis=0).min() > 0.005  # every beta does something


def test_deterministic() -> None:
    again = cached_builder.__wrapped__()
    np.testing.assert_array_equal(again.v_template, demo_body().v_template)
    np.testing.assert_array_equal(again.faces, demo_body().faces)
