"""Reading the released `propose_hr48_xyz.pth` safely and loading it strictly into ProPoseNet.

The checkpoint is a licence-gated download the user supplies, so every failure mode
(absent, corrupt, not weights-only, wrong network) ends in one `CheckpointError` whose
message says what to do, instead of a torch traceback.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from ..request import CHECKPOINT_NAME

DROPPED_PREFIX = "smpl."  # body-model buffers come from the user's SMPL file instead (docs/model.md, The released checkpoint)
WRAPPER_KEYS = ("model", "state_dict")
DDP_PREFIX = "module."
MAX_LISTED = 10


class CheckpointError(RuntimeError):
    """The checkpoint is missing, unreadable or does not fit the ProPose network."""


def load_checkpoint_state(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Reads a checkpoint without executing pickled code; returns the network's state (no `smpl.*`).

    Besides the released raw state dict, accepts one wrapped under "model"/"state_dict"
    and DistributedDataParallel `module.` prefixes, as training snapshots often have them.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"No checkpoint file at {path.resolve()}. Download the released ProPose checkpoint "
            f"{CHECKPOINT_NAME} (a licence-gated download) and put it into model_files/."
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many unrelated types for bad files; all mean "unreadable"
        raise CheckpointError(_unreadable_message(path, exc)) from exc

    state = {_strip_ddp_prefix(key): value for key, value in _unwrap(loaded, path).items()}
    return {key: value for key, value in state.items() if not key.startswith(DROPPED_PREFIX)}


def load_network_weights(net: nn.Module, state: Mapping[str, Tensor]) -> None:
    """Strictly loads `state` into `net`, explaining any mismatch in plain words."""
    expected = net.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    wrong_shape = [
        f"{key} (checkpoint {tuple(state[key].shape)}, network {tuple(expected[key].shape)})"
        for key in expected
        if key in state and state[key].shape != expected[key].shape
    ]
    problems = [
        _listing("keys missing from the checkpoint", missing),
        _listing("unexpected keys in the checkpoint", unexpected),
        _listing("keys with a different shape", wrong_shape),
    ]
    problems = [p for p in problems if p]
    if problems:
        raise CheckpointError(
            "The checkpoint does not match the ProPose network; it is probably not the "
            f"ProPose HRNet-W48 xyz checkpoint ({CHECKPOINT_NAME}).\n" + "\n".join(problems)
        )
    net.load_state_dict(state, strict=True)


def _unreadable_message(path: Path, exc: Exception) -> str:
    unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
    if unsafe:
        return (
            f"Refusing to load {path}: it contains Python objects other than tensors "
            f"({unsafe.group(1)}), and unpickling them could run arbitrary code. "
            f"Use the released {CHECKPOINT_NAME}, or re-save the weights as a plain state_dict."
        )
    return (
        f"Could not read {path} as a PyTorch checkpoint ({type(exc).__name__}); the file is "
        f"probably truncated or corrupt, or not a torch file at all. Download {CHECKPOINT_NAME} again."
    )


def _unwrap(loaded: object, path: Path) -> Mapping[str, Tensor]:
    if isinstance(loaded, Mapping):
        for wrapper in WRAPPER_KEYS:
            if isinstance(loaded.get(wrapper), Mapping):
                loaded = loaded[wrapper]
                break
    if not isinstance(loaded, Mapping) or not loaded:
        found = "an empty mapping" if isinstance(loaded, Mapping) else f"a {type(loaded).__name__}"
        raise CheckpointError(
            f"{path} does not hold a state dict (a mapping of names to tensors) but {found}; "
            "it is not a ProPose checkpoint."
        )
    bad = [
        str(key) for key, value in loaded.items() if not (isinstance(key, str) and isinstance(value, Tensor))
    ]
    if bad:
        listing = _listing("entries that are not named tensors", bad)
        raise CheckpointError(f"{path} is not a state dict of tensors:\n{listing}")
    return loaded


def _strip_ddp_prefix(key: str) -> str:
    return key[len(DDP_PREFIX):] if key.startswith(DDP_PREFIX) else key


def _listing(what: str, items: list[str]) -> str:
    """One line naming up to MAX_LISTED items, counting the rest, so huge mismatches stay readable."""
    if not items:
        return ""
    shown = ", ".join(items[:MAX_LISTED])
    more = f" … and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return f"- {what} ({len(items)}): {shown}{more}"
