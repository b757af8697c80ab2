"""One small local Ray for the batch tests (2 CPUs, no dashboard, a small object store), shut down after them,
and short real clips cut from the street video."""
from __future__ import annotations

from pathlib import Path

import pytest

from propose_backend.batch.pools import start_ray
from tests.real_data import street_frames, write_video


@pytest.fixture(scope="package")
def local_ray():
    import ray

    started = start_ray(None)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="package")
def street_clip(tmp_path_factory) -> Path:
    """The first 24 frames of the real street video."""
    return write_video(tmp_path_factory.mktemp("street") / "street24.avi", street_frames(list(range(24))))


@pytest.fixture(scope="package")
def street_long(tmp_path_factory) -> Path:
    """The first 67 frames of the real street video (long enough to cut into pieces; in pieces of 33 a
    piece starts while a hand has been hidden for a while, where the landmarker's back-off must not
    leave a seam)."""
    return write_video(tmp_path_factory.mktemp("street_long") / "street67.avi", street_frames(list(range(67))))
