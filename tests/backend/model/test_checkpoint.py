"""Checkpoint reading is safe and strict, and every failure tells the user what is wrong."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from propose_backend.model import (
    CheckpointError,
    ProPoseNet,
    load_checkpoint_state,
    load_network_weights,
)

FAKE_SMPL = {
    "smpl.v_template": torch.zeros(6890, 3),
    "smpl.parents": torch.arange(-1, 34),
}


class NotATensor:
    """A custom class makes a pickle that only a full (code-executing) unpickler can read."""


@pytest.fixture(scope="module")
def source_net() -> ProPoseNet:
    torch.manual_seed(0)
    net = ProPoseNet().eval()
    with torch.no_grad():
        net.init_shape.copy_(torch.linspace(-1.0, 1.0, 10))  # only the checkpoint knows the mean shape
    return net


@pytest.fixture(scope="module")
def released_file(source_net: ProPoseNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "propose_hr48_xyz.pth"
    torch.save({**source_net.state_dict(), **FAKE_SMPL}, path)
    return path


def test_released_layout_loads_strictly_and_reproduces_outputs(
    source_net: ProPoseNet, released_file: Path
) -> None:
    state = load_checkpoint_state(released_file)
    assert not any(key.startswith("smpl.") for key in state)

    torch.manual_seed(1)
    target = ProPoseNet().eval()
    load_network_weights(target, state)

    torch.testing.assert_close(target.init_shape, torch.linspace(-1.0, 1.0, 10))
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for expected, actual in zip(source_net(images), target(images)):
            assert torch.equal(expected, actual)


def _with_module_prefix(state: dict) -> dict:
    return {f"module.{key}": value for key, value in state.items()}


SNAPSHOT_LAYOUTS = {
    "model": lambda state: {"model": state},
    "state_dict": lambda state: {"state_dict": state, "epoch": 3},
    "module_prefix": _with_module_prefix,
    "wrapped_module_prefix": lambda state: {"state_dict": _with_module_prefix(state), "epoch": 3},
}


@pytest.mark.parametrize("layout", SNAPSHOT_LAYOUTS)
def test_training_snapshot_layouts_load(source_net: ProPoseNet, tmp_path: Path, layout: str) -> None:
    saved = SNAPSHOT_LAYOUTS[layout]({**source_net.state_dict(), **FAKE_SMPL})
    path = tmp_path / "snapshot.pth"
    torch.save(saved, path)

    loaded = load_checkpoint_state(path)
    assert set(loaded) == set(source_net.state_dict())
    load_network_weights(ProPoseNet(), loaded)


def test_mismatched_state_names_every_problem(source_net: ProPoseNet) -> None:
    state = dict(source_net.state_dict())
    del state["decF.bias"]
    state["deckid.weight"] = torch.zeros(1, 2048)
    state["deccam.weight"] = torch.zeros(4, 2048)
    with pytest.raises(CheckpointError) as info:
        load_network_weights(ProPoseNet(), state)
    message = str(info.value)
    assert "decF.bias" in message and "missing" in message
    assert "deckid.weight" in message and "unexpected" in message
    assert "deccam.weight" in message and "(4, 2048)" in message and "(3, 2048)" in message
    assert "probably not the ProPose HRNet-W48 xyz checkpoint" in message


def test_long_mismatch_lists_are_truncated(source_net: ProPoseNet) -> None:
    state = {k: v for k, v in source_net.state_dict().items() if not k.startswith("preact.stage4.")}
    expected = r"keys missing from the checkpoint \(864\): .* … and 854 more"
    with pytest.raises(CheckpointError, match=expected):
        load_network_weights(ProPoseNet(), state)


def test_missing_file_says_what_to_download(tmp_path: Path) -> None:
    path = tmp_path / "model_files" / "propose_hr48_xyz.pth"
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_state(path)
    message = str(info.value)
    assert str(path.resolve()) in message
    assert "download" in message and "propose_hr48_xyz.pth" in message and "model_files/" in message


@pytest.mark.parametrize("corruption", ["random_bytes", "truncated", "empty"])
def test_unreadable_file_is_reported(tmp_path: Path, corruption: str) -> None:
    path = tmp_path / "broken.pth"
    if corruption == "random_bytes":
        path.write_bytes(os.urandom(4096))
    else:
        torch.save({"preact.conv1.weight": torch.zeros(64, 3, 3, 3)}, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if corruption == "truncated" else b"")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint_state(path)


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "unsafe.pth"
    torch.save({"preact.conv1.weight": torch.zeros(1), "extra": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="Refusing to load .*NotATensor.*arbitrary code"):
        load_checkpoint_state(path)


@pytest.mark.parametrize(
    "content",
    [[torch.zeros(3)], {"preact.conv1.weight": torch.zeros(1), "epoch": 3}, {}],
    ids=["list", "non_tensor", "empty"],
)
def test_non_state_dict_is_rejected(tmp_path: Path, content: object) -> None:
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    with pytest.raises(CheckpointError, match="state dict"):
        load_checkpoint_state(path)
