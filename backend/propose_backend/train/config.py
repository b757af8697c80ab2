"""The training configuration: one YAML file, read into typed, validated sections.

    model:   backbone layout, input size, posterior settings, optional initialisations
    body_model, h36m_regressor:  licensed files (`demo` = the procedural demo body)
    data:    root folder, sources with format / ratio / files, augmentation, loader workers
    loss:    weights of the terms of docs/training.md, Model and losses plus the optional matrix-Fisher NLLs
    optim:   Adam learning rate, MultiStep milestones (epochs), per-tensor gradient clipping
    train:   epochs, batch size per GPU, seed, checkpoints, logging, precision, device

Unknown keys are errors (a typo must not silently fall back to a default). Relative paths are
resolved against the working directory, except source files, which are relative to data.root.
`backend/propose_backend/configs/smpl_hm_xyz.yaml` is the released recipe, annotated.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..model import W48_LAYOUT, HRNetLayout

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

# Named backbones; `model.backbone` may also be a mapping of HRNetLayout fields.
BACKBONES: dict[str, HRNetLayout] = {
    "hrnet_w48": W48_LAYOUT,
    # A few hundred thousand parameters: for CPU smoke runs and tests at 64–96 px, not for accuracy.
    "hrnet_tiny": HRNetLayout(
        stem_channels=16, layer1_blocks=1, blocks_per_branch=1,
        stage_channels=((8, 16), (8, 16, 32), (8, 16, 32, 64)), stage_modules=(1, 1, 1),
        incre_planes=(8, 16, 32, 64), feature_dim=128, heatmap_depth=16,
    ),
}


class ConfigError(ValueError):
    """The YAML configuration is malformed; the message names the offending key."""


@dataclass(frozen=True)
class ModelConfig:
    backbone: str | dict = "hrnet_w48"
    input_size: int = 256  # crop side in pixels; the heatmap is input/4 on a side
    kappa: float = 100.0  # likelihood concentration of the analytical posterior
    num_samples: int = 8  # posterior samples per crop in the training forward (plus the mode)
    sample_sharpness: float = 3.0  # non-root posterior F is scaled by this before sampling
    mean_shape: Path | None = None  # h36m_mean_beta.npy → init_shape; None = zeros
    backbone_init: Path | None = None  # HRNet checkpoint to initialise `preact` from (key-matched)

    def layout(self) -> HRNetLayout:
        if isinstance(self.backbone, dict):
            values = {k: tuple(map(tuple, v)) if k == "stage_channels" else
                      tuple(v) if isinstance(v, list) else v for k, v in self.backbone.items()}
            return dataclasses.replace(W48_LAYOUT, **values)
        return BACKBONES[self.backbone]


@dataclass(frozen=True)
class SourceConfig:
    name: str
    format: str  # h36m | 3dpw | coco_wholebody | hp3d | eft | agora
    ratio: float
    annotations: Path  # relative to data.root
    images: Path  # relative to data.root
    generate: int = 0  # synthetic set only: render this many training samples if it is missing


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths of the released recipe (docs/training.md, Data)."""

    scale_factor: float = 0.3  # scale × clip(1 + f·N(0,1), 1 − f, 1 + f)
    rotation_factor: float = 30.0  # degrees: clip(f·N(0,1), ±2f)
    rotation_prob: float = 0.6
    flip: bool = True  # mirror with probability 0.5
    half_body_prob: float = 0.2
    half_body_min_joints: int = 5  # more visible joints than this are needed for half-body
    color_factor: float = 0.2  # per-channel gain U(1 − f, 1 + f)


@dataclass(frozen=True)
class DataConfig:
    root: Path = Path("data")
    sources: tuple[SourceConfig, ...] = ()
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    workers: int = 4  # loader processes per rank


@dataclass(frozen=True)
class LossConfig:
    heatmap: float = 1.0
    betas: float = 1.0
    theta: float = 0.1
    uv: float = 1.0
    nll_prior: float = 0.0  # matrix-Fisher NLL of the ground-truth rotations under the prior F
    nll_posterior: float = 0.0  # ... and under the posterior F


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3
    milestones: tuple[int, ...] = (10, 20, 35)  # epochs at which the learning rate drops
    gamma: float = 0.1
    grad_clip: float = 5.0  # per parameter tensor, as the reference clips


@dataclass(frozen=True)
class RunConfig:
    epochs: int = 50
    batch_size: int = 16  # per GPU (per process)
    seed: int = 42
    checkpoint_every: int = 2  # epochs
    log_every: int = 50  # steps
    out_dir: Path = Path("exp/smpl_hm_xyz")
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp32
    device: str = "auto"  # auto | cuda | cpu
    steps_per_epoch: int | None = None  # cap for smoke runs; None = the full epoch
    record_samples: bool = False  # write the sample keys each rank trained on (data audits)


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    body_model: Path | None = None  # None / "demo" = the procedural demo body
    h36m_regressor: Path | None = None  # J_regressor_h36m.npy (17×6890) for logs and export
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        """The YAML form (`parse_config(c.to_dict()) == c`), saved next to checkpoints."""
        values = _plain(dataclasses.asdict(self))
        values["data"]["sources"] = {s.pop("name"): s for s in values["data"]["sources"]}
        return values


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _convert(value: object, annotation: object, where: str) -> object:
    """Coerce a YAML value to a field's annotated type, or explain what was expected."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: unexpected value {value!r}")
    if dataclasses.is_dataclass(annotation):
        return _build(annotation, value, where)
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return value
    if annotation is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {annotation!r} at {where}")


def _build(cls: type, values: object, where: str) -> object:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}")
    return cls(**{k: _convert(v, hints[k], f"{where}.{k}" if where else k) for k, v in values.items()})


def _parse_sources(values: object) -> list[dict]:
    """`data.sources` is a mapping name → settings; the name doubles as the default format."""
    if not isinstance(values, dict) or not values:
        raise ConfigError("data.sources: expected a non-empty mapping of source name → settings")
    return [{"name": name, "format": name, **(settings or {})} for name, settings in values.items()]


def parse_config(values: dict) -> Config:
    values = dict(values or {})
    if values.get("body_model") == "demo":
        values["body_model"] = None
    data = dict(values.get("data") or {})
    if "sources" in data:
        data["sources"] = _parse_sources(data["sources"])
    values["data"] = data
    config = _build(Config, values, "")
    _validate(config)
    return config


def _validate(config: Config) -> None:
    model = config.model
    if isinstance(model.backbone, str) and model.backbone not in BACKBONES:
        raise ConfigError(f"model.backbone: unknown backbone {model.backbone!r}; choose one of "
                          f"{', '.join(BACKBONES)} or give a mapping of HRNet layout fields")
    try:
        layout = model.layout()
    except TypeError as exc:
        raise ConfigError(f"model.backbone: {exc}") from exc
    if model.input_size % 32:
        raise ConfigError(f"model.input_size must be a multiple of 32 (HRNet downsamples 32×), got {model.input_size}")
    if layout.heatmap_depth < 2 or model.num_samples < 1:
        raise ConfigError("model: heatmap_depth must be ≥ 2 and num_samples ≥ 1")
    for source in config.data.sources:  # the formats are the loaders' to check (datasets.FORMATS)
        if source.ratio < 0:
            raise ConfigError(f"data.sources.{source.name}.ratio must be ≥ 0")
    if config.data.sources and sum(s.ratio for s in config.data.sources) <= 0:
        raise ConfigError("data.sources: at least one ratio must be positive")
    if config.train.precision not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"train.precision: expected auto, bf16 or fp32, got {config.train.precision!r}")
    if config.train.device not in ("auto", "cuda", "cpu"):
        raise ConfigError(f"train.device: expected auto, cuda or cpu, got {config.train.device!r}")
    if config.train.batch_size < 1 or config.train.epochs < 1 or config.train.checkpoint_every < 1:
        raise ConfigError("train: batch_size, epochs and checkpoint_every must be ≥ 1")


def load_config(path: str | Path) -> Config:
    """Reads a YAML config; a bare name such as `smoke` means the shipped configs/<name>.yaml."""
    path = Path(path)
    if not path.is_file() and (CONFIG_DIR / f"{path.name}.yaml").is_file() and path.suffix == "":
        path = CONFIG_DIR / f"{path.name}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(f"config file not found: {path} (shipped configs: {shipped})")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return parse_config(values)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
