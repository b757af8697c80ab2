"""Ghost hands for all of a person's hands at once: `sample_hand`'s draws, each joint level of every
hand computed together.

`sample_hand` draws one hand's three joint levels in turn (each level's candidates depend on the
level above), and a frame's ghost hands are drawn hand after hand from one generator, so the work
is six rounds of many tiny 3x3 operations per frame, whose number, not their size, is the cost.
Here the random numbers every level's draw takes are drawn ahead, in the order the hand-by-hand
draws take them (`fisher.first_noise`), and each level's arithmetic then runs once for all hands:
the same ghosts, the generator left where the hand-by-hand draws leave it. A draw needs more than
its first round of proposals only rarely (see fisher's `_MAX_ROUNDS`); then the numbers drawn
ahead are not the ones it would take, so the hands are drawn one after the other instead, from
the same start.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .. import fisher
from ..skeleton import NUM_FINGER_JOINTS
from .fingers import HandAnatomy, HandPosterior, sample_hand

CANDIDATES = 6  # draws per joint, as sample_hand's default


def sample_hands(anatomy: HandAnatomy, post: HandPosterior, wrist: Tensor, num_samples: int,
                 generator: torch.Generator | None = None) -> Tensor:
    """(B, S, H, 15, 3, 3) local rotations of ghost hands of the hands of `post` (fields with a
    hands axis, (B, H, 15, 3, 3), sides 0..H-1 as hands_posterior gives them) under wrists
    (B, H, 3, 3): what sample_hand gives for each hand in turn, from the same generator."""
    H = wrist.shape[1]
    if isinstance(generator, torch.Generator):  # anything else (None, per-row streams): hand by hand
        start = generator.get_state()
        count = wrist.shape[0] * num_samples * 5
        noise = [[fisher.first_noise(count, CANDIDATES, generator) for _ in range(3)] for _ in range(H)]
        spare = torch.Generator()  # takes any draw past a first round: then the numbers drawn ahead were wrong
        unused = spare.get_state()
        drawn = _levels_together(anatomy, post, wrist, num_samples, noise, spare)
        if torch.equal(spare.get_state(), unused):
            return drawn
        generator.set_state(start)
    return torch.stack([sample_hand(anatomy, h, _hand(post, h), wrist[:, h], num_samples, generator, CANDIDATES)
                        for h in range(H)], dim=2)


def _hand(post: HandPosterior, h: int) -> HandPosterior:
    return HandPosterior(post.F[:, h], post.world[:, h], post.local[:, h], post.evidence[:, h], post.prior_F[:, h])


def _levels_together(anatomy: HandAnatomy, post: HandPosterior, wrist: Tensor, num_samples: int,
                     noise: list[list[tuple[Tensor, Tensor]]], spare: torch.Generator) -> Tensor:
    """sample_hand's steps for all hands, each level at once; noise[h][level] the numbers that
    hand's level draws (first rounds), later rounds from `spare`."""
    dtype = torch.float64
    B, H = wrist.shape[:2]
    S, K = num_samples, CANDIDATES
    sides = tuple(range(H))
    G = torch.zeros(B, S, H, NUM_FINGER_JOINTS, 3, 3, dtype=dtype)
    local = torch.zeros_like(G)
    for level in range(3):
        joints = [3 * f + level for f in range(5)]
        parent = wrist.to(dtype)[:, None, :, None].expand(B, S, H, 5, 3, 3) if level == 0 \
            else G[:, :, :, [j - 1 for j in joints]]
        F_cond = parent @ post.prior_F[:, None, :, joints] + post.evidence[:, None, :, joints]
        # each hand's numbers laid out as its rows are: (B, S, joint) within a hand, hands side by side
        normal = torch.stack([noise[h][level][0].unflatten(0, (B, S, 5)) for h in range(H)], dim=2)
        uniform = torch.stack([noise[h][level][1].unflatten(0, (B, S, 5)) for h in range(H)], dim=2)
        cand = fisher.sample(F_cond.reshape(-1, 3, 3), K, generator=spare,
                             noise=(normal.flatten(0, 3), uniform.flatten(0, 3)))
        rel = parent[..., None, :, :].mT @ cand.reshape(B, S, H, 5, K, 3, 3)  # local candidates
        by_draw = rel.permute(0, 1, 4, 2, 3, 5, 6)  # (B, S, K, H, 5, 3, 3): the joint frames' layout
        comp = anatomy.components(by_draw, sides, joints)
        inside = anatomy.within_components(comp, sides, joints).permute(0, 1, 3, 4, 2)  # (B, S, H, 5, K)
        comp = comp.permute(0, 1, 3, 4, 2, 5)  # (B, S, H, 5, K, 3)
        first = torch.where(inside.any(-1), inside.float().argmax(-1), torch.zeros_like(inside[..., 0], dtype=torch.long))
        pick_comp = torch.gather(comp, 4, first[..., None, None].expand(B, S, H, 5, 1, 3))[..., 0, :]
        for h in range(H):  # hand by hand: the clamp's Rodrigues then runs on the same rows as in sample_hand
            local[:, :, h, joints] = anatomy.clamp_components(pick_comp[:, :, h], h, joints)
        G[:, :, :, joints] = parent @ local[:, :, :, joints]
    return local
