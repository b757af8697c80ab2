"""`propose-backend evaluate`: the HybrIK protocol (docs/training.md, Evaluation) on 3DPW or Human3.6M test files.

For every ground-truth box: crop (no augmentation), predict the posterior-mode mesh, regress the
17 Human3.6M joints from it, align both skeletons at the pelvis and score the 14 evaluation
joints: MPJPE and PA-MPJPE (after similarity Procrustes), in mm. On 3DPW also PVE, the mean
vertex error against the ground-truth SMPL mesh, both meshes root-aligned.

The ground-truth mesh is built with the same (neutral) body model as the prediction; the
official 3DPW numbers use the gender-specific SMPL models, so PVE here is close to, not equal
to, the published protocol. The optional flip test follows docs/model.md, Flip test.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from .. import posterior as post
from ..body import training_body
from ..body.layer import BodyLayer
from ..model import W48_LAYOUT, ProPoseNet, load_checkpoint_state, load_network_weights
from ..skeleton import CROP_SIZE, NUM_SMPL_JOINTS
from .config import load_config
from .datasets import FORMATS, SourceDataset
from .flip_test import flip_test_forward
from .metrics import H36M_EVAL_JOINTS, mpjpe, pa_mpjpe, pve, root_align
from .regressor import load_h36m_regressor
from .datasets.sample import CUBE_MM
from .skinning import SupervisedPoints

DATASETS = {"3dpw": "3dpw", "h36m": "h36m"}  # --dataset → annotation format
WITH_PVE = ("3dpw",)


@dataclass
class EvalResult:
    dataset: str
    checkpoint: str
    samples: int
    flip_test: bool
    mpjpe_mm: float
    pa_mpjpe_mm: float
    pve_mm: float | None

    def table(self) -> str:
        rows = [("MPJPE", self.mpjpe_mm), ("PA-MPJPE", self.pa_mpjpe_mm)]
        if self.pve_mm is not None:
            rows.append(("PVE", self.pve_mm))
        header = (f"{self.dataset}: {self.samples} samples, 14 H36M joints, "
                  f"flip test {'on' if self.flip_test else 'off'}")
        return "\n".join([header, f"{'metric':<10}{'mm':>10}"] + [f"{n:<10}{v:>10.1f}" for n, v in rows])


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def evaluate(dataset: str, checkpoint: Path, annotations: Path, images: Path, config: Path | None = None,
             body_model: Path | None = None, regressor: Path = Path("model_files/J_regressor_h36m.npy"),
             flip_test: bool = False, batch_size: int = 32, device: str = "auto", workers: int = 4,
             limit: int | None = None, json_path: Path | None = None) -> EvalResult:
    if dataset not in DATASETS:
        raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    target_device = _device(device)
    body = training_body(body_model)
    h36m = torch.from_numpy(load_h36m_regressor(regressor, body.num_vertices)).to(target_device)
    layout, input_size, kappa = W48_LAYOUT, CROP_SIZE, post.DEFAULT_KAPPA
    if config is not None:
        model = load_config(config).model
        layout, input_size, kappa = model.layout(), model.input_size, model.kappa
    net = ProPoseNet(layout)
    load_network_weights(net, load_checkpoint_state(checkpoint))
    net.to(target_device).eval()
    layer = BodyLayer(body).to(target_device)

    records = FORMATS[DATASETS[dataset]](annotations, images, False)[:limit]
    data = SourceDataset(dataset, records, input_size, augment=None, skinner=SupervisedPoints(body))
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=workers)
    errors: dict[str, list[torch.Tensor]] = {"mpjpe": [], "pa_mpjpe": [], "pve": []}
    subset = list(H36M_EVAL_JOINTS)
    for crops, targets, _, _ in loader:
        crops = crops.to(target_device)
        targets = {k: v.to(target_device) for k, v in targets.items()}
        out = flip_test_forward(net, crops) if flip_test else net(crops)
        posterior = post.analytical_posterior(out.prior_F, out.heatmap_joints, layer.rest_points(out.betas),
                                              kappa)
        vertices, _, _ = layer(out.betas, posterior.rotmats)
        predicted = root_align(torch.einsum("jv,bvc->bjc", h36m, vertices) * 1000.0)[:, subset]
        target = root_align(targets["target_xyz_17"].view(-1, 17, 3) * CUBE_MM)[:, subset]
        errors["mpjpe"].append(mpjpe(predicted, target).cpu())
        errors["pa_mpjpe"].append(pa_mpjpe(predicted, target).cpu())
        if dataset in WITH_PVE:
            gt_rotmats = targets["target_theta"].view(-1, NUM_SMPL_JOINTS, 3, 3)
            gt_vertices, _, _ = layer(targets["target_beta"], gt_rotmats)
            errors["pve"].append(pve(vertices * 1000.0, gt_vertices * 1000.0).cpu())

    mean = {name: float(torch.cat(values).mean()) if values else None for name, values in errors.items()}
    result = EvalResult(dataset=dataset, checkpoint=str(checkpoint), samples=len(data), flip_test=flip_test,
                        mpjpe_mm=mean["mpjpe"], pa_mpjpe_mm=mean["pa_mpjpe"], pve_mm=mean["pve"])
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({**asdict(result), "annotations": str(annotations),
                                         "joints": "14 of the Human3.6M regressor's 17, pelvis-aligned",
                                         "pve_reference": "ground-truth mesh from the evaluation body model"},
                                        indent=2))
    return result
