"""Instant mode: BlazePose bone directions through the analytical matrix-Fisher posterior.

Without the licence-gated ProPose checkpoint there is no learned prior, so every joint gets a
weak rest-pose prior F = c I (on its rotation relative to the root, as in the network), and each
observed bone adds kappa_c d_c t_c^T with kappa_c = (length_c / KEYPOINT_NOISE_M)^2 * weight_c^2,
where weight is the landmark visibility (x 0.5 for derived points). A limb BlazePose cannot see therefore keeps
the broad prior and shows up as uncertain; twist stays uncertain unless several points pin it
(root, spine3, head, wrists via hand points, ankles via toe + heel), and short bones count less
than long ones because landmark noise tilts them more.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..posterior import Posterior, analytical_posterior, child_matrix
from .mapping import INSTANT_PARENTS, NUM_INSTANT_POINTS, SkeletonObservation, instant_children

# BlazePose's typical 3D landmark error, metres (its world landmarks are off by several cm).
# A bone's direction is only as precise as its length allows: kappa_c = (length / noise)^2, a
# von Mises-Fisher with angular spread noise / length, so a 40 cm shin counts far more than a
# 7 cm eye-to-ear offset. 5 cm ranked errors best on the synthetic benchmark (2-5 cm tried).
KEYPOINT_NOISE_M = 0.05
# Concentration of the rest-pose prior. With the sampling sharpness of 3 an unobserved joint has
# F = 3 I: an expected deviation of about 40 degrees ("we do not know"); a joint whose bone is
# seen keeps only its twist from the prior (about 21 degrees); multi-child joints drop to a few.
REST_PRIOR_CONCENTRATION = 1.0
# The root's prior only breaks ties; its orientation comes from the hips and the spine.
ROOT_PRIOR_CONCENTRATION = 0.1


def rest_prior(batch: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """(B, 24, 3, 3) weak prior around the rest pose (every joint aligned with the root)."""
    F = REST_PRIOR_CONCENTRATION * torch.eye(3, dtype=dtype).expand(batch, 24, 3, 3).clone()
    F[:, 0] *= ROOT_PRIOR_CONCENTRATION / REST_PRIOR_CONCENTRATION
    return F


def bone_kappa(rest_points: Tensor, noise_m: float = KEYPOINT_NOISE_M) -> Tensor:
    """(B, 43) concentration of each bone direction from its rest length and the landmark noise."""
    parents = [max(p, 0) for p in INSTANT_PARENTS]
    length = (rest_points - rest_points[:, parents]).norm(dim=-1)
    return (length / noise_m) ** 2


def instant_posterior(observation: SkeletonObservation, rest_points: np.ndarray | Tensor,
                      noise_m: float = KEYPOINT_NOISE_M) -> Posterior:
    """Posterior over the 24 SMPL joint rotations from an instant-mode skeleton observation.

    rest_points: (B, 43, 3) rest skeleton in SMPL's frame (see mapping.instant_rest_points). The
    observation is in camera axes, so the root rotation carries the body into the camera frame.
    Each bone's concentration is bone_kappa() times the squared landmark weight (visibility).
    """
    observed = torch.as_tensor(observation.points, dtype=torch.float64)
    weight = torch.as_tensor(observation.weight, dtype=torch.float64)
    rest = torch.as_tensor(np.asarray(rest_points), dtype=torch.float64)
    children = child_matrix(instant_children, NUM_INSTANT_POINTS, dtype=torch.float64)
    kappa = bone_kappa(rest, noise_m) * weight ** 2
    return analytical_posterior(rest_prior(observed.shape[0]), observed, rest, kappa=kappa,
                                children=children, parents=INSTANT_PARENTS)


def solve_translation(points: np.ndarray, pixels: np.ndarray, weight: np.ndarray, focal: float,
                      principal: tuple[float, float]) -> np.ndarray:
    """Camera translation T (N, 3) so that points + T project onto pixels (weighted least squares).

    points: (N, K, 3) root-relative metric points in camera axes; pixels: (N, K, 2). From
    u = f (X + Tx) / (Z + Tz) + cx:  f Tx - (u - cx) Tz = (u - cx) Z - f X, and likewise for y.
    """
    p = np.asarray(points, dtype=np.float64)
    uv = np.asarray(pixels, dtype=np.float64) - np.asarray(principal, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    n, k = p.shape[:2]
    A = np.zeros((n, 2 * k, 3))
    b = np.zeros((n, 2 * k))
    for axis in range(2):
        rows = slice(axis, 2 * k, 2)
        A[:, rows, axis] = focal
        A[:, rows, 2] = -uv[..., axis]
        b[:, rows] = uv[..., axis] * p[..., 2] - focal * p[..., axis]
    sw = np.sqrt(np.repeat(w, 2, axis=1))
    A, b = A * sw[..., None], b * sw
    ata = A.transpose(0, 2, 1) @ A + 1e-9 * np.eye(3)
    return np.linalg.solve(ata, (A.transpose(0, 2, 1) @ b[..., None]))[..., 0]
