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

from .. import fisher, streams
from ..geometry import local_from_world
from ..posterior import sample_log_density
from ..skeleton import NUM_SMPL_JOINTS, SMPL_PARENTS
from ..anatomy import Anatomy
from .bone_posterior import CALIBRATION_TEMPERATURE, InstantPosterior, joint_evidence

# Candidates drawn per joint and sample: a first round, then a second for those still outside,
# before the clamp fallback.
FIRST_CANDIDATES = 2
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
    (B, S) relative to the mode (<= 0), densest first. The root stays at its mode. `generator`: a
    torch generator, or streams.RowStreams (one stream per row: a row's ghosts are then the same
    in any batch)."""
    anatomy = ip.anatomy
    post = ip.posterior
    B, S = post.F.shape[0], num_samples
    dtype = torch.float64
    prior = ip.prior_F.to(dtype)
    G = torch.zeros(B, S, NUM_SMPL_JOINTS, 3, 3, dtype=dtype)
    G[:, :, 0] = post.root.to(dtype)[:, None]
    evidence = ip.evidence.to(dtype)[:, None].expand(B, S, NUM_SMPL_JOINTS, 3, 3)
    if depth_flips:
        flips = streams.uniform((B, S, NUM_SMPL_JOINTS), generator, dtype) < flip_probability(ip)[:, None]
        evidence = torch.where(flips[..., None, None], _mirrored_evidence(ip)[:, None], evidence)
    else:
        flips = torch.zeros(B, S, NUM_SMPL_JOINTS, dtype=torch.bool)
    plain = ip.evidence.to(dtype)[:, None].expand(B, S, NUM_SMPL_JOINTS, 3, 3)
    for level in _LEVELS:  # joints of one depth in the tree are drawn together
        parents = [SMPL_PARENTS[j] for j in level]
        joint = torch.tensor(level).expand(B, S, len(level)).reshape(-1)
        parent = G[:, :, parents].reshape(-1, 3, 3)
        flipped = flips[:, :, level].reshape(-1)
        drawing = streams.fit(generator, len(joint))  # per-row streams: each element its row's
        chosen, ok = _draw(parent, parent @ prior[joint] + evidence[:, :, level].reshape(-1, 3, 3),
                           joint, anatomy, drawing)
        retry = ~ok & flipped  # a mirrored limb that cannot bend that way: keep the data's
        if retry.any():
            again, ok2 = _draw(parent[retry], parent[retry] @ prior[joint[retry]]
                               + plain[:, :, level].reshape(-1, 3, 3)[retry], joint[retry], anatomy,
                               streams.select(drawing, retry))
            chosen[retry] = again
            ok[retry] = ok2
        if (~ok).any():  # evidence beyond the limit: the clamp is the nearest allowed pose
            chosen[~ok] = parent[~ok] @ anatomy.clamp_joint(parent[~ok].mT @ chosen[~ok], joint[~ok])
        G[:, :, level] = chosen.reshape(B, S, len(level), 3, 3)
    samples = local_from_world(G)
    density = sample_log_density(post, samples)
    order = density.argsort(dim=1, descending=True)
    batch = torch.arange(B)[:, None]
    return samples[batch, order].to(post.F.dtype), density.gather(1, order)


def _draw(parent: Tensor, F: Tensor, joint: Tensor, anatomy: Anatomy, generator: torch.Generator | None
          ) -> tuple[Tensor, Tensor]:
    """Rows (R, 3, 3) of parent rotations, conditionals F and joint indices (R,): a draw from each
    MF(F) whose local rotation is inside its joint's limits, and whether one was found.

    A round of FIRST_CANDIDATES, then CANDIDATES more for the rows still outside: most joints
    accept at once, so this costs little more than one draw.
    """
    chosen, ok = _first_inside(parent, F, joint, anatomy, generator, FIRST_CANDIDATES)
    if (~ok).any():
        again, ok2 = _first_inside(parent[~ok], F[~ok], joint[~ok], anatomy, streams.select(generator, ~ok),
                                   CANDIDATES)
        chosen[~ok] = again
        ok[~ok] = ok2
    return chosen, ok


def _first_inside(parent: Tensor, F: Tensor, joint: Tensor, anatomy: Anatomy,
                  generator: torch.Generator | None, count: int) -> tuple[Tensor, Tensor]:
    cand = fisher.sample(F, count, generator=generator)  # (R, K, 3, 3)
    inside = anatomy.within(parent[:, None].mT @ cand, joint[:, None])  # (R, K)
    first = torch.where(inside.any(-1), inside.float().argmax(-1), torch.zeros_like(inside[..., 0], dtype=torch.long))
    return cand[torch.arange(cand.shape[0]), first], inside.any(-1)


def _tree_levels() -> list[list[int]]:
    depth = [0] * NUM_SMPL_JOINTS
    for j in range(1, NUM_SMPL_JOINTS):
        depth[j] = depth[SMPL_PARENTS[j]] + 1
    return [[j for j in range(1, NUM_SMPL_JOINTS) if depth[j] == d] for d in range(1, max(depth) + 1)]


_LEVELS = _tree_levels()
