"""Joint limits of the human body as matrix-Fisher priors around a relaxed pose, plus truncation.

Every non-root SMPL joint's local rotation L (relative to its parent, SMPL axes: x to the
body's left, y up, z forward) is split into a twist about its rest bone and a swing of the
bone (L = swing · twist; the swing is a rotation vector perpendicular to the bone). Each joint
has a range for the twist and for the two swing components, measured about body axes, and a
relaxed value inside them (arms hanging with the elbows a little bent, knees a little bent,
fingers slightly curled). Sources of the ranges: docs/instant-mode.md.

The prior is one matrix-Fisher per joint with its mode at the relaxed rotation and a spread
per axis of a third of the swing ranges and a quarter of the twist range, so prior x likelihood stays matrix-Fisher (the
closed form). One matrix-Fisher has unbounded support, so the hard limits are a truncation on
top: modes are clamped into the box and samples are drawn by rejection (exact for the
truncated density), with a clamp as the last resort, so no pose outside the limits is returned.
Left-side ranges are written down; the right side is their mirror image (x -> -x flips the
y and z components of a rotation vector).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .geometry import axis_angle_to_matrix_torch
from .skeleton import NUM_SMPL_JOINTS, SINGLE_CHILD, SMPL_JOINT_NAMES

_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class JointRange:
    """Range of one joint (left side), degrees, as components of rotation vectors about body axes.

    swing: two (axis, low, high) entries about the body axes across the bone; twist: (low, high)
    about the body axis `along` that the bone roughly follows (+ direction of that axis);
    relaxed: (swing 1, swing 2, twist) of the relaxed pose.
    """

    along: str
    swing: tuple[tuple[str, float, float], tuple[str, float, float]]
    twist: tuple[float, float]
    relaxed: tuple[float, float, float] = (0.0, 0.0, 0.0)


# Left-side ranges, restated from the clinical range-of-motion literature (see the doc). Where
# SMPL splits one anatomical motion over two joints (spine, neck + head, collar + shoulder,
# elbow + wrist for the forearm's rotation), the clinical total is shared between them.
LEFT_RANGES: dict[str, JointRange] = {
    # hip: flexion moves the knee forward (-x), abduction out (+z), external rotation +y
    "left_hip": JointRange("y", (("x", -125.0, 30.0), ("z", -30.0, 45.0)), (-40.0, 45.0), (-5.0, 3.0, 0.0)),
    # knee: a hinge, flexion +x (the shin swings back), little side play, some tibial rotation
    "left_knee": JointRange("y", (("x", -5.0, 150.0), ("z", -8.0, 8.0)), (-25.0, 25.0), (8.0, 0.0, 0.0)),
    # ankle: plantarflexion +x, toe-in/out about y, inversion (-) / eversion (+) about the foot
    "left_ankle": JointRange("z", (("x", -25.0, 50.0), ("y", -25.0, 25.0)), (-35.0, 20.0)),
    # toes: flexion +x (down), extension up to 45 degrees
    "left_foot": JointRange("z", (("x", -45.0, 35.0), ("y", -10.0, 10.0)), (-10.0, 10.0)),
    # thoracolumbar spine over three joints: flexion +x, lateral bend about z, axial twist about y
    "spine1": JointRange("y", (("x", -12.0, 30.0), ("z", -13.0, 13.0)), (-15.0, 15.0)),
    "spine2": JointRange("y", (("x", -12.0, 30.0), ("z", -13.0, 13.0)), (-15.0, 15.0)),
    "spine3": JointRange("y", (("x", -12.0, 30.0), ("z", -13.0, 13.0)), (-15.0, 15.0)),
    # cervical spine over neck and head: flexion +x, lateral bend about z, rotation about y
    "neck": JointRange("y", (("x", -35.0, 25.0), ("z", -25.0, 25.0)), (-40.0, 40.0)),
    "head": JointRange("y", (("x", -35.0, 25.0), ("z", -25.0, 25.0)), (-40.0, 40.0)),
    # collar (shoulder girdle): elevation +z, protraction (forward) -y
    "left_collar": JointRange("x", (("z", -10.0, 30.0), ("y", -25.0, 20.0)), (-15.0, 15.0)),
    # shoulder: +z raises the arm above the T, -z lowers it; -y brings it forward; internal
    # rotation +x, external -x. Relaxed: the arm hangs at the side, a little forward.
    "left_shoulder": JointRange("x", (("z", -100.0, 90.0), ("y", -135.0, 45.0)), (-90.0, 70.0),
                                (-75.0, -5.0, 0.0)),
    # elbow: a hinge, flexion brings the forearm forward (-y); forearm pronation (+) / supination
    # (-) from the T-pose's neutral palm-down forearm
    "left_elbow": JointRange("x", (("y", -150.0, 5.0), ("z", -10.0, 10.0)), (-85.0, 75.0), (-15.0, 0.0, 0.0)),
    # wrist: flexion (toward the palm, -z), extension +z, radial deviation -y, ulnar +y
    "left_wrist": JointRange("x", (("z", -80.0, 70.0), ("y", -20.0, 35.0)), (-40.0, 40.0)),
    # fingers as one joint: flexion toward the palm (-z); relaxed slightly curled
    "left_hand": JointRange("x", (("z", -90.0, 30.0), ("y", -15.0, 15.0)), (-10.0, 10.0), (-20.0, 0.0, 0.0)),
}


# Prior spread per component = range / divisor, for (swing 1, swing 2, twist). Swings are seen
# directly whenever the bone is, so their prior is broad (the hard limits still truncate it);
# twist is rarely seen, so the prior carries it and is tighter.
SPREAD_DIVISOR = (3.0, 3.0, 4.0)
# Knees and elbows: {upper joint: hinge joint}; their first swing component is the flexion.
HINGES: dict[int, int] = {1: 4, 2: 5, 16: 18, 17: 19}


def _range_of(joint: int) -> JointRange:
    """The range of a joint, mirrored from the left side for right-side joints."""
    name = SMPL_JOINT_NAMES[joint]
    if name in LEFT_RANGES:
        return LEFT_RANGES[name]
    left = LEFT_RANGES[name.replace("right_", "left_")]

    def mirror(axis: str, lo: float, hi: float) -> tuple[float, float]:
        return (lo, hi) if axis == "x" else (-hi, -lo)

    axes = (left.swing[0][0], left.swing[1][0], left.along)
    lims = [mirror(a, *lim) for a, lim in zip(axes, (left.swing[0][1:], left.swing[1][1:], left.twist))]
    relaxed = tuple(v if a == "x" else -v for a, v in zip(axes, left.relaxed))
    return JointRange(left.along, ((axes[0], *lims[0]), (axes[1], *lims[1])), lims[2], relaxed)  # type: ignore[arg-type]


# quaternion_from_matrix's tables: the signs of the diagonal in the four candidates' t = 1 ± m00 ±
# m11 ± m22; the entries (of the flattened matrix) whose differences and sums fill the candidates,
# (m21 - m12, m02 - m20, m10 - m01, m10 + m01, m02 + m20, m21 + m12); and where each candidate's
# four numbers sit in (t0..t3, those six)
_DIAGONAL_SIGNS = torch.tensor([(1.0, 1.0, -1.0, -1.0), (1.0, -1.0, 1.0, -1.0), (1.0, -1.0, -1.0, 1.0)],
                               dtype=torch.float64)
_PAIR_FIRST, _PAIR_SECOND = torch.tensor([7, 2, 3, 3, 2, 7]), torch.tensor([5, 6, 1, 1, 6, 5])
_PAIR_SIGNS = torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0], dtype=torch.float64)
_CANDIDATE_ENTRIES = torch.tensor([(0, 4, 5, 6), (4, 1, 7, 8), (5, 7, 2, 9), (6, 8, 9, 3)])


def quaternion_from_matrix(R: Tensor) -> Tensor:
    """(..., 3, 3) rotations -> (..., 4) unit quaternions (w, x, y, z) with w >= 0.

    Of the four candidate quaternions (each well-conditioned when its own t is large) only the
    best is gathered: this runs per joint level on tiny batches, where the number of tensor
    operations, not their size, is the cost. (Same numbers as building all four: a - b is
    a + (-1)·b exactly.)"""
    m = R.reshape(*R.shape[:-2], 9)
    signs, pair_signs = _DIAGONAL_SIGNS.to(m), _PAIR_SIGNS.to(m)
    t = 1 + m[..., 0:1] * signs[0] + m[..., 4:5] * signs[1] + m[..., 8:9] * signs[2]
    pairs = m.index_select(-1, _PAIR_FIRST.to(m.device)) + m.index_select(-1, _PAIR_SECOND.to(m.device)) * pair_signs
    best = _CANDIDATE_ENTRIES.to(m.device)[t.argmax(-1)]
    q = torch.cat([t, pairs], -1).gather(-1, best)
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    return q * torch.where(q[..., :1] < 0, -1.0, 1.0)


def _components(local: Tensor, frames: Tensor) -> Tensor:
    """Swing-twist components of rotations in joint frames (columns: swing 1, swing 2, twist)."""
    q = quaternion_from_matrix(local)
    w, v = q[..., 0], q[..., 1:]
    axis = frames[..., :, 2]
    along = (v * axis).sum(-1)
    twist = 2 * torch.atan2(along, w)
    # swing = q * conj(twist quaternion), twist quaternion = (cos t/2, sin t/2 axis)
    half = twist / 2
    c, s = torch.cos(half), torch.sin(half)
    sw = c * w + s * along
    sv = c[..., None] * v - (w * s)[..., None] * axis - s[..., None] * torch.linalg.cross(v, axis.expand_as(v))
    sv_norm = torch.linalg.vector_norm(sv, dim=-1)
    angle = 2 * torch.atan2(sv_norm, sw.abs())
    vec = sv / sv_norm.clamp_min(1e-12)[..., None] * (angle * torch.sign(sw + (sw == 0)))[..., None]
    swing = (vec[..., None, :] * frames[..., :, :2].mT).sum(-1)
    return torch.cat([swing, twist[..., None]], dim=-1)


def _compose(comp: Tensor, frames: Tensor) -> Tensor:
    swing = comp[..., :1] * frames[..., :, 0] + comp[..., 1:2] * frames[..., :, 1]
    twist = comp[..., 2:] * frames[..., :, 2]
    return axis_angle_to_matrix_torch(swing) @ axis_angle_to_matrix_torch(twist)


@dataclass
class Anatomy:
    """Joint frames, limits and priors for one rest skeleton (the body's own rest joints).

    frames: (24, 3, 3) columns = (swing axis 1, swing axis 2, twist axis), the twist axis being
    the rest bone direction (signed like the body axis it follows) and the swing axes the body
    axes made perpendicular to it. low/high/relaxed: (24, 3) radians, components in that order.
    The root (joint 0) is free: its limits are infinite and it has no prior here.
    """

    frames: Tensor
    low: Tensor
    high: Tensor
    relaxed: Tensor
    spread: Tensor  # (24, 3) prior standard deviation per component, radians

    @staticmethod
    def from_rest(rest_joints: np.ndarray | Tensor) -> "Anatomy":
        """Build from a rest skeleton (24+ points, or (1, N, 3)); only the joints' layout is used."""
        r = torch.as_tensor(np.asarray(rest_joints), dtype=torch.float64).reshape(-1, 3)
        frames = torch.eye(3, dtype=torch.float64).repeat(NUM_SMPL_JOINTS, 1, 1)
        low = torch.full((NUM_SMPL_JOINTS, 3), -np.inf, dtype=torch.float64)
        high = torch.full((NUM_SMPL_JOINTS, 3), np.inf, dtype=torch.float64)
        relaxed = torch.zeros(NUM_SMPL_JOINTS, 3, dtype=torch.float64)
        spread = torch.full((NUM_SMPL_JOINTS, 3), np.inf, dtype=torch.float64)
        eye = torch.eye(3, dtype=torch.float64)
        for joint in range(1, NUM_SMPL_JOINTS):
            rng = _range_of(joint)
            along = eye[_AXES[rng.along]]
            child = SINGLE_CHILD.get(joint)
            bone = along
            if child is not None and child < NUM_SMPL_JOINTS and joint not in (7, 8):
                d = r[child] - r[joint]
                if d.norm() > 1e-6 and torch.dot(d / d.norm(), along).abs() > 0.5:
                    bone = d / d.norm() * torch.sign(torch.dot(d, along))
            if joint in (7, 8):  # the ankle's twist axis is the foot's long axis, along z
                d = r[10 if joint == 7 else 11] - r[joint]
                d = d - d[1] * eye[1]  # the sole's direction: drop the ankle-to-ball drop
                bone = d / d.norm()
            # an orthonormal frame: the first swing axis made perpendicular to the bone, the
            # second perpendicular to both (signed like its body axis)
            first = eye[_AXES[rng.swing[0][0]]]
            first = first - torch.dot(first, bone) * bone
            first = first / first.norm()
            second = torch.linalg.cross(bone, first)
            second = second * torch.sign(second[_AXES[rng.swing[1][0]]])
            frames[joint] = torch.stack([first, second, bone], dim=1)
            lims = torch.tensor([rng.swing[0][1:], rng.swing[1][1:], rng.twist], dtype=torch.float64)
            low[joint], high[joint] = torch.deg2rad(lims[:, 0]), torch.deg2rad(lims[:, 1])
            relaxed[joint] = torch.deg2rad(torch.tensor(rng.relaxed, dtype=torch.float64))
            spread[joint] = (high[joint] - low[joint]) / torch.tensor(SPREAD_DIVISOR, dtype=torch.float64)
        return Anatomy(frames=frames, low=low, high=high, relaxed=relaxed, spread=spread)

    # -- swing / twist ------------------------------------------------------------------------

    def components(self, local: Tensor, joint: int | Tensor | None = None) -> Tensor:
        """Local rotations -> (swing 1, swing 2, twist) radians.

        (..., 24, 3, 3) -> (..., 24, 3) for the whole body, or (..., 3, 3) -> (..., 3) for one
        joint (an int) or per-row joints (an index tensor broadcasting with the leading dims).
        """
        frames = self.frames if joint is None else self.frames[joint]
        return _components(local.to(torch.float64), frames)

    def compose(self, comp: Tensor) -> Tensor:
        """(..., 24, 3) (swing 1, swing 2, twist) -> (..., 24, 3, 3) local rotations."""
        return _compose(comp.to(torch.float64), self.frames)

    def violation(self, local: Tensor, joint: int | Tensor | None = None) -> Tensor:
        """How far (radians, 0 = inside) rotations lie outside their range: (..., 24) or (...)."""
        comp = self.components(local, joint)
        high = self.high if joint is None else self.high[joint]
        low = self.low if joint is None else self.low[joint]
        over = torch.clamp(comp - high, min=0) + torch.clamp(low - comp, min=0)
        over = torch.nan_to_num(over, nan=0.0).max(dim=-1).values
        if joint is None:
            over[..., 0] = 0.0
        return over

    def within(self, local: Tensor, joint: int | Tensor | None = None, tol_deg: float = 1e-3) -> Tensor:
        """Bool, is each rotation inside its range: (..., 24) or (...) for one joint."""
        return self.violation(local, joint) <= np.deg2rad(tol_deg)

    def clamp_joint(self, local: Tensor, joint: int | Tensor) -> Tensor:
        """(..., 3, 3) rotations of one joint (or of per-row joints, an index tensor broadcasting
        with the leading dims) with out-of-range components moved onto the limit."""
        if isinstance(joint, int) and joint == 0:
            return local
        comp = self.components(local, joint)
        clamped = torch.maximum(torch.minimum(comp, self.high[joint]), self.low[joint])
        out = _compose(clamped, self.frames[joint])
        inside = self.within(local, joint)
        return torch.where(inside[..., None, None], local.to(torch.float64), out).to(local.dtype)

    def clamp(self, local: Tensor) -> Tensor:
        """(..., 24, 3, 3) local rotations with every joint clamped into its range (root kept)."""
        return torch.stack([self.clamp_joint(local[..., j, :, :], j) for j in range(NUM_SMPL_JOINTS)], dim=-3)

    def hinges(self) -> dict[int, tuple[int, Tensor]]:
        """{upper joint: (hinge joint, hinge axis in the rest frame)} for knees and elbows.

        The axis is signed so that flexing rotates the lower bone positively about it, so the
        upper bone's rotation maps it onto u × f of the observed upper and lower bones.
        """
        out = {}
        for upper, hinge in HINGES.items():
            sign = torch.sign(self.low[hinge, 0] + self.high[hinge, 0])
            out[upper] = (hinge, self.frames[hinge, :, 0] * sign)
        return out

    # -- the matrix-Fisher prior ---------------------------------------------------------------

    def relaxed_rotations(self) -> Tensor:
        """(24, 3, 3) the relaxed pose's local rotations (identity for the root)."""
        out = self.compose(self.relaxed)
        out[0] = torch.eye(3, dtype=out.dtype)
        return out

    def prior_precision(self) -> Tensor:
        """(24, 3, 3) precision of each joint's prior, in the relaxed rotation's own frame.

        A perturbation L = L0 exp([v]) with v along the twist axis is a twist; a swing about a
        parent-frame axis e is v = L0ᵀ e. Each component adds 1/spread² along its direction.
        """
        L0 = self.relaxed_rotations()
        dirs = torch.stack([L0.mT @ self.frames[:, :, 0, None], L0.mT @ self.frames[:, :, 1, None],
                            self.frames[:, :, 2, None]], dim=1)[..., 0]  # (24, 3 comps, 3)
        kappa = 1.0 / self.spread ** 2
        kappa[0] = 0.0
        return torch.einsum("jc,jci,jck->jik", kappa, dirs, dirs)

    def prior_F(self) -> Tensor:
        """(24, 3, 3) matrix-Fisher parameter of each joint's local-rotation prior (root: zero)."""
        return fisher_from_precision(self.relaxed_rotations(), self.prior_precision())


def fisher_from_precision(mode: Tensor, precision: Tensor) -> Tensor:
    """Matrix-Fisher F = M ((tr Λ / 2) I − Λ) whose small-angle precision at its mode M is Λ.

    With R = M exp([v]), tr(FᵀR) ≈ const − ½ vᵀΛv; a precision that is positive semi-definite
    keeps M the mode.
    """
    eye = torch.eye(3, dtype=precision.dtype, device=precision.device)
    trace = precision.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
    return mode @ (0.5 * trace * eye - precision)


def precision_from_fisher(mode: Tensor, F: Tensor) -> Tensor:
    """Inverse of fisher_from_precision: Λ = tr(P) I − P with P = sym(Mᵀ F), clipped to PSD."""
    P = mode.mT @ F
    P = 0.5 * (P + P.mT)
    eye = torch.eye(3, dtype=F.dtype, device=F.device)
    lam = P.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None] * eye - P
    vals, vecs = torch.linalg.eigh(lam)
    return vecs @ torch.diag_embed(vals.clamp_min(0.0)) @ vecs.mT

