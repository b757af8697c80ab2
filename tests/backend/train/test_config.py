"""The YAML config format: shipped recipes parse, mistakes are named."""
from __future__ import annotations

from pathlib import Path

import pytest

from propose_backend.model import W48_LAYOUT
from propose_backend.train.config import ConfigError, load_config, parse_config


def test_released_recipe() -> None:
    config = load_config("smpl_hm_xyz")
    assert config.model.layout() == W48_LAYOUT and config.model.input_size == 256
    assert (config.model.num_samples, config.model.sample_sharpness, config.model.kappa) == (8, 3.0, 100.0)
    assert (config.optim.lr, config.optim.milestones, config.optim.gamma, config.optim.grad_clip) == (
        1e-3, (10, 20, 35), 0.1, 5.0)
    assert (config.train.epochs, config.train.batch_size, config.train.checkpoint_every) == (50, 16, 2)
    ratios = {s.format: s.ratio for s in config.data.sources}
    assert ratios == {"h36m": 0.3, "coco_wholebody": 0.1, "hp3d": 0.1, "3dpw": 0.2, "eft": 0.2, "agora": 0.1}
    loss = config.loss
    assert (loss.heatmap, loss.betas, loss.theta, loss.uv, loss.nll_prior, loss.nll_posterior) == (
        1.0, 1.0, 0.1, 1.0, 0.0, 0.0)
    augment = config.data.augment
    assert (augment.scale_factor, augment.rotation_factor, augment.flip, augment.half_body_prob,
            augment.half_body_min_joints, augment.color_factor) == (0.3, 30.0, True, 0.2, 5, 0.2)
    h36m = next(s for s in config.data.sources if s.format == "h36m")
    assert h36m.annotations.name == "Sample_5_train_Human36M_smpl_leaf_twist_protocol_2.json"


def test_smoke_config_uses_the_tiny_backbone_and_demo_body() -> None:
    config = load_config("smoke")
    assert config.body_model is None and config.model.layout().heatmap_depth == 16
    assert config.model.input_size == 64 and config.data.sources[0].format == "3dpw"


def test_layout_mapping_overrides_w48_fields() -> None:
    config = parse_config({"model": {"backbone": {"heatmap_depth": 32, "stage_modules": [1, 1, 1]}}})
    layout = config.model.layout()
    assert layout.heatmap_depth == 32 and layout.stage_modules == (1, 1, 1)
    assert layout.stage_channels == W48_LAYOUT.stage_channels


@pytest.mark.parametrize("values, message", [
    ({"train": {"epoch": 3}}, "unknown key.*epoch.*valid keys"),
    ({"train": {"epochs": "ten"}}, "train.epochs: expected an integer"),
    ({"model": {"backbone": "resnet"}}, "unknown backbone"),
    ({"model": {"input_size": 100}}, "multiple of 32"),
    ({"data": {"sources": {"h36m": {"ratio": 0.0, "annotations": "a", "images": "b"}}}}, "ratio must be positive"),
    ({"train": {"precision": "fp16"}}, "precision"),
])
def test_mistakes_are_named(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(values)


def test_missing_file_lists_the_shipped_configs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="smoke"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_dict_form_round_trips() -> None:
    for name in ("smpl_hm_xyz", "smoke"):
        config = load_config(name)
        assert parse_config(config.to_dict()) == config
