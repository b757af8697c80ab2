"""Both hands solved and drawn together give, number for number, what one hand at a time gives."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from propose_backend import fisher
from propose_backend.geometry import axis_angle_to_matrix_torch, world_from_local
from propose_backend.hands import ghosts
from propose_backend.hands.fingers import HandAnatomy, hand_landmarks, hand_posterior, hands_posterior, sample_hand
from propose_backend.hands.ghosts import sample_hands
from propose_backend.hands.solve import FingerSolver, HandBatch

def _hands(anatomy: HandAnatomy, B: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noisy landmarks (B, 2, 21, 3) of random poses within the limits, scores (B, 2) (some hands
    unseen, some barely seen) and random wrists (B, 2, 3, 3)."""
    g = torch.Generator().manual_seed(seed)
    wrists = axis_angle_to_matrix_torch(torch.randn(B, 2, 3, generator=g, dtype=torch.float64))
    world = []
    for h in range(2):
        comp = anatomy.low[h] + torch.rand(B, 15, 3, generator=g, dtype=torch.float64) * (anatomy.high[h] - anatomy.low[h])
        local = anatomy.clamp_components(comp, h, list(range(15)))
        world.append(hand_landmarks(anatomy, h, local, wrists[:, h]) + 0.004 * torch.randn(B, 21, 3, generator=g, dtype=torch.float64))
    score = torch.rand(B, 2, generator=g, dtype=torch.float64)
    score[0, 1] = 0.0
    return torch.stack(world, dim=1), score, wrists


@pytest.mark.parametrize("B", [1, 6])
def test_both_hands_solved_together_are_each_hand_solved_alone(anatomy: HandAnatomy, B: int) -> None:
    """The same numbers for one frame (as the estimators call it, frame by frame); for a batch of
    frames the same up to rounding: a sine or arctangent over more elements may take torch's
    vectorised path where one hand's took the scalar one, and those can differ in the last bit."""
    world, score, wrists = _hands(anatomy, B, seed=1)
    both = hands_posterior(anatomy, (0, 1), world, score, wrists)
    for h in range(2):
        alone = hand_posterior(anatomy, h, world[:, h], score[:, h], wrists[:, h])
        for name in ("F", "world", "local", "evidence", "prior_F"):
            got, want = getattr(both, name)[:, h], getattr(alone, name)
            assert torch.equal(got, want) if B == 1 else torch.allclose(got, want, rtol=1e-12, atol=1e-12), (h, name)


@pytest.mark.parametrize("B, S", [(1, 8), (3, 5)])
def test_ghost_hands_drawn_together_are_those_drawn_hand_by_hand(anatomy: HandAnatomy, B: int, S: int) -> None:
    world, score, wrists = _hands(anatomy, B, seed=2)
    post = hands_posterior(anatomy, (0, 1), world, score, wrists)
    together, by_hand = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    drawn = sample_hands(anatomy, post, wrists, S, together)
    alone = [sample_hand(anatomy, h, hand_posterior(anatomy, h, world[:, h], score[:, h], wrists[:, h]), wrists[:, h],
                         S, by_hand) for h in range(2)]
    assert torch.equal(drawn, torch.stack(alone, dim=2))
    assert torch.equal(together.get_state(), by_hand.get_state())  # the next frame's draws are unchanged too


def test_when_a_draw_needs_a_second_round_the_hands_are_drawn_one_by_one(anatomy: HandAnatomy, monkeypatch) -> None:
    """Many ghosts make some joint's first round of proposals fall short (each row ~1e-3): the numbers
    drawn ahead are then not the ones the hand-by-hand draws take, and the fallback must give those."""
    world, score, wrists = _hands(anatomy, 1, seed=3)
    score[:] = 1.0
    post = hands_posterior(anatomy, (0, 1), world, score, wrists)
    fallbacks = []
    monkeypatch.setattr(ghosts, "sample_hand", lambda *a, **k: fallbacks.append(1) or sample_hand(*a, **k))
    S = 600
    together, by_hand = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    drawn = sample_hands(anatomy, post, wrists, S, together)
    alone = [sample_hand(anatomy, h, hand_posterior(anatomy, h, world[:, h], score[:, h], wrists[:, h]), wrists[:, h],
                         S, by_hand) for h in range(2)]
    assert fallbacks, "no draw needed a second round: raise S"
    assert torch.equal(drawn, torch.stack(alone, dim=2))
    assert torch.equal(together.get_state(), by_hand.get_state())


def test_fisher_samples_from_numbers_drawn_ahead_are_the_samples_it_draws() -> None:
    g = torch.Generator().manual_seed(5)
    F = torch.randn(50, 3, 3, generator=g, dtype=torch.float64) * 30
    ahead, drawing = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    noise = fisher.first_noise(50, 4, ahead)
    assert torch.equal(fisher.sample(F, 4, generator=torch.Generator(), noise=noise), fisher.sample(F, 4, drawing))
    assert torch.equal(ahead.get_state(), drawing.get_state())


def test_the_solve_on_the_bodys_local_rotations_is_the_solve_on_its_world_rotations(anatomy: HandAnatomy,
                                                                                   rest_hands: np.ndarray) -> None:
    """solve_on_body builds only the wrists' world rotations; they are world_from_local's."""
    world, score, _ = _hands(anatomy, 2, seed=4)
    g = torch.Generator().manual_seed(6)
    local = axis_angle_to_matrix_torch(0.4 * torch.randn(2, 24, 3, generator=g, dtype=torch.float64))
    samples = axis_angle_to_matrix_torch(0.4 * torch.randn(2, 3, 24, 3, generator=g, dtype=torch.float64))
    solver = FingerSolver(rest_hands)
    hands = HandBatch(world.numpy(), np.zeros((2, 2, 21, 2)), score.numpy())
    fields = {"rotmats": local.numpy(), "samples": samples.numpy()}
    on_body = solver.solve_on_body(hands, fields, 3, torch.Generator().manual_seed(8))
    on_world = solver.solve(hands, world_from_local(local), 3, torch.Generator().manual_seed(8), world_from_local(samples))
    for name, value in on_body.items():
        assert np.array_equal(value, on_world[name]), name
