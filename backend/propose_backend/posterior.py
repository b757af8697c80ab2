"""The analytical matrix-Fisher posterior over SMPL joint rotations (ProPose, docs/model.md, The posterior).

Each joint has a learned prior F_j. Every observed bone c that hangs off the joint adds a
von Mises-Fisher likelihood exp(kappa_c d_c^T R t_c), where d_c is the observed unit bone
direction and t_c the rest (template) direction. Because d^T R t = tr((d t^T)^T R), the
posterior is matrix-Fisher again: F_post = F_prior + sum_c kappa_c d_c t_c^T.

Order of computation, as in the reference: solve the root first from its three children, rotate
the template by the root, then solve every other joint independently (no chain) for its rotation
relative to the root, and finally convert to SMPL's parent-relative (local) rotations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from . import fisher
from .geometry import local_from_world, world_from_local
from .skeleton import NUM_POINTS, NUM_SMPL_JOINTS, PARENTS, SMPL_PARENTS, children_of

DEFAULT_KAPPA = 100.0
# The reference samples from 3 * F_post (non-root joints) to sharpen the samples it trains on;
# we sample the same way and compute uncertainty_deg from the same matrices so colours and
# ghost poses tell one story.
SAMPLE_SHARPNESS = 3.0


@dataclass
class Posterior:
    """Posterior of one batch. `F[:, 0]` is the root; `F[:, j>0]` are root-relative."""

    F: Tensor  # (B, 24, 3, 3) posterior matrix-Fisher parameters
    root: Tensor  # (B, 3, 3) global orientation G_0 (posterior mode)
    global_rotmats: Tensor  # (B, 24, 3, 3) world rotation of each joint, G_j = R_j G_0
    rotmats: Tensor  # (B, 24, 3, 3) SMPL local rotations L_j = G_parent^T G_j


def child_matrix(
    children: Callable[[int], tuple[int, ...]] = children_of,
    num_points: int = NUM_POINTS,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(24, N) indicator: which observed points constrain which joint (default: the roles of docs/model.md, The posterior)."""
    C = torch.zeros(NUM_SMPL_JOINTS, num_points, dtype=dtype, device=device)
    for joint in range(NUM_SMPL_JOINTS):
        for child in children(joint):
            C[joint, child] = 1.0
    return C


def bone_directions(points: Tensor, parents: tuple[int, ...] = PARENTS) -> Tensor:
    """Unit direction from each point's parent to the point, (B, N, 3); the root's is zero."""
    idx = torch.tensor([max(p, 0) for p in parents], device=points.device)
    diff = points - points[:, idx]
    return diff / (diff.norm(dim=-1, keepdim=True) + 1e-8)


def analytical_posterior(
    prior_F: Tensor,
    observed: Tensor,
    rest: Tensor,
    kappa: float | Tensor = DEFAULT_KAPPA,
    children: Tensor | None = None,
    parents: tuple[int, ...] = PARENTS,
) -> Posterior:
    """Fuse the learned prior with observed bone directions.

    prior_F: (B, 24, 3, 3). observed, rest: (B, N, 3) points, N = 35 for the network
    (observed root-relative, rest any origin). kappa: a scalar or per-point (B, N) concentration
    (e.g. scaled by keypoint visibility). children: (24, N) weights of which points constrain
    which joint, and parents: each point's parent (defaults: the released model's skeleton).
    """
    B, N = observed.shape[:2]
    dtype = prior_F.dtype
    if children is None:
        children = child_matrix(num_points=N, device=prior_F.device, dtype=dtype)
    d = bone_directions(observed.to(dtype), parents)
    t = bone_directions(rest.to(dtype), parents)
    k = torch.as_tensor(kappa, dtype=dtype, device=prior_F.device)
    k = k.expand(B, N) if k.dim() < 2 else k
    dk = d * k[..., None]
    # root: its children in the un-rotated template
    root_M = torch.einsum("c,bci,bck->bik", children[0], dk, t)
    F_root = prior_F[:, 0] + root_M
    G0 = fisher.mode(F_root)
    # everything else: template rotated by the root, all joints solved in parallel
    t_rot = t @ G0.transpose(-1, -2)
    M = torch.einsum("jc,bci,bck->bjik", children[1:], dk, t_rot)
    F_rest = prior_F[:, 1:] + M
    R_rel = fisher.mode(F_rest)
    F = torch.cat([F_root[:, None], F_rest], dim=1)
    G = torch.cat([G0[:, None], R_rel @ G0[:, None]], dim=1)
    return Posterior(F=F, root=G0, global_rotmats=G, rotmats=local_from_world(G))


def _sample_global(posterior: Posterior, num_samples: int, generator: torch.Generator | None,
                   sharpness: float) -> Tensor:
    """(B, S, 24, 3, 3) world rotations G_j = R_j G_0 of posterior samples."""
    R_rel = fisher.sample(posterior.F[:, 1:] * sharpness, num_samples, generator=generator)
    R_rel = R_rel.transpose(1, 2)  # (B, 23, S, 3, 3) -> (B, S, 23, 3, 3)
    G0 = posterior.root[:, None, None]
    return torch.cat([G0.expand(-1, num_samples, 1, 3, 3), R_rel @ G0], dim=2)


def uncertainty_deg(posterior: Posterior, sharpness: float = SAMPLE_SHARPNESS) -> Tensor:
    """(B, 24) expected angle between a sample and the mode, the number bone colours show."""
    return fisher.expected_angle_deg(posterior.F * sharpness)


def sample_log_density(posterior: Posterior, samples: Tensor,
                       sharpness: float = SAMPLE_SHARPNESS) -> Tensor:
    """(B, S) unnormalised log density of each sample relative to the posterior mode (≤ 0, 0 = mode).

    Σ over non-root joints of tr(F̃ᵀR̃) − tr(F̃ᵀR̃_mode), with R̃ = G_j G_0ᵀ the root-relative rotation
    and F̃ = sharpness·F the matrices the samples were drawn from. The root is not sampled.
    Computed in fp64: it is a small difference of two sums of hundreds of large terms.
    """
    return _log_density_of_global(posterior, world_from_local(samples.double()), sharpness)


def _log_density_of_global(posterior: Posterior, world: Tensor, sharpness: float) -> Tensor:
    """sample_log_density for samples given as world rotations (B, S, 24, 3, 3)."""
    F = posterior.F[:, None, 1:].double() * sharpness  # (B, 1, 23, 3, 3)
    world = world.double()
    relative = world[:, :, 1:] @ world[:, :, :1].transpose(-1, -2)
    mode_world = posterior.global_rotmats.double()
    mode = mode_world[:, None, 1:] @ mode_world[:, None, :1].transpose(-1, -2)
    return ((F * relative).sum(dim=(-1, -2)) - (F * mode).sum(dim=(-1, -2))).sum(dim=-1).float()


def sorted_samples(posterior: Posterior, num_samples: int,
                   generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Samples (B, S, 24, 3, 3) and their log densities (B, S), densest first (ghost order).

    S = 0 gives empty arrays of those shapes, so callers need no branch for "no samples".
    """
    if num_samples == 0:
        rotmats = posterior.rotmats
        return rotmats.new_zeros(rotmats.shape[0], 0, *rotmats.shape[1:]), rotmats.new_zeros(rotmats.shape[0], 0)
    world = _sample_global(posterior, num_samples, generator, SAMPLE_SHARPNESS)
    samples = local_from_world(world)
    density = _log_density_of_global(posterior, world, SAMPLE_SHARPNESS)
    order = density.argsort(dim=1, descending=True)
    batch = torch.arange(samples.shape[0], device=samples.device)[:, None]
    return samples[batch, order], density.gather(1, order)
