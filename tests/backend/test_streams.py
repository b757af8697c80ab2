"""Per-row random streams: a row's samples do not depend on the batch it is drawn in."""
from __future__ import annotations

import numpy as np
import torch

from propose_backend import fisher
from propose_backend.instant.bone_posterior import instant_posterior
from propose_backend.instant.ghosts import sample_ghosts
from propose_backend.instant.mapping import landmarks_to_skeleton
from propose_backend.streams import RowStreams
from tests.backend.instant.test_bone_posterior import ANATOMY, FRACTIONS, _instant_rest, _known_pose, _landmarks_from, _posed

FRAMES, PEOPLE = [4, 4, 9], [1, 2, 1]


def _three_people() -> list:
    """Three rows' instant posteriors, each alone, from three poses with some landmarks hidden
    (hidden limbs flip their depth more often, so the rows take different numbers of draws)."""
    rest = _instant_rest()
    rows = []
    for seed in range(3):
        visibility = np.ones((1, 33))
        visibility[0, 13 + seed:17 + seed] = 0.1
        obs = landmarks_to_skeleton(_landmarks_from(_posed(rest, _known_pose(seed))), visibility, FRACTIONS)
        rows.append(obs)
    return rows


def _posterior(observations: list):  # noqa: ANN202
    points = np.concatenate([o.points for o in observations])
    weight = np.concatenate([o.weight for o in observations])
    joined = type(observations[0])(points=points, weight=weight)
    return instant_posterior(joined, np.repeat(_instant_rest(), len(observations), axis=0), ANATOMY)


def test_a_rows_ghosts_are_the_same_alone_and_in_any_batch() -> None:
    people = _three_people()
    together, density = sample_ghosts(_posterior(people), 6, RowStreams.seeded(0, FRAMES, PEOPLE))
    backwards, _ = sample_ghosts(_posterior(people[::-1]), 6, RowStreams.seeded(0, FRAMES[::-1], PEOPLE[::-1]))
    for k in range(3):
        alone, alone_density = sample_ghosts(_posterior([people[k]]), 6, RowStreams.seeded(0, [FRAMES[k]], [PEOPLE[k]]))
        assert torch.equal(alone[0], together[k]) and torch.equal(alone_density[0], density[k])
        assert torch.equal(backwards[2 - k], together[k])
    # from one shared generator, the same row's ghosts change with the rows drawn before it
    shared, _ = sample_ghosts(_posterior(people), 6, torch.Generator().manual_seed(0))
    last, _ = sample_ghosts(_posterior([people[2]]), 6, torch.Generator().manual_seed(0))
    assert not torch.equal(shared[2], last[0])


def test_each_row_frame_and_seed_draws_its_own_stream() -> None:
    F = torch.as_tensor(np.tile(np.diag([4.0, 3.0, 2.0]), (3, 1, 1)))  # three rows of one distribution
    drawn = fisher.sample(F, 5, RowStreams.seeded(0, FRAMES, PEOPLE))
    assert not torch.equal(drawn[0], drawn[1]) and not torch.equal(drawn[0], drawn[2])
    again = fisher.sample(F[1:], 5, RowStreams.seeded(0, FRAMES[1:], PEOPLE[1:]))
    assert torch.equal(again, drawn[1:])  # the same rows, a smaller batch: the same draws
    other_seed = fisher.sample(F, 5, RowStreams.seeded(1, FRAMES, PEOPLE))
    assert not torch.equal(other_seed[0], drawn[0])
    # a stream spread over a row's elements: F (rows, 2 elements) keeps each row's draws together
    pairs = fisher.sample(torch.stack([F, F], dim=1), 3, RowStreams.seeded(0, FRAMES, PEOPLE))
    first = fisher.sample(torch.stack([F[:1], F[:1]], dim=1), 3, RowStreams.seeded(0, FRAMES[:1], PEOPLE[:1]))
    assert torch.equal(pairs[:1], first)
