"""Phenotype fitting recovers a known body from the bone lengths of synthetic BlazePose landmarks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.body.shape_fit import _LANDMARK, PhenotypeFit
from propose_backend.skeleton import SMPL_JOINT_NAMES


def synthetic_landmarks(phenotype: np.ndarray, frames: int, rng: np.random.Generator):
    """BlazePose-like world landmarks of Anny with `phenotype`, turned at random, 1 cm noise, 10 % junk."""
    joints = anny_body().anny_joints(torch.as_tensor(phenotype)[None])[0].numpy()
    world = np.zeros((frames, 33, 3))
    visibility = np.full((frames, 33), 0.95)
    for name, landmark in _LANDMARK.items():
        world[:, landmark] = joints[SMPL_JOINT_NAMES.index(name)]
    world = world @ Rotation.random(frames, random_state=1).as_matrix().transpose(0, 2, 1)
    world += rng.normal(scale=0.01, size=world.shape)
    junk = rng.random(frames) < 0.1
    world[junk] *= rng.uniform(0.5, 1.5, size=(int(junk.sum()), 1, 1))  # badly scaled frames
    visibility[rng.random((frames, 33)) < 0.1] = 0.2  # occluded landmarks
    return world, visibility


@pytest.mark.parametrize("height, proportions, gender", [(0.85, 0.3, 0.2), (0.2, 0.7, 0.8), (0.5, 0.5, 0.5)])
def test_fit_recovers_height_within_2cm(height, proportions, gender):
    rng = np.random.default_rng(0)
    truth = DEFAULT_PHENOTYPE.copy()
    truth[[0, 4, 5]] = gender, height, proportions
    fit = PhenotypeFit(anny_body())
    for _ in range(4):  # a clip arrives in batches
        world, visibility = synthetic_landmarks(truth, 50, rng)
        fit.observe(world, visibility, np.ones(50, bool))
    fitted = fit.phenotype()
    true_height, fitted_height = anny_body().height(np.stack([truth, fitted]))
    assert abs(fitted_height - true_height) < 0.02, (true_height, fitted_height, fitted)


def test_too_little_seen_keeps_the_average_adult():
    fit = PhenotypeFit(anny_body())
    world, visibility = synthetic_landmarks(DEFAULT_PHENOTYPE, 3, np.random.default_rng(1))
    fit.observe(world, visibility, np.ones(3, bool))
    np.testing.assert_array_equal(fit.phenotype(), DEFAULT_PHENOTYPE)
