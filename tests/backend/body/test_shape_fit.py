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


def test_trailing_lengths_read_only_the_latest_frames_so_pieces_measure_alike():
    """A clip estimated in pieces (each with a warm-up) must read the same lengths on a kept frame
    as the clip estimated in one go: the trailing median sees only the window before the frame."""
    from propose_backend.batch.plan import WARMUP
    from propose_backend.instant.foreshortening import LENGTH_WINDOW
    assert LENGTH_WINDOW <= WARMUP
    rng = np.random.default_rng(2)
    tall, short = DEFAULT_PHENOTYPE.copy(), DEFAULT_PHENOTYPE.copy()
    tall[4], short[4] = 0.9, 0.1
    early, early_vis = synthetic_landmarks(tall, 40, rng)  # frames 0-39: a taller body's bones
    late, late_vis = synthetic_landmarks(short, 40, rng)  # frames 40-79: a shorter one's
    whole = PhenotypeFit(anny_body())
    whole.observe(early, early_vis, np.ones(40, bool), np.arange(40))
    whole.observe(late, late_vis, np.ones(40, bool), np.arange(40, 80))
    piece = PhenotypeFit(anny_body())  # a piece kept from frame 60, its warm-up from 60 - WARMUP
    first = 60 - WARMUP
    piece.observe(late[first - 40:], late_vis[first - 40:], np.ones(80 - first, bool), np.arange(first, 80))
    kept = np.arange(60, 80)
    a, b = whole.trailing(kept, LENGTH_WINDOW), piece.trailing(kept, LENGTH_WINDOW)
    for bone in ("thigh", "shin"):
        np.testing.assert_array_equal(a[bone], b[bone])
        assert np.isfinite(a[bone]).all()
    # Right after the change the window still holds the taller body's frames; a window later, none.
    near = whole.trailing(np.array([41, 79]), LENGTH_WINDOW)["thigh"]
    assert near[0] > near[1] + 0.01, near
    assert abs(near[1] - whole.measured()["thigh"]) > 0.005  # the whole clip's median mixes both bodies
