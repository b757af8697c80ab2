"""Ghost poses for instant mode: posterior samples that respect the joint limits.

Joint by joint down the tree, each joint is drawn from its closed-form conditional given its
already drawn parent: the anatomical prior carried by that parent's sampled rotation plus the
joint's bone evidence, a matrix-Fisher. Joint limits truncate that density; drawing candidates
and keeping the first one inside the limits is exact rejection sampling of the truncated
conditional. Only when none of the candidates is inside (evidence far beyond a limit) is the
best one clamped onto the limit, so no returned pose is outside the limits.

Where the picture is truly ambiguous, the ghosts say so: a single photo does not tell whether a
limb points towards the camera or away from it (both project to the same 2D bone). With a
probability that grows as BlazePose's visibility of the limb falls, a sample takes the mirror
image of the limb's depth; limits and the conditional density decide whether that alternative
survives. Ghosts are returned densest first by the posterior's own log density.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .. import fisher
from ..posterior import local_from_global, sample_log_density
from ..skeleton import NUM_SMPL_JOINTS, SMPL_PARENTS
from .instant import CALIBRATION_TEMPERATURE, InstantPosterior, joint_evidence

# Candidates drawn per joint and sample before the clamp fallback.
CANDIDATES = 8
# Limb joints whose one bone may be mirrored in depth, with that bone's point.
DEPTH_AMBIGUOUS: dict[int, int] = {1: 4, 2: 5, 4: 7, 5: 8, 16: 18, 17: 19, 18: 20, 19: 21}
# Chance that a sample mirrors a limb's depth: FLIP_SEEN for a clearly visible limb, rising to
# FLIP_HIDDEN for a landmark BlazePose marks invisible, scaled by how far the bone points out of
# the picture (a bone in the image plane looks the same either way).
FLIP_SEEN = 0.05
FLIP_HIDDEN = 0.35


def flip_probability(ip: InstantPosterior) -> Tensor:
    """(B, 24) chance that a ghost mirrors each limb bone's depth (0 for other joints)."""
    B = ip.observed.shape[0]
    prob = torch.zeros(B, NUM_SMPL_JOINTS, dtype=ip.observed.dtype)
    for joint, point in DEPTH_AMBIGUOUS.items():
        bone = ip.observed[:, point] - ip.observed[:, SMPL_PARENTS[point]]
        depth = bone[:, 2].abs() / bone.norm(dim=-1).clamp_min(1e-9)
        seen = ip.gain[:, point].clamp(0, 1)
        prob[:, joint] = (FLIP_HIDDEN + (FLIP_SEEN - FLIP_HIDDEN) * seen) * depth
    return prob


def _mirrored_evidence(ip: InstantPosterior) -> Tensor:
    """(B, 24, 3, 3) the evidence with every bone's depth (camera z) mirrored."""
    mirrored = ip.observed.clone()
    mirrored[..., 2] = -mirrored[..., 2]
    return joint_evidence(mirrored, ip.rest, ip.kappa, ip.anatomy) / CALIBRATION_TEMPERATURE


def sample_ghosts(ip: InstantPosterior, num_samples: int, generator: torch.Generator | None = None,
                  depth_flips: bool = True) -> tuple[Tensor, Tensor]:
    """Samples (B, S, 24, 3, 3) local rotations within the limits, and their log densities
    (B, S) relative to the mode (<= 0), densest first. The root stays at its mode."""
    anatomy = ip.anatomy
    post = ip.posterior
    B, S = post.F.shape[0], num_samples
    dtype = torch.float64
    prior = ip.prior_F.to(dtype)
    G = torch.zeros(B, S, NUM_SMPL_JOINTS, 3, 3, dtype=dtype)
    G[:, :, 0] = post.root.to(dtype)[:, None]
    evidence = ip.evidence.to(dtype)[:, None].expand(B, S, NUM_SMPL_JOINTS, 3, 3)
    if depth_flips:
        flips = torch.rand(B, S, NUM_SMPL_JOINTS, generator=generator, dtype=dtype) < flip_probability(ip)[:, None]
        evidence = torch.where(flips[..., None, None], _mirrored_evidence(ip)[:, None], evidence)
    else:
        flips = torch.zeros(B, S, NUM_SMPL_JOINTS, dtype=torch.bool)
    plain = ip.evidence.to(dtype)[:, None].expand(B, S, NUM_SMPL_JOINTS, 3, 3)
    for joint in range(1, NUM_SMPL_JOINTS):
        parent = G[:, :, SMPL_PARENTS[joint]]
        chosen, ok = _draw(parent, parent @ prior[joint] + evidence[:, :, joint], joint, anatomy, generator)
        retry = ~ok & flips[:, :, joint]  # a mirrored limb that cannot bend that way: keep the data's
        if retry.any():
            again, ok2 = _draw(parent[retry], parent[retry] @ prior[joint] + plain[:, :, joint][retry],
                               joint, anatomy, generator)
            chosen[retry] = again
            ok[retry] = ok2
        if (~ok).any():  # evidence beyond the limit: the clamp is the nearest allowed pose
            chosen[~ok] = parent[~ok] @ anatomy.clamp_joint(parent[~ok].mT @ chosen[~ok], joint)
        G[:, :, joint] = chosen
    samples = local_from_global(G)
    density = sample_log_density(post, samples)
    order = density.argsort(dim=1, descending=True)
    batch = torch.arange(B)[:, None]
    return samples[batch, order].to(post.F.dtype), density.gather(1, order)


def _draw(parent: Tensor, F: Tensor, joint: int, anatomy, generator: torch.Generator | None
          ) -> tuple[Tensor, Tensor]:  # noqa: ANN001
    """First of CANDIDATES draws from MF(F) whose local rotation is inside the joint's limits."""
    cand = fisher.sample(F, CANDIDATES, generator=generator)  # (..., K, 3, 3)
    inside = anatomy.within(parent[..., None, :, :].mT @ cand, joint)  # (..., K)
    first = torch.where(inside.any(-1), inside.float().argmax(-1), torch.zeros_like(inside[..., 0], dtype=torch.long))
    index = first[..., None, None, None].expand(*first.shape, 1, 3, 3)
    return cand.gather(-3, index)[..., 0, :, :], inside.any(-1)
