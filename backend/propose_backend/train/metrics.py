"""Accuracy metrics of the HybrIK evaluation protocol (docs/training.md, Evaluation), in the units of the inputs.

All functions take batched point sets (B, N, 3) and return one value per sample (B,), so a
caller can average over a dataset or report per-sample errors.
"""
from __future__ import annotations

import torch
from torch import Tensor

# The 14 Human3.6M joints evaluated (indices into the 17-joint order of H36M_JOINT_NAMES):
# ankles, knees, hips, wrists, elbows, shoulders, neck, head (no pelvis, torso or nose).
H36M_EVAL_JOINTS: tuple[int, ...] = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)
H36M_PELVIS = 0


def root_align(points: Tensor, root: int = H36M_PELVIS) -> Tensor:
    return points - points[:, root:root + 1]


def mpjpe(predicted: Tensor, target: Tensor) -> Tensor:
    """Mean per-joint position error: mean Euclidean distance over the points."""
    return (predicted - target).norm(dim=-1).mean(dim=-1)


def similarity_procrustes(predicted: Tensor, target: Tensor) -> Tensor:
    """`predicted` after the scale, rotation and translation that best fit it to `target`.

    Least squares over similarity transforms (Umeyama): with centred point sets X, Y and the
    SVD XᵀY = U S Vᵀ, the rotation is U D Vᵀ (D = diag(1, 1, ±1) excludes reflections) and the
    scale tr(S D) / ‖X‖². Computed in float64 for stability.
    """
    x, y = predicted.double(), target.double()
    mu_x, mu_y = x.mean(dim=1, keepdim=True), y.mean(dim=1, keepdim=True)
    x0, y0 = x - mu_x, y - mu_y
    U, S, Vh = torch.linalg.svd(x0.mT @ y0)
    sign = torch.sign(torch.linalg.det(U @ Vh))
    D = torch.ones_like(S)
    D[:, -1] = torch.where(sign == 0, torch.ones_like(sign), sign)
    rotation = (U * D[:, None, :]) @ Vh
    scale = (S * D).sum(dim=-1) / (x0 ** 2).sum(dim=(1, 2)).clamp(min=1e-12)
    aligned = scale[:, None, None] * (x0 @ rotation) + mu_y
    return aligned.to(predicted.dtype)


def pa_mpjpe(predicted: Tensor, target: Tensor) -> Tensor:
    """MPJPE after similarity Procrustes alignment (pose error without scale and global rotation)."""
    return mpjpe(similarity_procrustes(predicted, target), target)


def pve(predicted_vertices: Tensor, target_vertices: Tensor) -> Tensor:
    """Per-vertex error: mean Euclidean distance over the mesh vertices (inputs root-aligned)."""
    return mpjpe(predicted_vertices, target_vertices)
