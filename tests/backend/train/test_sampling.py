"""Epoch sampling: disjoint equal shares per rank, reshuffled per epoch, deterministic."""
from __future__ import annotations

import pytest

from propose_backend.train.datasets import EpochSampler


def test_ranks_get_disjoint_equal_shares() -> None:
    shares = [list(EpochSampler(103, rank=r, world_size=4, seed=7)) for r in range(4)]
    assert {len(s) for s in shares} == {25}  # 103 // 4; the 3 left over are dropped, not repeated
    indices = [i for share in shares for _, i in share]
    assert len(set(indices)) == len(indices) == 100


def test_epochs_reshuffle_and_repeat_exactly() -> None:
    sampler = EpochSampler(50, seed=1)
    first = list(sampler)
    assert first == list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(i for _, i in first) == sorted(i for _, i in second) and first != second
    assert {e for e, _ in second} == {1}


def test_samples_per_rank_caps_an_epoch() -> None:
    assert len(list(EpochSampler(100, rank=1, world_size=2, samples_per_rank=8))) == 8
    with pytest.raises(ValueError, match="cannot be shared"):
        EpochSampler(1, world_size=2)
