"""Instant mode: BlazePose bone directions through a matrix-Fisher posterior with joint limits.

Without the licence-gated ProPose checkpoint there is no learned prior; the prior is the body's
anatomy instead (propose_backend/anatomy.py): a matrix-Fisher around a relaxed pose on every joint's
rotation relative to its parent, truncated at the joint's limits. Each observed bone c adds the
von Mises-Fisher term kappa_c d_cᵀ G_j t_c on the world rotation G_j of the joint it hangs off,
so for fixed parents the posterior of every joint is matrix-Fisher in closed form.

The joints are solved root first, down the tree. A joint's prior is its anatomical prior carried
through its parent's posterior (their small-angle covariances add, a Kalman step down the tree),
so posterior_F holds each joint's root-relative marginal, as for the network, and
uncertainty_deg includes what an uncertain parent leaves open. The mode is clamped into the
limits; posterior_F is re-centred on the clamped mode (same concentrations) so it stays a valid
matrix-Fisher whose mode is the returned pose. Samples (see instant/ghosts.py) are drawn
joint by joint given their sampled parents, within the limits.

Occlusion keeps the evidence: a landmark with low visibility keeps its direction with a
broader spread (a visibility floor), never the rest pose. Concentrations are calibrated in
degrees of real error (benchmarks/bench_instant.py) and stored divided by SAMPLE_SHARPNESS,
because uncertainty_deg and the samples read SAMPLE_SHARPNESS·F, as for the network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .. import fisher
from ..geometry import local_from_world
from ..posterior import SAMPLE_SHARPNESS, Posterior, bone_directions, child_matrix
from ..skeleton import NUM_SMPL_JOINTS, SINGLE_CHILD, SMPL_PARENTS
from ..anatomy import Anatomy, fisher_from_precision, precision_from_fisher
from .mapping import INSTANT_PARENTS, NUM_INSTANT_POINTS, SkeletonObservation, instant_children

# BlazePose's 3D landmark error, metres: a bone's direction is as precise as its length allows,
# kappa = (length / noise)^2 for a fully visible bone (a von Mises-Fisher of angular spread
# noise / length). This sets the balance of landmarks and anatomy, hence the mode.
KEYPOINT_NOISE_M = 0.05
# The stated posterior (posterior_F, uncertainty_deg, ghosts) is the solved one tempered by this
# factor (every concentration, prior included, divided by it; the mode does not move). Fitted on
# the synthetic benchmark's calibration seed (1) so that the stated 50 % / 90 % angle quantiles
# of the root-relative rotation error hold there; a larger landmark noise instead would also
# have weakened the evidence against the anatomy and pulled visible limbs off their landmarks.
CALIBRATION_TEMPERATURE = 2.1
# Share of a fully visible bone's concentration that a landmark of visibility 0 keeps: the
# direction BlazePose reports for a hidden limb is still its best guess, only less certain.
VISIBILITY_FLOOR = 0.25
# The root's prior only breaks ties; its orientation comes from the hips and the spine.
ROOT_PRIOR_CONCENTRATION = 0.1
# Largest tangent variance (rad^2) carried down the tree: beyond ~100 degrees the small-angle
# picture is meaningless anyway, and a bounded variance keeps the inverses well conditioned.
_MAX_VARIANCE = 3.0


@dataclass
class InstantPosterior:
    """The posterior plus what the samplers need to redraw each joint given its parent.

    posterior: results-ready (F divided by SAMPLE_SHARPNESS, root-relative, mode within limits).
    evidence: (B, 24, 3, 3) the data term sum_c kappa_c d_c t_cᵀ of each joint on its world
    rotation, divided by the temperature; observed/rest/kappa: the bone inputs (for
    depth-flipped alternatives); prior_F: (24, 3, 3) local priors divided by the temperature.
    """

    posterior: Posterior
    evidence: Tensor
    anatomy: Anatomy
    observed: Tensor
    rest: Tensor
    kappa: Tensor
    gain: Tensor  # (B, 43) visibility_gain of each point, 0..1
    prior_F: Tensor


def bone_kappa(rest_points: Tensor, noise_m: float = KEYPOINT_NOISE_M) -> Tensor:
    """(B, 43) concentration of each fully visible bone direction from its rest length."""
    parents = [max(p, 0) for p in INSTANT_PARENTS]
    length = (rest_points - rest_points[:, parents]).norm(dim=-1)
    return (length / noise_m) ** 2


def visibility_gain(weight: Tensor, floor: float = VISIBILITY_FLOOR) -> Tensor:
    """Share of the full concentration a landmark of this reliability keeps (0 stays 0: absent)."""
    return torch.where(weight > 0, floor + (1.0 - floor) * weight, torch.zeros_like(weight))


def joint_evidence(observed: Tensor, rest: Tensor, kappa: Tensor, anatomy: Anatomy) -> Tensor:
    """(B, 24, 3, 3) each joint's data term on its world rotation G_j.

    Every observed bone c adds kappa_c d_c t_cᵀ to the joint it hangs off. A bent knee or elbow
    also fixes the twist of the bone above it: the hinge axis h (rest frame of the upper bone)
    must map onto the normal of the plane the two bones span, n = u × f / |u × f|, which adds
    kappa_h n hᵀ to the upper joint, with kappa_h = min(kappa_u, kappa_f) sin²(bend) (a straight
    limb says nothing about its twist).
    """
    children = child_matrix(instant_children, NUM_INSTANT_POINTS, dtype=observed.dtype)
    d = bone_directions(observed, INSTANT_PARENTS)
    t = bone_directions(rest, INSTANT_PARENTS)
    evidence = torch.einsum("jc,bci,bck->bjik", children, d * kappa[..., None], t)
    for upper, (hinge, axis) in anatomy.hinges().items():
        end = SINGLE_CHILD[hinge]
        normal = torch.linalg.cross(d[:, hinge], d[:, end])  # |u x f| = sin(bend)
        k = torch.minimum(kappa[:, hinge], kappa[:, end])
        evidence[:, upper] += k[:, None, None] * normal[:, :, None] * axis.to(observed.dtype)[None, None, :]
    return evidence


def _covariance(precision: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(precision)
    return vecs @ torch.diag_embed(1.0 / vals.clamp_min(1.0 / _MAX_VARIANCE)) @ vecs.mT


def solve_tree(evidence: Tensor, anatomy: Anatomy) -> tuple[Tensor, Tensor]:
    """Posterior of every joint's world rotation, root first: (F (B, 24, 3, 3), modes G).

    The root's orientation is free (a weak isotropic prior); every other joint's prior is its
    anatomical prior around the parent's mode, with the parent's covariance added (a
    root-relative marginal: the root itself counts as known, as in the network's posterior).
    """
    B = evidence.shape[0]
    dtype = evidence.dtype
    eye = torch.eye(3, dtype=dtype)
    L0 = anatomy.relaxed_rotations().to(dtype)
    prior_cov = _covariance(anatomy.prior_precision().to(dtype))
    F = torch.zeros(B, NUM_SMPL_JOINTS, 3, 3, dtype=dtype)
    G = torch.zeros_like(F)
    cov = torch.zeros_like(F)  # tangent covariance of each joint, root-relative, its own frame
    F[:, 0] = ROOT_PRIOR_CONCENTRATION * eye + evidence[:, 0]
    G[:, 0] = fisher.mode(F[:, 0])
    for joint in range(1, NUM_SMPL_JOINTS):
        parent = SMPL_PARENTS[joint]
        carried = L0[joint].mT @ cov[:, parent] @ L0[joint] + prior_cov[joint]
        precision = torch.linalg.inv(carried + 1e-9 * eye)
        prior = fisher_from_precision(G[:, parent] @ L0[joint], 0.5 * (precision + precision.mT))
        F_joint = prior + evidence[:, joint]
        mode = fisher.mode(F_joint)
        local = anatomy.clamp_joint(G[:, parent].mT @ mode, joint)
        G[:, joint] = G[:, parent] @ local
        # same concentrations, centred on the (possibly clamped) mode
        P = mode.mT @ F_joint
        F[:, joint] = G[:, joint] @ (0.5 * (P + P.mT))
        cov[:, joint] = _covariance(precision_from_fisher(G[:, joint], F[:, joint]))
    return F, G


def instant_posterior(observation: SkeletonObservation, rest_points: np.ndarray | Tensor,
                      anatomy: Anatomy, noise_m: float = KEYPOINT_NOISE_M,
                      floor: float = VISIBILITY_FLOOR, extra_evidence: Tensor | None = None) -> InstantPosterior:
    """Posterior over the 24 SMPL joint rotations from an instant-mode skeleton observation.

    rest_points: (B, 43, 3) rest skeleton in SMPL's frame (mapping.instant_rest_points). The
    observation is in camera axes, so the root rotation carries the body into the camera frame.
    """
    observed = torch.as_tensor(observation.points, dtype=torch.float64)
    weight = torch.as_tensor(observation.weight, dtype=torch.float64)
    rest = torch.as_tensor(np.asarray(rest_points), dtype=torch.float64)
    gain = visibility_gain(weight, floor)
    kappa = bone_kappa(rest, noise_m) * gain
    evidence = joint_evidence(observed, rest, kappa, anatomy)
    if extra_evidence is not None:  # e.g. the palms on the wrists (hands.solve), in the same units
        evidence = evidence + extra_evidence.to(evidence.dtype)
    F_world, G = solve_tree(evidence, anatomy)
    G0 = G[:, 0]
    F = torch.cat([F_world[:, :1], F_world[:, 1:] @ G0[:, None].mT], dim=1)
    F = F / (SAMPLE_SHARPNESS * CALIBRATION_TEMPERATURE)
    posterior = Posterior(F=F, root=G0, global_rotmats=G, rotmats=local_from_world(G))
    return InstantPosterior(posterior=posterior, evidence=evidence / CALIBRATION_TEMPERATURE, anatomy=anatomy,
                            observed=observed, rest=rest, kappa=kappa, gain=gain,
                          prior_F=anatomy.prior_F() / CALIBRATION_TEMPERATURE)


def solve_translation(points: np.ndarray, pixels: np.ndarray, weight: np.ndarray, focal: float,
                      principal: tuple[float, float]) -> np.ndarray:
    """Camera translation T (N, 3) so that points + T project onto pixels: the weighted least
    squares of the pixel misses.

    points: (N, K, 3) root-relative metric points in camera axes; pixels: (N, K, 2). A linear fit
    starts it (from u = f (X + Tx) / (Z + Tz) + cx:  f Tx - (u - cx) Tz = (u - cx) Z - f X, and
    likewise for y), but its residual is each pixel miss times that point's depth, so wherever
    the 3D points disagree with the 2D ones (BlazePose's always do a little) a nearer body costs
    less and the linear fit comes back too near: 0.5 % of the distance on rendered random poses,
    1.4 % on the rendered CMU walk (docs/instant-mode.md, "Depth"). Gauss–Newton steps on the
    pixel misses themselves follow (TRANSLATION_STEPS); a frame keeps the linear fit where a
    step would put a weighted point behind the lens or would not lower its misses.
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
    T = np.linalg.solve(ata, (A.transpose(0, 2, 1) @ b[..., None]))[..., 0]
    return _refined_translation(T, p, uv, w, focal)


# Gauss–Newton steps after the linear fit: on bodies at video distances the depth settles within
# 2–3 (under 0.1 mm after 5).
TRANSLATION_STEPS = 5
MIN_DEPTH_M = 0.05  # no weighted point may come nearer the lens than this


def _pixel_misses(T: np.ndarray, p: np.ndarray, uv: np.ndarray, w: np.ndarray, focal: float):
    """Weighted squared pixel misses (N,), the misses (N, K, 2), the points (N, K, 3) and whether
    every weighted point lies in front of the lens (N,)."""
    X = p + T[:, None]
    ahead = np.all((X[..., 2] > MIN_DEPTH_M) | (w <= 0), axis=1)
    z = np.where(X[..., 2] > MIN_DEPTH_M, X[..., 2], MIN_DEPTH_M)
    miss = focal * X[..., :2] / z[..., None] - uv
    return (w * (miss**2).sum(-1)).sum(1), miss, X, z, ahead


def _refined_translation(T: np.ndarray, p: np.ndarray, uv: np.ndarray, w: np.ndarray, focal: float) -> np.ndarray:
    """T moved by Gauss–Newton steps on the weighted squared pixel misses (per frame, each step
    kept only where it lowers them with every weighted point ahead of the lens)."""
    cost, miss, X, z, ahead = _pixel_misses(T, p, uv, w, focal)
    for _ in range(TRANSLATION_STEPS):
        J = np.zeros(p.shape[:2] + (2, 3))  # d(pixel)/dT
        J[..., 0, 0] = J[..., 1, 1] = focal / z
        J[..., :, 2] = -focal * X[..., :2] / z[..., None] ** 2
        Jw = J * w[..., None, None]
        H = np.einsum("nkai,nkaj->nij", Jw, J) + 1e-9 * np.eye(3)
        g = np.einsum("nkai,nka->ni", Jw, miss)
        step = np.linalg.solve(H, -g[..., None])[..., 0]
        moved = T + step
        new_cost, new_miss, new_X, new_z, new_ahead = _pixel_misses(moved, p, uv, w, focal)
        keep = ahead & new_ahead & (new_cost < cost) & np.all(np.isfinite(moved), axis=1)
        T = np.where(keep[:, None], moved, T)
        cost = np.where(keep, new_cost, cost)
        miss = np.where(keep[:, None, None], new_miss, miss)
        X = np.where(keep[:, None, None], new_X, X)
        z = np.where(keep[:, None], new_z, z)
        if not keep.any():
            break
    return T
