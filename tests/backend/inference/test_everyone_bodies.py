"""The bodies an everyone run's track chunks carry (only a recovery reads them): one fit shared by
every track's first chunk, then each track's own at most every BODY_REFRESH_S. Fast: no video."""
from __future__ import annotations

import numpy as np

from propose_backend.inference import everyone


def test_every_track_starts_with_one_shared_fit_then_refits_its_own(instant, monkeypatch):
    fits: list[int | None] = []
    fit = instant.rest_geometry

    def counting(betas, person=None):  # noqa: ANN001
        fits.append(person)
        return fit(betas, person=person)

    monkeypatch.setattr(instant, "rest_geometry", counting)
    first = everyone._FirstBody(instant)
    chunks = {track: everyone._ChunkBody(instant, track, first) for track in (1, 2, 3)}
    betas = np.zeros(10, np.float32)
    bodies = [chunks[track](betas) for track in (1, 2, 3)]
    assert fits == [None]  # three tracks' first chunks: one fit
    assert bodies[0] is bodies[1] is bodies[2] and "rest_joints" in bodies[0]
    assert chunks[2](betas) is bodies[0] and fits == [None]  # within BODY_REFRESH_S: no refit
    monkeypatch.setattr(everyone, "BODY_REFRESH_S", -1.0)
    chunks[2](betas)
    chunks[3](betas)
    assert fits == [None, 2, 3]  # later chunks: each track's own body
