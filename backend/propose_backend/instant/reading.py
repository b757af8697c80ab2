"""An instant-mode estimate in two steps: the reading a tracker decides on, then the ghosts.

Everything a tracker needs from an estimate — landmarks, hands seen, the posterior, the pose, the
pelvis, the overlay — is fixed once a crop is read. What is left is the dearest part that nobody
decides on: the ghosts (sampled alternatives) and the fingers (their posterior and ghost fingers,
solved on the body). An everyone run reads many crops it then throws away (a crop that showed a
neighbour, a read-back frame that is not the person) and reads its second looks and read-backs
one crop at a time; it finishes only the rows it keeps, all of a frame's (or a read-back's) in
one batch, so the ghosts' per-batch cost is paid once. Their rows draw from per-row random
streams (streams.py), so a row's ghosts are the same whichever rows it is finished with.
"""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields, replace

import numpy as np
import torch

from ..hands.solve import HandBatch
from ..posterior import Posterior
from .bone_posterior import InstantPosterior

# InstantPosterior fields that hold one entry per row (the rest are the body's, shared)
_ROW_FIELDS = ("evidence", "observed", "rest", "kappa", "gain")


@dataclass
class Reading:
    """One estimator batch read up to its ghosts.

    fields: the body fields in the camera's axes (mirrored where the footage is), float64, without
    ghosts; instant: the posterior in the crop view, which the ghosts are drawn from; hands: the
    hands seen, turned (and mirrored) as the body, for the finger solve; turn: (B, 3, 3) crop
    view -> camera axes; person: the rows' people in an everyone run (FrameBatch.person), else None.
    """

    fields: dict[str, np.ndarray]
    instant: InstantPosterior
    hands: HandBatch
    turn: np.ndarray
    frame_index: np.ndarray
    person: np.ndarray | None
    num_samples: int
    mirrored: bool

    def __len__(self) -> int:
        return len(self.frame_index)

    def seen(self) -> dict[str, np.ndarray]:
        """The body fields as an estimate gives them (float32; valid as bool), ghosts not drawn."""
        return {k: (v if v.dtype == bool else v.astype(np.float32)) for k, v in self.fields.items()}


def joined(parts: list[tuple[Reading, np.ndarray]]) -> Reading:
    """The rows `rows` (indices) of each reading, in order, as one reading (to finish together)."""
    if len(parts) == 1 and np.array_equal(parts[0][1], np.arange(len(parts[0][0]))):
        return parts[0][0]
    first = parts[0][0]
    if len({(r.num_samples, r.mirrored, r.person is None) for r, _ in parts}) > 1:
        raise ValueError("readings of different runs cannot be finished together")

    def cat(values: list) -> np.ndarray | torch.Tensor:  # noqa: ANN001
        return torch.cat(values) if isinstance(values[0], torch.Tensor) else np.concatenate(values)

    def rows(get) -> np.ndarray | torch.Tensor:  # noqa: ANN001
        return cat([get(r)[torch.as_tensor(k) if isinstance(get(r), torch.Tensor) else k] for r, k in parts])

    post = Posterior(**{f.name: rows(lambda r, n=f.name: getattr(r.instant.posterior, n))
                        for f in dataclass_fields(Posterior)})
    instant = replace(first.instant, posterior=post,
                      **{n: rows(lambda r, n=n: getattr(r.instant, n)) for n in _ROW_FIELDS})
    hand_rows = {f.name: (None if getattr(first.hands, f.name) is None
                          else rows(lambda r, n=f.name: getattr(r.hands, n))) for f in dataclass_fields(HandBatch)}
    return Reading(fields={n: rows(lambda r, n=n: r.fields[n]) for n in first.fields}, instant=instant,
                   hands=HandBatch(**hand_rows),
                   turn=rows(lambda r: r.turn),
                   frame_index=rows(lambda r: r.frame_index),
                   person=None if first.person is None else rows(lambda r: r.person),
                   num_samples=first.num_samples, mirrored=first.mirrored)
