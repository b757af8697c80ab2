"""The learned correction of the hand landmarker's reads (hands/correction.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.geometry import axis_angle_to_matrix
from propose_backend.hands.correction import MIRROR, WEIGHTS_FILE, ReadCorrection, read_features, shipped
from propose_backend.hands.fingers import HandAnatomy, hand_landmarks, hand_posterior, observed_curl_deg


@pytest.fixture(scope="module")
def anatomy() -> HandAnatomy:
    return HandAnatomy.from_rest(anny_body().hand_rest(DEFAULT_PHENOTYPE)[0])


def _posed(anatomy: HandAnatomy, side: int, fraction: float, count: int, seed: int = 0) -> np.ndarray:
    """(count, 21, 3) landmarks of hands at `fraction` of every flexion range, turned at random."""
    rng = np.random.default_rng(seed)
    comp = anatomy.low[side] + 0.5 * (anatomy.high[side] - anatomy.low[side])
    comp[:, 0] = anatomy.low[side][:, 0] + fraction * (anatomy.high[side][:, 0] - anatomy.low[side][:, 0])
    from propose_backend.anatomy import _compose

    local = _compose(comp, anatomy.frames[side]).expand(count, 15, 3, 3)
    wrist = torch.as_tensor(axis_angle_to_matrix(rng.normal(scale=0.6, size=(count, 3))))
    return hand_landmarks(anatomy, side, local, wrist).numpy()


def test_the_shipped_correction_is_small_and_loads() -> None:
    assert WEIGHTS_FILE.stat().st_size < 64_000
    correction = shipped()
    assert correction.weights.shape == (64, 45) and correction.kappa.shape == (15,)
    assert np.all(correction.kappa > 0) and correction.max_temperature >= 1.0


def test_a_missing_weights_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="train.hand_correction"):
        ReadCorrection.load(tmp_path / "none.npz")


def test_what_the_correction_sees_does_not_depend_on_the_hands_turn_in_the_picture_or_size(anatomy) -> None:
    world = _posed(anatomy, 1, 0.5, 4)
    turn = axis_angle_to_matrix(np.array([0.0, 0.0, 1.1]))  # about the line of sight
    assert np.allclose(read_features(world, 1), read_features(1.3 * world @ turn.T, 1), atol=1e-9)


def test_a_left_read_is_corrected_as_the_mirror_image_of_a_right_one(anatomy) -> None:
    right = _posed(anatomy, 1, 0.6, 3)
    left = right @ MIRROR  # the same hand in a mirror
    correction = shipped()
    got_left, got_right = correction.landmarks(anatomy, 0, left), correction.landmarks(anatomy, 1, right)
    assert np.allclose(got_left, got_right @ MIRROR, atol=1e-6)


def test_a_fist_read_as_a_half_curled_hand_is_curled_further(anatomy) -> None:
    """The landmarker reads fists as half-curled hands (docs/hands.md); the correction, fitted on
    random poses only, curls a half-curled read further and opens an open-looking read less."""
    correction = shipped()
    for side in (0, 1):
        half = _posed(anatomy, side, 0.55, 6, seed=side)
        curl_read = observed_curl_deg(torch.as_tensor(half)).mean()
        curl_corrected = observed_curl_deg(torch.as_tensor(correction.landmarks(anatomy, side, half))).mean()
        assert curl_corrected > curl_read + 10.0, (side, float(curl_read), float(curl_corrected))


def test_rendered_random_hands_are_solved_better_from_corrected_reads(anatomy) -> None:
    """Random finger poses from a seed neither the training nor the benchmark uses, rendered and read by
    MediaPipe: the posterior's modes err less on the corrected reads than on the raw ones."""
    from propose_backend.hands.correction import palm_rotation
    from propose_backend.train.hand_correction import angle_deg
    from propose_backend.train.hand_reads import render_reads
    from propose_backend.anatomy import _compose

    reads = render_reads(3003, 10)
    assert len(reads["side"]) >= 12
    correction, raw, fixed = shipped(), [], []
    for side in (0, 1):
        sel = reads["side"] == side
        world = reads["world"][sel]
        wrist = torch.as_tensor(palm_rotation(anatomy.rest[side].numpy(), world))
        truth = _compose(torch.as_tensor(reads["comp"][sel]), anatomy.frames[side]).numpy()
        score = torch.ones(int(sel.sum()), dtype=torch.float64)
        plain = hand_posterior(anatomy, side, torch.as_tensor(world), score, wrist)
        kappa = torch.as_tensor(np.broadcast_to(correction.kappa, (int(sel.sum()), 15)).copy())
        corrected = torch.as_tensor(correction.landmarks(anatomy, side, world))
        better = hand_posterior(anatomy, side, corrected, score, wrist, kappa=kappa)
        raw.append(angle_deg(plain.local.numpy(), truth))
        fixed.append(angle_deg(better.local.numpy(), truth))
    raw, fixed = np.concatenate(raw).mean(), np.concatenate(fixed).mean()
    assert fixed < raw - 1.5, (raw, fixed)


def test_a_solver_with_the_correction_solves_its_reads_with_their_error_model(anatomy) -> None:
    """FingerSolver(corrected=True): seen hands get the corrected landmarks, the held-out
    concentrations and a temperature (1 for an unseen hand); mirroring swaps them with the hands."""
    from propose_backend.hands.solve import FingerSolver, HandBatch

    rest = anatomy.rest.numpy()
    world = np.stack([_posed(anatomy, 0, 0.55, 2), _posed(anatomy, 1, 0.55, 2, seed=1)], axis=1)
    hands = HandBatch(world=world, pixels=np.zeros((2, 2, 21, 2)), gain=np.array([[1.0, 1.0], [0.0, 0.6]]))
    solver = FingerSolver(rest, corrected=True)
    got = solver.corrected(hands)
    assert np.allclose(got.world[0, 1], shipped().landmarks(anatomy, 1, world[:1, 1])[0])
    assert np.array_equal(got.world[1, 0], world[1, 0])  # unseen: untouched
    assert got.temperature[1, 0] == 1.0 and got.temperature[0, 0] > 1.0 and np.all(got.kappa > 0)
    temperature = got.temperature.copy()
    got.mirror(0.0)
    assert np.array_equal(got.temperature, temperature[:, ::-1])
    out = solver.solve(got, torch.eye(3, dtype=torch.float64).expand(2, 24, 3, 3), 2, torch.Generator().manual_seed(0))
    unc = out["hand_uncertainty_deg"]
    assert unc[1, 15:].mean() > unc[0, :15].mean() + 5.0  # the unseen hand (now on the right) vs a clearly read one
    assert FingerSolver(rest).correction is None  # off by default (docs/hands.md)
