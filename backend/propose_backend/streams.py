"""Random streams per batch row: a row's random draws that do not depend on the batch it is in.

The samplers (fisher.sample's rejection rounds, the ghosts' depth flips and joint-limit retries,
the ghost fingers) draw for a whole batch at once, and how many numbers a row takes depends on its
data. From one shared generator, a row's ghosts therefore depend on which rows were drawn before
and beside it. An everyone run decides only after an estimate which rows it keeps (the tracker's
verdict, a second look, a read-back frame that turns out not to be the person), so it wants a
row's ghosts to be the same whenever, and with whomever, they are drawn: `RowStreams` gives each
row its own generator, seeded from what the row is (the run's seed, its frame, its person), and
the samplers take it wherever they take a torch generator. Each draw is split by row: row b's
numbers come from its own generator, in the order and shapes a batch of that row alone would
draw them, so drawing a row alone or in any batch gives bitwise the same numbers.

Elements of a draw belong to rows in batch order (row-major layouts with the batch outermost):
a stream of B rows spread over N = B·k elements gives each row k consecutive elements (`fit`),
and a selection of elements (`RowStreams[index]`) keeps their rows.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

def row_seed(seed: int, frame: int, person: int) -> int:
    """A 63-bit seed for the row of `person` on `frame` in a run seeded `seed` (well mixed: nearby
    frames and people get unrelated streams)."""
    return int(np.random.SeedSequence([int(seed), int(frame), int(person)]).generate_state(1, np.uint64)[0]) >> 1


class RowStreams:
    """One torch generator per batch row, and which row each element of a draw belongs to."""

    def __init__(self, generators: Sequence[torch.Generator], owner: Tensor | None = None) -> None:
        self.generators = list(generators)
        self.owner = torch.arange(len(self.generators)) if owner is None else owner

    @classmethod
    def seeded(cls, seed: int, frames: Sequence[int], people: Sequence[int]) -> "RowStreams":
        """Rows seeded by (seed, frame, person): a row's stream is the same in every batch."""
        return cls([torch.Generator().manual_seed(row_seed(seed, f, p)) for f, p in zip(frames, people)])

    def fit(self, count: int) -> "RowStreams":
        """These rows over `count` elements: as they are when there is one element per element
        already, else each row over count / rows consecutive elements."""
        if count == len(self.owner):
            return self
        if len(self.owner) == 0 or count % len(self.owner):
            raise ValueError(f"{count} elements cannot be split over {len(self.owner)} rows")
        return RowStreams(self.generators, self.owner.repeat_interleave(count // len(self.owner)))

    def __getitem__(self, index: Tensor) -> "RowStreams":
        return RowStreams(self.generators, self.owner[index])

    def draw(self, sampler, shape: tuple[int, ...], dtype: torch.dtype, device=None) -> Tensor:  # noqa: ANN001
        """`sampler` (torch.randn or torch.rand) of `shape`, its first dim the elements: each
        row's elements drawn together from its own generator."""
        owner = self.fit(shape[0]).owner
        rows, counts = torch.unique_consecutive(owner, return_counts=True)
        parts = [sampler((int(n), *shape[1:]), generator=self.generators[int(r)], dtype=dtype, device=device)
                 for r, n in zip(rows, counts)]
        return torch.cat(parts) if parts else torch.empty(shape, dtype=dtype, device=device)


def fit(generator, count: int):  # noqa: ANN001, ANN201 - a torch generator, RowStreams or None
    """`generator` over `count` elements (RowStreams.fit; a torch generator or None as it is)."""
    return generator.fit(count) if isinstance(generator, RowStreams) else generator


def select(generator, index: Tensor):  # noqa: ANN001, ANN201
    """The streams of the elements `index` picks (a torch generator or None as it is)."""
    return generator[index] if isinstance(generator, RowStreams) else generator


def normal(shape: tuple[int, ...], generator, dtype: torch.dtype, device=None) -> Tensor:  # noqa: ANN001
    """torch.randn from a torch generator or from per-row streams (first dim: the elements)."""
    if isinstance(generator, RowStreams):
        return generator.draw(torch.randn, shape, dtype, device)
    return torch.randn(shape, generator=generator, dtype=dtype, device=device)


def uniform(shape: tuple[int, ...], generator, dtype: torch.dtype, device=None) -> Tensor:  # noqa: ANN001
    """torch.rand from a torch generator or from per-row streams (first dim: the elements)."""
    if isinstance(generator, RowStreams):
        return generator.draw(torch.rand, shape, dtype, device)
    return torch.rand(shape, generator=generator, dtype=dtype, device=device)
