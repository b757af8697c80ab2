"""One annotation source as a dataset: its records, image reading and per-sample augmentation."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..config import AugmentConfig
from ..skinning import SupervisedPoints
from .augment import draw_transform
from .files import DatasetError
from .record import NUM_EXTRA, PersonRecord, project
from .sample import axis_angle_to_matrix, build_sample

Item = tuple[Tensor, dict[str, Tensor], str, Tensor]  # (image, targets, image path, crop box)


class SourceDataset(Dataset):
    """Records of one source. `augment=None` gives plain evaluation crops.

    `skinner` poses the 11 extra points of records whose source has SMPL fits but no annotated
    surface points (H36M, 3DPW, AGORA), as the reference does at load time.
    """

    def __init__(self, name: str, records: Sequence[PersonRecord], input_size: int,
                 augment: AugmentConfig | None = None, skinner: SupervisedPoints | None = None) -> None:
        if not records:
            raise DatasetError(f"{name}: the annotation file holds no usable person; check that it "
                               "is the right file for this source.")
        if skinner is None and any(r.extra_from_smpl for r in records):
            raise ValueError(f"{name}: a body model is needed to place the 11 extra points")
        self.name = name
        self.records = list(records)
        self.input_size = input_size
        self.augment = augment
        self.skinner = skinner

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Item:
        return self.load(index, rng=None)

    def load(self, index: int, rng: np.random.Generator | None) -> Item:
        """The sample at `index`; augmented with `rng` when the dataset has an augmentation."""
        record = self.records[index]
        if record.extra_from_smpl:
            record = self._with_posed_extra_points(record)
        image = read_rgb(record, self.name)
        transform = draw_transform(record.bbox, record.enlarge, record.uvd29[:, :2],
                                   record.uvd29_vis[:, 0] > 0, image.shape[1], self.augment, rng)
        crop, targets = build_sample(record, image, transform, self.input_size)
        half = transform.size / 2
        box = torch.tensor([transform.center[0] - half, transform.center[1] - half,
                            transform.center[0] + half, transform.center[1] + half])
        return crop, targets, str(record.image), box

    @torch.no_grad()
    def _with_posed_extra_points(self, record: PersonRecord) -> PersonRecord:
        rotmats = torch.from_numpy(axis_angle_to_matrix(record.theta))[None]
        betas = torch.as_tensor(record.beta, dtype=torch.float32)[None]
        points = self.skinner(betas, rotmats)[0, -NUM_EXTRA:].numpy().astype(np.float64) * 1000.0
        xyz11 = (points + record.xyz29[0]).astype(np.float32)
        copy = PersonRecord(**vars(record))
        copy.xyz11, copy.xyz11_vis = xyz11, np.ones_like(xyz11)
        copy.uvd11 = project(xyz11, record.intrinsics(), float(record.xyz29[0, 2]))
        copy.uvd11_vis = np.ones_like(xyz11)
        return copy


def read_rgb(record: PersonRecord, source: str) -> np.ndarray:
    image = cv2.imread(str(record.image), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{source}: cannot read image {record.image} (missing or not an image). "
                           "Check data.sources.<name>.images in the config.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
