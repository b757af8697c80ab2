"""Fitting the hand read correction (train/hand_correction.py) on reads with a known bias."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from propose_backend.anatomy import _compose
from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.geometry import axis_angle_to_matrix
from propose_backend.hands.correction import ReadCorrection
from propose_backend.hands.fingers import HandAnatomy, hand_landmarks
from propose_backend.train.hand_correction import bone_kappa, fit_ridge
from propose_backend.train.hand_reads import render_reads


def _reads(anatomy: HandAnatomy, count: int, seed: int) -> dict[str, np.ndarray]:
    """Random hands whose 'read' landmarks under-curl every joint to 60 % of its true flexion (plus
    noise), the kind of bias the hand landmarker shows on renders."""
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, count)
    comp = np.zeros((count, 15, 3))
    world = np.zeros((count, 21, 3))
    for s in (0, 1):
        sel = side == s
        lo, hi = anatomy.low[s].numpy(), anatomy.high[s].numpy()
        comp[sel] = lo + rng.uniform(0.0, 1.0, (sel.sum(), 15, 3)) * (hi - lo)
        comp[sel, :, 2] = 0.5 * (lo + hi)[:, 2]
        read = comp[sel].copy()
        read[:, :, 0] = 0.6 * read[:, :, 0] + rng.normal(scale=0.05, size=read[:, :, 0].shape)
        wrist = torch.as_tensor(axis_angle_to_matrix(rng.normal(scale=0.7, size=(sel.sum(), 3))))
        world[sel] = hand_landmarks(anatomy, s, _compose(torch.as_tensor(read), anatomy.frames[s]), wrist).numpy()
    return {"world": world, "comp": comp, "side": side}


def test_a_systematic_under_curl_is_learned_and_its_spread_measured() -> None:
    anatomy = HandAnatomy.from_rest(anny_body().hand_rest(DEFAULT_PHENOTYPE)[0])
    train, held_out = _reads(anatomy, 400, 1), _reads(anatomy, 100, 2)
    mean, scale, weights = fit_ridge(train)
    correction = ReadCorrection(mean, scale, weights, np.ones(15), 1.0, 1e9, 1.0)
    for s in (0, 1):
        sel = held_out["side"] == s
        got = correction.components(held_out["world"][sel], s)[..., 0]
        truth = held_out["comp"][sel, :, 0]
        naive = 0.6 * truth  # the read's own flexion
        assert np.abs(got - truth).mean() < 0.6 * np.abs(naive - truth).mean()  # about half the bias goes
    kappa = bone_kappa(correction, anatomy, held_out)
    assert kappa.shape == (15,) and np.all(kappa > 2.0 / np.radians(30.0) ** 2)  # spreads well under 30°


def test_training_reads_never_use_the_benchmarks_seed() -> None:
    with pytest.raises(ValueError, match="benchmark"):
        render_reads(0, 1)
