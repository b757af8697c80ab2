"""The trainer on the synthetic set: loss falls, resume is exact, exports load for inference."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import yaml

import propose_backend
from propose_backend.body import demo_body
from propose_backend.model import HRNetW48, ProPoseNet, load_checkpoint_state, load_network_weights
from propose_backend.train.backbone_init import BackboneInitError, init_backbone
from propose_backend.train.checkpoints import SnapshotError, latest_snapshot, load_snapshot
from propose_backend.train.cli import main
from propose_backend.train.config import BACKBONES, Config
from propose_backend.train.export import export_released
from propose_backend.train.trainer import clip_per_tensor, train

CHECKPOINT_KEYS = Path(__file__).resolve().parents[4] / "shared" / "design" / "checkpoint-keys.json"


def configure(config: Config, **run: object) -> Config:
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **run))


def step_losses(out_dir: Path) -> dict[int, float]:
    lines = (out_dir / "metrics.jsonl").read_text().splitlines()
    return {record["step"]: record["total"] for record in map(json.loads, lines)}


@pytest.mark.slow
def test_smoke_run_loss_falls(smoke_config: Config) -> None:
    """104 steps of the tiny network on the synthetic set (batch 8, 64 px; 13 epochs of 8 steps, the
    learning rate cut after 10): the plumbing learns. docs/training.md has a longer run's curve."""
    config = configure(smoke_config, epochs=13, steps_per_epoch=None, checkpoint_every=13, log_every=1)
    config = dataclasses.replace(config, optim=dataclasses.replace(config.optim, milestones=(10,)))
    summary = train(config)
    losses = step_losses(config.train.out_dir)
    assert summary.steps == len(losses) == 104
    first = sum(losses[s] for s in range(1, 21)) / 20
    last = sum(losses[s] for s in range(85, 105)) / 20
    print(f"smoke loss: first 20 steps {first:.2f}, last 20 steps {last:.2f}")
    assert last < 0.6 * first
    assert summary.images_per_s_per_gpu > 0 and summary.rank_digests and len(set(summary.rank_digests)) == 1

    net = ProPoseNet(BACKBONES["hrnet_tiny"])
    load_network_weights(net, load_checkpoint_state(summary.exported))  # strict
    assert (config.train.out_dir / "checkpoints" / "epoch_013.pt").is_file()


def test_resume_reproduces_the_next_step(smoke_config: Config, tmp_path: Path) -> None:
    config = configure(smoke_config, epochs=2, steps_per_epoch=3, checkpoint_every=1, log_every=1,
                       out_dir=tmp_path / "full")
    train(config)
    snapshot = latest_snapshot(tmp_path / "full")
    assert snapshot is not None and snapshot.name == "epoch_002.pt"
    resumed = configure(config, out_dir=tmp_path / "resumed")
    train(resumed, resume=tmp_path / "full" / "checkpoints" / "epoch_001.pt")

    full, again = step_losses(tmp_path / "full"), step_losses(tmp_path / "resumed")
    assert sorted(again) == [4, 5, 6]
    for step in again:
        assert again[step] == pytest.approx(full[step], rel=1e-6, abs=1e-6)
    state = load_snapshot(tmp_path / "resumed" / "checkpoints" / "epoch_002.pt")
    assert state["epoch"] == 2 and state["global_step"] == 6


def test_snapshot_errors(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no training snapshot"):
        load_snapshot(tmp_path / "missing.pt")
    released = tmp_path / "released.pt"
    torch.save({"init_cam": torch.zeros(3)}, released)
    with pytest.raises(SnapshotError, match="released-format"):
        load_snapshot(released)


def test_export_of_w48_loads_through_load_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = ProPoseNet()
    with torch.no_grad():
        net.init_shape.copy_(torch.linspace(-1, 1, 10))
    path = export_released(net, demo_body(), tmp_path / "propose_hr48_xyz.pth")

    saved = torch.load(path, weights_only=True)
    assert list(saved)[:10] == ["init_shape", "init_cam", "smpl.faces_tensor", "smpl.v_template",
                                "smpl.shapedirs", "smpl.posedirs", "smpl.lbs_weights", "smpl.J_regressor",
                                "smpl.X_regressor", "smpl.parents"]
    if CHECKPOINT_KEYS.is_file():
        released = {e["key"]: tuple(e["shape"]) for e in json.loads(CHECKPOINT_KEYS.read_text())["entries"]}
        assert {k: tuple(v.shape) for k, v in saved.items()} == released

    model = propose_backend.load_model(checkpoint=path)
    torch.testing.assert_close(model.net.init_shape, torch.linspace(-1, 1, 10))
    torch.testing.assert_close(model.net.decF.weight, net.decF.weight)


def test_backbone_init_reports_what_loaded(tmp_path: Path) -> None:
    layout = BACKBONES["hrnet_tiny"]
    source = HRNetW48(layout)
    state = {f"module.backbone.{k}": v for k, v in source.state_dict().items()}
    state.pop("module.backbone.incre_modules.0.0.conv1.weight")
    state["module.backbone.final_layer.weight"] = torch.zeros(17, 8, 1, 1)  # a COCO pose head
    state["module.backbone.head.fc.weight"] = torch.zeros(3)
    path = tmp_path / "hrnet.pth"
    torch.save({"state_dict": state}, path)

    torch.manual_seed(1)
    target = HRNetW48(layout)
    report = init_backbone(target, path)
    assert report.not_in_file == ("incre_modules.0.0.conv1.weight",)
    assert report.wrong_shape == ("final_layer.weight",) and report.unused == ("head.fc.weight",)
    assert len(report.loaded) == len(target.state_dict()) - 2
    torch.testing.assert_close(target.conv1.weight, source.conv1.weight)
    assert "loaded" in report.summary() and "shape differs" in report.summary()

    torch.save({"other.weight": torch.zeros(2)}, path)
    with pytest.raises(BackboneInitError, match="no tensor"):
        init_backbone(target, path)


def test_per_tensor_clipping() -> None:
    big, small = torch.zeros(4, requires_grad=True), torch.zeros(3, requires_grad=True)
    big.grad, small.grad = torch.tensor([6.0, 8.0, 0.0, 0.0]), torch.tensor([0.6, 0.8, 0.0])
    clip_per_tensor([big, small], 5.0)
    assert big.grad.norm().item() == pytest.approx(5.0, rel=1e-5)
    assert small.grad.norm().item() == pytest.approx(1.0)


def test_cli_benchmark_mode(smoke_config: Config, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(smoke_config.to_dict()))
    assert main(["train", "--config", str(path), "--benchmark-steps", "2", "--batch-size", "4",
                 "--precision", "bf16", "--out-dir", str(tmp_path / "bench")]) == 0  # autocast on CPU too
    assert "images/s per GPU" in capsys.readouterr().out
    record = json.loads((tmp_path / "bench" / "benchmark.jsonl").read_text())
    assert record["batch_per_gpu"] == 4 and record["images_per_s_per_gpu"] > 0 and record["device"] == "CPU"
    assert record["precision"] == "bf16"
    assert not (tmp_path / "bench" / "checkpoints").exists()
