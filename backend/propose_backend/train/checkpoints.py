"""Training snapshots for resuming: model, optimiser, scheduler, progress and random state.

A snapshot is written after every `train.checkpoint_every` epochs (and after the last) as
`<out_dir>/checkpoints/epoch_NNN.pt`, NNN = completed epochs. It holds plain tensors and
containers only, so it reads back with `torch.load(weights_only=True)`. Samples depend only on
(seed, epoch, index) and posterior samples on (seed, rank, step), so a resumed run continues
exactly as the uninterrupted one would have.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

SNAPSHOT_FORMAT = "propose-train-state/1"
SNAPSHOT_DIR = "checkpoints"
_SNAPSHOT_NAME = re.compile(r"epoch_(\d+)\.pt$")


class SnapshotError(RuntimeError):
    """A resume snapshot is missing, unreadable or from another kind of run."""


def snapshot_path(out_dir: Path, completed_epochs: int) -> Path:
    return out_dir / SNAPSHOT_DIR / f"epoch_{completed_epochs:03d}.pt"


def latest_snapshot(out_dir: Path) -> Path | None:
    found = [(int(m.group(1)), p) for p in (out_dir / SNAPSHOT_DIR).glob("epoch_*.pt")
             if (m := _SNAPSHOT_NAME.search(p.name))]
    return max(found)[1] if found else None


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": np_state[0], "state": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": np_state[2], "has_gauss": np_state[3], "cached_gaussian": np_state[4]},
        "python": random.getstate(),
    }


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state((np_state["key"], np_state["state"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_snapshot(path: Path, net: nn.Module, optimizer: torch.optim.Optimizer,
                  scheduler: torch.optim.lr_scheduler.LRScheduler, completed_epochs: int,
                  global_step: int, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": SNAPSHOT_FORMAT, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "epoch": completed_epochs, "global_step": global_step,
        "rng": rng_state(), "config": config,
    }
    partial = path.with_suffix(".pt.partial")
    torch.save(state, partial)
    partial.replace(path)  # never leave a half-written snapshot under the real name
    return path


def load_snapshot(path: Path) -> dict:
    if not path.is_file():
        raise SnapshotError(f"no training snapshot at {path}; pass a checkpoints/epoch_NNN.pt "
                            "file written by `propose-backend train`, or --resume auto.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means the file cannot be resumed from
        raise SnapshotError(f"cannot read the training snapshot {path} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0]}); it is probably truncated.") from exc
    if not isinstance(state, dict) or state.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"{path} is not a training snapshot of this trainer (a released-format "
                            "checkpoint holds weights only and cannot be resumed from; use "
                            "model.backbone_init or start a new run).")
    return state
