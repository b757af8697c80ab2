"""Two CPU processes under torchrun (gloo): disjoint data per rank, identical weights at the end."""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from propose_backend.train.config import Config

BACKEND = Path(__file__).resolve().parents[3] / "backend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_see_disjoint_data_and_end_identical(smoke_config: Config, tmp_path: Path) -> None:
    run = dataclasses.replace(smoke_config.train, epochs=2, steps_per_epoch=3, batch_size=4, log_every=1,
                              checkpoint_every=2, record_samples=True, out_dir=tmp_path / "ddp")
    config_path = tmp_path / "ddp.yaml"
    config_path.write_text(yaml.safe_dump(dataclasses.replace(smoke_config, train=run).to_dict()))
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "-m", "propose_backend.train.cli", "train", "--config", str(config_path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BACKEND), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"torchrun failed:\n{done.stderr[-20000:]}\n{done.stdout[-2000:]}"

    summary = json.loads((run.out_dir / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 6
    digests = summary["rank_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert Path(summary["exported"]).is_file()

    seen: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for rank in (0, 1):
        for line in (run.out_dir / f"samples_rank{rank}.txt").read_text().splitlines():
            epoch, _, path = line.split(" ", 2)
            seen[int(epoch)][rank].append(path)
    for epoch in (0, 1):
        first, second = seen[epoch][0], seen[epoch][1]
        assert len(first) == len(second) == 12
        assert not set(first) & set(second), f"epoch {epoch}: ranks shared samples"
    assert len((run.out_dir / "metrics.jsonl").read_text().splitlines()) == 6
