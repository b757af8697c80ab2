"""Mixing the sources by configured ratios, and sharing each epoch between distributed ranks.

A training sample is addressed by the key (epoch, index). The key alone decides the source
(drawn with the configured ratios), the record within it and every augmentation, so the
sequence of batches depends only on the seed: it is the same with any number of loader
workers and after a resume, and ranks that get disjoint keys see disjoint data.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .source import Item, SourceDataset

SampleKey = tuple[int, int]  # (epoch, index)


class MixedDataset(Dataset):
    """Per-sample random choice of source with the given ratios (docs/training.md, Data).

    An epoch is as long as the largest source. Index i of a source with n records maps to
    record i mod n while whole cycles fit, and to a random record in the last partial cycle.
    """

    def __init__(self, sources: Sequence[SourceDataset], ratios: Sequence[float], seed: int) -> None:
        if len(sources) != len(ratios) or not sources:
            raise ValueError("need one ratio per source and at least one source")
        weights = np.asarray(ratios, dtype=np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"mixing ratios must be non-negative and not all zero, got {list(ratios)}")
        self.sources = list(sources)
        self.probabilities = weights / weights.sum()
        self.seed = seed
        self.length = max(len(source) for source in self.sources)

    def __len__(self) -> int:
        return self.length

    def locate(self, key: SampleKey) -> tuple[int, int, np.random.Generator]:
        """(source index, record index, augmentation generator) of a sample key."""
        epoch, index = key
        rng = np.random.default_rng([self.seed, epoch, index])
        which = int(rng.choice(len(self.sources), p=self.probabilities))
        size = len(self.sources[which])
        full_cycles = (self.length // size) * size
        record = index % size if index < full_cycles else int(rng.integers(size))
        return which, record, rng

    def __getitem__(self, key: SampleKey) -> Item:
        which, record, rng = self.locate(key)
        return self.sources[which].load(record, rng)


class EpochSampler(Sampler[SampleKey]):
    """Seeded shuffle per epoch, cut into equal, disjoint shares, one per rank.

    The tail that does not divide evenly is dropped rather than padded with repeats, so no
    sample is seen twice in an epoch and every rank runs the same number of steps.
    """

    def __init__(self, length: int, rank: int = 0, world_size: int = 1, seed: int = 0,
                 samples_per_rank: int | None = None) -> None:
        self.length, self.rank, self.world_size, self.seed = length, rank, world_size, seed
        share = length // world_size
        self.share = share if samples_per_rank is None else min(share, samples_per_rank)
        if self.share == 0:
            raise ValueError(f"{length} samples cannot be shared among {world_size} ranks")
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.share

    def __iter__(self) -> Iterator[SampleKey]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.length, generator=generator)
        mine = order[self.rank: self.share * self.world_size: self.world_size]
        return iter([(self.epoch, int(i)) for i in mine])
