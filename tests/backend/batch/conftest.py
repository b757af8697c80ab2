"""One small local Ray for the batch tests (2 CPUs, no dashboard, a small object store), shut down after them,
and short real clips cut from the street video."""
from __future__ import annotations

from pathlib import Path

import pytest

from propose_backend.batch.plan import WARMUP
from propose_backend.batch.pools import start_ray
from tests.real_data import street_frames, write_video

PIECE_FRAMES = 2 * WARMUP + 1  # the smallest piece plan.split accepts
LONG_FRAMES = 2 * PIECE_FRAMES + 1  # three such pieces (each estimated with its warm-up before it)


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
    """The first LONG_FRAMES frames of the real street video: the fewest that cut into three pieces of the
    smallest allowed size (plan.split: pieces longer than twice the warm-up, a clip over 1.5 pieces)."""
    return write_video(tmp_path_factory.mktemp("street_long") / "street_long.avi",
                       street_frames(list(range(LONG_FRAMES))))
