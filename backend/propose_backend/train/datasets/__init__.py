"""Training and evaluation data in the HybrIK-style formats of the released recipe (docs/training.md, Data).

    load_source(...)          one source → SourceDataset (records, images, augmentation)
    build_training_set(...)   all configured sources → MixedDataset mixed by ratios

Every item is (image (3, S, S), target dict of docs/training.md, Data, image path, crop box).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..config import AugmentConfig, DataConfig, SourceConfig
from ..skinning import SupervisedPoints
from . import agora, coco_wholebody, eft, h36m, hp3d, pw3d
from .files import DatasetError
from .mixing import EpochSampler, MixedDataset, SampleKey
from .record import PersonRecord
from .source import Item, SourceDataset

RecordLoader = Callable[[Path, Path, bool], list[PersonRecord]]

FORMATS: dict[str, RecordLoader] = {
    "h36m": h36m.load_records,
    "3dpw": pw3d.load_records,
    "coco_wholebody": coco_wholebody.load_records,
    "hp3d": hp3d.load_records,
    "eft": eft.load_records,
    "agora": agora.load_records,
}


def check_formats(sources: tuple[SourceConfig, ...] | list[SourceConfig]) -> None:
    """Raise DatasetError naming the first source whose format has no loader."""
    for source in sources:
        if source.format not in FORMATS:
            raise DatasetError(f"data.sources.{source.name}.format: unknown format {source.format!r}; "
                               f"choose one of {', '.join(FORMATS)}")


def load_source(source: SourceConfig, root: Path, input_size: int, augment: AugmentConfig | None,
                skinner: SupervisedPoints | None, train: bool = True) -> SourceDataset:
    check_formats([source])
    records = FORMATS[source.format](root / source.annotations, root / source.images, train)
    return SourceDataset(source.name, records, input_size, augment, skinner)


def build_training_set(data: DataConfig, input_size: int, skinner: SupervisedPoints,
                       seed: int) -> MixedDataset:
    """Every source with a positive ratio, augmented, mixed per sample by the ratios."""
    check_formats(data.sources)  # before any source is read: a typo must not wait for a long load
    used = [source for source in data.sources if source.ratio > 0]
    if not used:
        raise DatasetError("no data source with a positive ratio in data.sources")
    datasets = [load_source(s, data.root, input_size, data.augment, skinner) for s in used]
    return MixedDataset(datasets, [s.ratio for s in used], seed)


__all__ = [
    "FORMATS", "DatasetError", "EpochSampler", "Item", "MixedDataset", "PersonRecord",
    "SampleKey", "SourceDataset", "build_training_set", "check_formats", "load_source",
]
