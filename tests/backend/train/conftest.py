"""Shared fixtures of the training tests: one small synthetic set per session, tiny configs."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from propose_backend.train import synthetic
from propose_backend.train.config import Config, load_config


@pytest.fixture(autouse=True)
def single_thread() -> None:
    """One intra-op thread: on a small shared machine the default thread pool mostly spins."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory: pytest.TempPathFactory) -> synthetic.SyntheticSet:
    return synthetic.generate(tmp_path_factory.mktemp("synthetic"), count=64, test_count=8,
                              image_size=128, seed=3)


@pytest.fixture()
def smoke_config(synthetic_set: synthetic.SyntheticSet, tmp_path: Path) -> Config:
    """The shipped smoke config on the session's synthetic set, writing into tmp_path."""
    config = load_config("smoke")
    source = dataclasses.replace(config.data.sources[0], generate=0)
    data = dataclasses.replace(config.data, root=synthetic_set.root, sources=(source,), workers=0)
    run = dataclasses.replace(config.train, out_dir=tmp_path / "run")
    return dataclasses.replace(config, data=data, train=run)
