"""Finger posteriors: 15 joints per hand, each a matrix-Fisher in closed form, as for the body.

Every finger joint's local rotation (relative to its parent: the wrist for a finger's first
joint, else the previous joint) is split into flexion about the finger's hinge axis, abduction
(sideways, in the palm's plane) and twist about the bone, like the body's joints (instant/
anatomy.py). Each has anatomical limits and a relaxed value, measured from a flat hand; the rest
hand's own curl is subtracted so they apply to rotations relative to the body's rest hand. The
prior is one matrix-Fisher per joint around the relaxed pose (spread: a third of each swing
range, a quarter of the twist range), so prior x the von Mises-Fisher likelihood of the observed
bone (kappa d tᵀ on the joint's world rotation) stays matrix-Fisher. Joints are solved down each
finger, a joint's prior carried through its parent's posterior (their covariances add), exactly
as instant mode solves the body; the mode is clamped into the limits. An unseen hand has no
evidence: its fingers keep the relaxed pose with the prior's large spread. The stated spread of a
seen hand is tempered by how curled it looks (curl_temperature), where the landmarker errs most.

Ranges restated from hand range-of-motion tables (MCP flexion ~90°, PIP ~110°, DIP ~80°, small
PIP/DIP side play, thumb CMC a saddle with ~40° in both axes); sources in docs/hands.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .. import fisher
from ..anatomy import _components, _compose, fisher_from_precision, precision_from_fisher
from ..posterior import SAMPLE_SHARPNESS
from ..skeleton import FINGER_BONE_LANDMARKS, NUM_FINGER_JOINTS, THUMB_FLEX_TURN_DEG, THUMB_HINGE_JOINTS

# (flexion (lo, hi), abduction (lo, hi), twist (lo, hi), relaxed flexion), degrees, flat hand = 0.
_KNUCKLE = ((-25.0, 90.0), (-20.0, 20.0), (-8.0, 8.0), 20.0)
_MIDDLE = ((-5.0, 110.0), (-4.0, 4.0), (-5.0, 5.0), 25.0)
_END = ((-10.0, 85.0), (-4.0, 4.0), (-5.0, 5.0), 15.0)
_THUMB = (((-25.0, 45.0), (-35.0, 35.0), (-30.0, 30.0), 10.0),
          ((-10.0, 65.0), (-10.0, 10.0), (-10.0, 10.0), 15.0),
          ((-20.0, 85.0), (-5.0, 5.0), (-5.0, 5.0), 15.0))
RANGES = (_KNUCKLE, _MIDDLE, _END) * 4 + _THUMB  # MANO order: index, middle, pinky, ring, thumb
SPREAD_DIVISOR = (3.0, 3.0, 4.0)
# MediaPipe's metric hand landmarks err by about this much (metres); kappa = (bone / noise)^2. Its
# points sit ~2 cm from the truth after alignment on rendered hands (benchmarks/bench_hands_rendered.py),
# and 15 mm both gave the lowest finger error there and the closest 50 % / 90 % calibration.
HAND_NOISE_M = 0.015
# Palm bones (wrist -> thumb base and the four knuckles) that refine the wrist's rotation.
PALM_LANDMARKS = (1, 5, 9, 13, 17)
# Stated spread: each hand's concentrations are divided by a temperature that grows with how curled
# its fingers look, T0 (1 + (curl / CURL_DEG)^2), curl = the mean over the five fingers of the
# summed angles between consecutive observed bones (degrees; the modes do not move). The hand
# landmarker misplaces the hidden phalanges of curled fingers (on rendered hands it under-reads true
# flexions over 50 deg by ~37 deg on average, open fingers by a few), so their errors are the large
# ones. Fitted on half of the rendered benchmark's frames, measured on the other half
# (benchmarks/bench_hands_rendered.py, docs/hands.md).
CURL_TEMPERATURE_T0 = 0.8
CURL_DEG = 120.0
CURL_TEMPERATURE_MAX = 2.0  # so a clearly seen fist still states less spread than an unseen hand
_MAX_VARIANCE = 3.0
# One side (0 left, 1 right), or several: a tuple, whose tensors get a leading hands axis
Sides = int | tuple[int, ...]


def palm_normal(rest: Tensor, side: int) -> Tensor:
    """(3,) unit normal out of the palm of one rest hand (21, 3), side 0 left, 1 right. Its sign
    comes from the hand's chirality (index and pinky knuckles seen from the wrist turn one way
    on a left hand and the other on a right one), so any rest orientation works, palm down as in
    SMPL-H's T-pose or facing forward."""
    across = torch.linalg.cross(rest[5] - rest[0], rest[17] - rest[0])
    return (-across if side == 0 else across) / across.norm()


def _covariance(precision: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(precision)
    return vecs @ torch.diag_embed(1.0 / vals.clamp_min(1.0 / _MAX_VARIANCE)) @ vecs.mT


@dataclass
class HandAnatomy:
    """Joint frames, limits and prior of one rest hand (per side: index 0 left, 1 right).

    frames (2, 15, 3, 3): columns (flexion axis, abduction axis, twist axis = rest bone), rest frame.
    low/high/relaxed/spread (2, 15, 3) radians, components in that order; rest (2, 21, 3) landmarks.
    """

    frames: Tensor
    low: Tensor
    high: Tensor
    relaxed: Tensor
    spread: Tensor
    rest: Tensor
    # Tensors derived from the ones above, built once (the solve asks for them on every frame);
    # the fields are never changed after from_rest, so they stay valid.
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _cached(self, key: object, build) -> Tensor:  # noqa: ANN001 - build: () -> Tensor
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @staticmethod
    def from_rest(hands: np.ndarray) -> "HandAnatomy":
        rest = torch.as_tensor(np.asarray(hands), dtype=torch.float64)
        frames = torch.zeros(2, NUM_FINGER_JOINTS, 3, 3, dtype=torch.float64)
        low, high, relaxed, spread = (torch.zeros(2, NUM_FINGER_JOINTS, 3, dtype=torch.float64) for _ in range(4))
        for h in range(2):
            r = rest[h]
            palm = palm_normal(r, h)
            for j, (a, b) in enumerate(FINGER_BONE_LANDMARKS):
                bone = (r[b] - r[a]) / (r[b] - r[a]).norm()
                flex = torch.linalg.cross(bone, palm)
                flex = flex / flex.norm()
                if j in THUMB_HINGE_JOINTS:  # flexion carries the tip across the palm, towards the fingers
                    palmward = torch.linalg.cross(flex, bone)  # where a finger's flexion moves its tip
                    fingerward = flex * torch.sign(torch.dot(flex, r[9] - r[a]))
                    turn = np.deg2rad(THUMB_FLEX_TURN_DEG)
                    flex = torch.linalg.cross(bone, np.cos(turn) * palmward + np.sin(turn) * fingerward)
                frames[h, j] = torch.stack([flex, torch.linalg.cross(bone, flex), bone], dim=1)
                parent = r[a] - r[0] if j % 3 == 0 else r[a] - r[FINGER_BONE_LANDMARKS[j - 1][0]]
                parent = parent / parent.norm()
                curl = torch.atan2(torch.dot(torch.linalg.cross(parent, bone), flex), torch.dot(parent, bone))
                (fl, fh), (al, ah), (tl, th), rel = RANGES[j]
                lims = torch.deg2rad(torch.tensor([(fl, fh), (al, ah), (tl, th)], dtype=torch.float64))
                low[h, j], high[h, j] = lims[:, 0], lims[:, 1]
                low[h, j, 0] -= curl
                high[h, j, 0] -= curl
                relaxed[h, j, 0] = np.deg2rad(rel) - curl
                spread[h, j] = (lims[:, 1] - lims[:, 0]) / torch.tensor(SPREAD_DIVISOR, dtype=torch.float64)
        return HandAnatomy(frames, low, high, relaxed, spread, rest)

    def relaxed_rotations(self) -> Tensor:
        """(2, 15, 3, 3) the relaxed pose's local rotations (shared: do not modify in place)."""
        return self._cached("relaxed", lambda: _compose(self.relaxed, self.frames))

    def _limits(self, side: Sides, joints: list[int]) -> tuple[Tensor, Tensor, Tensor]:
        """(frames, low, high) of those joints of one side ((len(joints), ...)) or of several sides
        (a tuple: (len(sides), len(joints), ...))."""
        def build() -> tuple[Tensor, Tensor, Tensor]:
            if isinstance(side, int):
                return self.frames[side, joints], self.low[side, joints], self.high[side, joints]
            return tuple(x[list(side)][:, joints] for x in (self.frames, self.low, self.high))
        return self._cached(("limits", side, tuple(joints)), build)

    def components(self, local: Tensor, side: Sides, joints: list[int]) -> Tensor:
        """(..., len(joints), 3) flexion, abduction, twist of local rotations (..., len(joints), 3, 3),
        for `within_components` and `clamp_components` when both are asked of the same rotations."""
        return _components(local.to(torch.float64), self._limits(side, joints)[0])

    def clamp_components(self, comp: Tensor, side: Sides, joints: list[int]) -> Tensor:
        """(..., len(joints), 3, 3) the rotations of components `comp`, moved inside the limits."""
        frames, lo, hi = self._limits(side, joints)
        return _compose(torch.maximum(torch.minimum(comp, hi), lo), frames)

    def within_components(self, comp: Tensor, side: Sides, joints: list[int], tol_deg: float = 1e-3) -> Tensor:
        _, lo, hi = self._limits(side, joints)
        over = torch.clamp(comp - hi, min=0) + torch.clamp(lo - comp, min=0)
        return torch.nan_to_num(over, nan=0.0).max(dim=-1).values <= np.deg2rad(tol_deg)

    def clamp(self, local: Tensor, side: Sides, joints: list[int]) -> Tensor:
        """(..., len(joints), 3, 3) local rotations moved inside the limits of those joints."""
        return self.clamp_components(self.components(local, side, joints), side, joints)

    def within(self, local: Tensor, side: Sides, joints: list[int], tol_deg: float = 1e-3) -> Tensor:
        return self.within_components(self.components(local, side, joints), side, joints, tol_deg)

    def prior_precision(self) -> Tensor:
        """(2, 15, 3, 3) precision of each joint's prior in its relaxed rotation's frame (shared)."""
        return self._cached("precision", self._prior_precision)

    def prior_terms(self, side: Sides) -> tuple[Tensor, Tensor]:
        """(covariance (15, 3, 3), matrix-Fisher (15, 3, 3)) of one side's prior, or of several
        sides (a tuple: (len(sides), 15, 3, 3) each) (shared)."""
        def build() -> tuple[Tensor, Tensor]:
            if not isinstance(side, int):
                terms = [self.prior_terms(h) for h in side]
                return torch.stack([c for c, _ in terms]), torch.stack([f for _, f in terms])
            precision = self.prior_precision()[side]
            return _covariance(precision), fisher_from_precision(self.relaxed_rotations()[side], precision)
        return self._cached(("prior", side), build)

    def _prior_precision(self) -> Tensor:
        L0 = self.relaxed_rotations()
        dirs = torch.stack([L0.mT @ self.frames[..., :, 0, None], L0.mT @ self.frames[..., :, 1, None],
                            self.frames[..., :, 2, None]], dim=2)[..., 0]  # (2, 15, 3, 3)
        return torch.einsum("hjc,hjci,hjck->hjik", 1.0 / self.spread ** 2, dirs, dirs)

    def rest_bones(self) -> Tensor:
        """(2, 15, 3) unit rest directions of each joint's bone (shared)."""
        d = self._rest_vectors()
        return self._cached("bones", lambda: d / d.norm(dim=-1, keepdim=True))

    def rest_lengths(self) -> Tensor:
        """(2, 15) rest lengths of each joint's bone (shared)."""
        return self._cached("lengths", lambda: self._rest_vectors().norm(dim=-1))

    def _rest_vectors(self) -> Tensor:
        a = [p for p, _ in FINGER_BONE_LANDMARKS]
        b = [c for _, c in FINGER_BONE_LANDMARKS]
        return self._cached("vectors", lambda: self.rest[:, b] - self.rest[:, a])


def observed_bones(world: Tensor) -> tuple[Tensor, Tensor]:
    """(unit directions (B, 15, 3), lengths (B, 15)) of the finger bones of landmarks (B, 21, 3)."""
    a = [p for p, _ in FINGER_BONE_LANDMARKS]
    b = [c for _, c in FINGER_BONE_LANDMARKS]
    d = world[:, b] - world[:, a]
    length = d.norm(dim=-1)
    return d / length.clamp_min(1e-9)[..., None], length


def observed_curl_deg(world: Tensor) -> Tensor:
    """(B,) how curled a hand's landmarks (B, 21, 3) look: the mean over the fingers of the summed
    angles between each finger bone and its parent bone (the wrist-to-base bone for the first)."""
    d, _ = observed_bones(world)
    base = world[:, [a for a, _ in FINGER_BONE_LANDMARKS[0::3]]] - world[:, :1]
    base = base / base.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    parent = torch.stack([base, d[:, 0::3], d[:, 1::3]], dim=2).reshape(d.shape)  # (B, 15, 3), MANO order
    angle = torch.rad2deg(torch.arccos((parent * d).sum(-1).clamp(-1.0, 1.0)))
    return angle.reshape(-1, 5, 3).sum(-1).mean(-1)


def curl_temperature(world: Tensor, score: Tensor) -> Tensor:
    """(B,) the temperature of each hand's stated spread (see CURL_TEMPERATURE_T0), moved towards 1
    as the hand's score falls, so an unseen hand (score 0) keeps the prior's spread and a barely
    seen one states about that much."""
    tau = (CURL_TEMPERATURE_T0 * (1.0 + (observed_curl_deg(world) / CURL_DEG) ** 2)).clamp_max(CURL_TEMPERATURE_MAX)
    weight = score.clamp(0.0, 1.0)
    return 1.0 + (tau - 1.0) * weight


def palm_evidence(world: Tensor, score: Tensor, rest: Tensor, noise_m: float = HAND_NOISE_M) -> Tensor:
    """(B, 3, 3) evidence of a hand's palm on the wrist's world rotation: sum kappa d tᵀ over the
    wrist-to-knuckle bones; world (B, 21, 3) observed, rest (21, 3), score (B,) 0 = unseen. With a
    hands axis, (B, H, 3, 3) for world (B, H, 21, 3), score (B, H) and rest (H, 21, 3)."""
    d = world[..., PALM_LANDMARKS, :] - world[..., :1, :]
    t = rest[..., list(PALM_LANDMARKS), :] - rest[..., :1, :]
    kappa = (t.norm(dim=-1) / noise_m) ** 2 * score[..., None]
    d = d / d.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    t = t / t.norm(dim=-1, keepdim=True)
    return torch.einsum("...c,...ci,...ck->...ik", kappa, d, t)


@dataclass
class HandPosterior:
    """One hand's posterior over B frames."""

    F: Tensor  # (B, 15, 3, 3) wrist-relative: density of G_j G_wristᵀ, stored / SAMPLE_SHARPNESS
    world: Tensor  # (B, 15, 3, 3) posterior modes, world rotations
    local: Tensor  # (B, 15, 3, 3) posterior modes, local rotations
    evidence: Tensor  # (B, 15, 3, 3) each joint's data term on its world rotation (tempered)
    prior_F: Tensor  # (B, 15, 3, 3) local-rotation prior (tempered)


def hand_posterior(anatomy: HandAnatomy, side: int, world_landmarks: Tensor, score: Tensor,
                   wrist: Tensor, noise_m: float = HAND_NOISE_M, bone_weight: Tensor | None = None,
                   kappa: Tensor | None = None, temperature: Tensor | None = None) -> HandPosterior:
    """Solve one hand: landmarks (B, 21, 3) in the wrist's world frame, score (B,), wrist (B, 3, 3);
    bone_weight (B, 15) scales each bone's evidence (default 1). A corrected read
    (hands/correction.py) brings its own error model: kappa (B, 15), each bone's concentration
    (before the score), and temperature (B,), instead of the landmark noise and the curl law."""
    def one(x: Tensor | None) -> Tensor | None:
        return None if x is None else x[:, None]
    post = hands_posterior(anatomy, (side,), world_landmarks[:, None], score[:, None], wrist[:, None], noise_m,
                           one(bone_weight), one(kappa), one(temperature))
    return HandPosterior(*(getattr(post, name)[:, 0] for name in ("F", "world", "local", "evidence", "prior_F")))


def hands_posterior(anatomy: HandAnatomy, sides: tuple[int, ...], world_landmarks: Tensor, score: Tensor,
                    wrist: Tensor, noise_m: float = HAND_NOISE_M, bone_weight: Tensor | None = None,
                    kappa: Tensor | None = None, temperature: Tensor | None = None) -> HandPosterior:
    """`hand_posterior` of several hands at once, H = len(sides) (both of a person's: (0, 1)), each
    field with a hands axis after the batch's: landmarks (B, H, 21, 3), score (B, H), wrist
    (B, H, 3, 3), bone_weight / kappa (B, H, 15), temperature (B, H). The fingers of one joint level
    of every hand are solved together (the work is many tiny 3x3 operations, each costing about
    the same for 5 or 10 joints); the numbers are those of solving each hand alone."""
    dtype = torch.float64
    world_landmarks, score, wrist = world_landmarks.to(dtype), score.to(dtype), wrist.to(dtype)
    B, H = wrist.shape[:2]
    d, _ = observed_bones(world_landmarks.reshape(B * H, 21, 3))
    d = d.reshape(B, H, NUM_FINGER_JOINTS, 3)
    t = anatomy.rest_bones()[list(sides)]
    rest_length = anatomy.rest_lengths()[list(sides)]
    base = (rest_length / noise_m) ** 2 if kappa is None else kappa.to(dtype)
    kappa = base * score[..., None]
    if bone_weight is not None:
        kappa = kappa * bone_weight.to(dtype)
    evidence = kappa[..., None, None] * d[..., :, None] * t[None, ..., :, None, :]
    L0 = anatomy.relaxed_rotations()[list(sides)]
    prior_cov, prior_fisher = anatomy.prior_terms(sides)
    eye = torch.eye(3, dtype=dtype)
    F = torch.zeros(B, H, NUM_FINGER_JOINTS, 3, 3, dtype=dtype)
    G = torch.zeros_like(F)
    local = torch.zeros_like(F)
    cov = torch.zeros_like(F)
    for level in range(3):
        joints = [3 * f + level for f in range(5)]
        parent = wrist[:, :, None].expand(B, H, 5, 3, 3) if level == 0 else G[:, :, [j - 1 for j in joints]]
        parent_cov = torch.zeros(B, H, 5, 3, 3, dtype=dtype) if level == 0 else cov[:, :, [j - 1 for j in joints]]
        carried = L0[:, joints].mT @ parent_cov @ L0[:, joints] + prior_cov[:, joints]
        precision = torch.linalg.inv(carried + 1e-9 * eye)
        prior = fisher_from_precision(parent @ L0[:, joints], 0.5 * (precision + precision.mT))
        F_joint = prior + evidence[:, :, joints]
        mode = fisher.mode(F_joint)
        loc = anatomy.clamp(parent.mT @ mode, sides, joints)
        local[:, :, joints] = loc
        G[:, :, joints] = parent @ loc
        P = mode.mT @ F_joint
        F[:, :, joints] = G[:, :, joints] @ (0.5 * (P + P.mT))
        if level < 2:  # carried to the next level's joints (the tips have none)
            cov[:, :, joints] = _covariance(precision_from_fisher(G[:, :, joints], F[:, :, joints]))
    relative = F @ wrist[:, :, None].mT
    if temperature is None:  # hand by hand: the curl's arccos then runs on the same elements as for one hand
        tau = torch.stack([curl_temperature(world_landmarks[:, h], score[:, h]) for h in range(H)], dim=1)
    else:
        tau = temperature.to(dtype)
    tau = tau[..., None, None, None]
    prior_F = prior_fisher[None] / tau
    return HandPosterior(F=relative / (SAMPLE_SHARPNESS * tau), world=G, local=local, evidence=evidence / tau,
                         prior_F=prior_F)


def uncertainty_deg(post: HandPosterior) -> Tensor:
    """(B, 15) expected angle between a sample and the mode, degrees (what the bone colours show);
    (B, H, 15) for a posterior with a hands axis (hands_posterior), hand by hand (so each hand's
    quadrature runs on the same elements, and gives the same numbers, as for that hand alone)."""
    F = post.F * SAMPLE_SHARPNESS
    if F.dim() == 5:
        return torch.stack([fisher.expected_angle_deg(F[:, h]) for h in range(F.shape[1])], dim=1)
    return fisher.expected_angle_deg(F)


def sample_hand(anatomy: HandAnatomy, side: int, post: HandPosterior, wrist: Tensor, num_samples: int,
                generator: torch.Generator | None = None, candidates: int = 6) -> Tensor:
    """(B, S, 15, 3, 3) local rotations of ghost hands: each joint drawn from its closed-form
    conditional given its sampled parent (prior x evidence), within the limits (first candidate
    inside, else the clamp), so a ghost's fingers bend together like a real hand's."""
    dtype = torch.float64
    B, S = wrist.shape[0], num_samples
    G = torch.zeros(B, S, NUM_FINGER_JOINTS, 3, 3, dtype=dtype)
    local = torch.zeros_like(G)
    for level in range(3):
        joints = [3 * f + level for f in range(5)]
        parent = wrist.to(dtype)[:, None, None].expand(B, S, 5, 3, 3) if level == 0 \
            else G[:, :, [j - 1 for j in joints]]
        F_cond = parent @ post.prior_F[:, None, joints] + post.evidence[:, None, joints]
        cand = fisher.sample(F_cond.reshape(-1, 3, 3), candidates, generator=generator)
        cand = cand.reshape(B, S, 5, candidates, 3, 3)
        rel = parent[..., None, :, :].mT @ cand  # local candidates
        comp = anatomy.components(rel.transpose(2, 3), side, joints).transpose(2, 3)  # (B, S, 5, K, 3)
        inside = anatomy.within_components(comp.transpose(2, 3), side, joints).transpose(2, 3)  # (B, S, 5, K)
        first = torch.where(inside.any(-1), inside.float().argmax(-1), torch.zeros_like(inside[..., 0], dtype=torch.long))
        # the pick's components are the ones `within` just computed: clamp them without recomputing
        pick_comp = torch.gather(comp, 3, first[..., None, None].expand(B, S, 5, 1, 3))[..., 0, :]
        pick = anatomy.clamp_components(pick_comp, side, joints)
        local[:, :, joints] = pick
        G[:, :, joints] = parent @ pick
    return local


def hand_landmarks(anatomy: HandAnatomy, side: int, local: Tensor, wrist: Tensor) -> Tensor:
    """Forward kinematics: (..., 21, 3) landmarks, wrist at 0, of local finger rotations (..., 15, 3, 3)
    under the wrist's world rotation (..., 3, 3)."""
    rest = anatomy.rest[side].to(local.dtype)
    out = torch.zeros(local.shape[:-3] + (21, 3), dtype=local.dtype)
    world = torch.zeros_like(local)
    for j, (a, b) in enumerate(FINGER_BONE_LANDMARKS):
        parent = wrist if j % 3 == 0 else world[..., j - 1, :, :]
        world[..., j, :, :] = parent @ local[..., j, :, :]
        if j % 3 == 0:
            out[..., a, :] = (wrist @ (rest[a] - rest[0])[:, None])[..., 0]
        out[..., b, :] = out[..., a, :] + (world[..., j, :, :] @ (rest[b] - rest[a])[:, None])[..., 0]
    return out
