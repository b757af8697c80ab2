"""Synthetic benchmark of instant mode against known ground truth, before/after in one run.

Poses the demo body in random plausible poses, renders it with the CPU renderer from a random
viewpoint, runs BlazePose on the picture, and scores two posteriors on the same landmarks:
"before" (the former weak rest-pose prior F = I with visibility² weights) and "after" (the
anatomical prior of anatomy.py). Figures: detection rate, MPJPE / PA-MPJPE (24
joints, mm) also for the raw BlazePose landmarks, root-relative joint-rotation error,
Spearman(error, uncertainty_deg), calibration (share of errors below the 50 % / 90 % angle
quantiles of the stated distribution 3·F), the share of ghost samples outside the joint limits,
the largest angle between a result limb and its landmarks (visibility >= 0.3), and per-joint
figures. The renders are of a mannequin, not a person: the figures measure the posterior
against BlazePose's errors on such pictures, not BlazePose's accuracy on real footage.

    python benchmarks/bench_instant.py [--poses 100] [--seed 0] [--cache /tmp/x.npz] [--plot docs/x.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))  # run from a checkout

import argparse
import time

import numpy as np
import smplx
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch

from propose_backend import geometry
from propose_backend.body import demo_body, load_body
from propose_backend.body.layer import BodyLayer
from propose_backend.anatomy import Anatomy
from calibration import angle_deg, root_relative, stated_quantiles
from propose_backend.instant.ghosts import sample_ghosts
from propose_backend.instant.bone_posterior import bone_kappa, instant_posterior
from propose_backend.instant.mapping import (
    INSTANT_PARENTS, NUM_INSTANT_POINTS, DerivationFractions, instant_children, instant_rest_points,
    landmarks_to_skeleton,
)
from propose_backend.posterior import (
    analytical_posterior, child_matrix, sorted_samples, uncertainty_deg,
)
from propose_backend.skeleton import SMPL_JOINT_NAMES

SIZE, FOCAL = 512, 600.0
SMPL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])  # y up / facing +z  ->  y down / facing the camera
# limb bones scored against the landmarks: (joint whose rotation carries the bone, bone's end point)
LIMBS = {"left thigh": (1, 4), "right thigh": (2, 5), "left shin": (4, 7), "right shin": (5, 8),
         "left upper arm": (16, 18), "right upper arm": (17, 19), "left forearm": (18, 20),
         "right forearm": (19, 21)}
SAMPLES = 16


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """Axis-angle (24, 3): moderate random joint bends, arms lowered, knees and elbows flexing."""
    aa = rng.normal(scale=0.22, size=(24, 3))
    aa[0] = 0
    aa[16, 2] += -1.0 + rng.normal(scale=0.4)  # left arm down from the T-pose
    aa[17, 2] += 1.0 + rng.normal(scale=0.4)
    aa[[4, 5], 0] = np.abs(rng.normal(scale=0.6, size=2))  # knees bend backwards of the shin
    aa[18, 1] = -np.abs(rng.normal(scale=0.7))  # elbows flex forwards (left: -y, right: +y)
    aa[19, 1] = np.abs(rng.normal(scale=0.7))
    return aa


def yaw(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def procrustes_aligned(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred aligned to gt by the best similarity transform (rotation, scale, translation)."""
    mp, mg = pred.mean(0), gt.mean(0)
    p, g = pred - mp, gt - mg
    U, S, Vt = np.linalg.svd(p.T @ g)
    D = np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    scale = np.trace(np.diag(S) @ D) / (p ** 2).sum()
    return scale * p @ R + mg


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def render_poses(count: int, seed: int, body) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Render `count` random poses and run BlazePose: truth rotations and landmarks per detection."""
    from propose_backend.inference.detect import BlazePoseDetector
    from clothing import clothed_face_colors
    from propose_backend.render import render_mesh

    rng = np.random.default_rng(seed)
    layer = BodyLayer(body).double()
    betas = torch.zeros(1, 10, dtype=torch.float64)
    colors = clothed_face_colors(body.v_template, body.faces, body.weights,
                                 eyes=(body.extra_vertex_ids[1], body.extra_vertex_ids[2]), nose=body.extra_vertex_ids[0])
    out: dict[str, list] = {"rotmats": [], "world": [], "visibility": []}
    blazepose = BlazePoseDetector()
    try:
        for _ in range(count):
            aa = torch.as_tensor(random_pose(rng))
            aa[0] = torch.as_tensor(camera_axis_angle(SMPL_TO_CAMERA @ yaw(rng.uniform(-0.8, 0.8)), aa[0].numpy()))
            rot = smplx.lbs.batch_rodrigues(aa).reshape(1, 24, 3, 3)
            vertices, _, _ = layer(betas, rot)
            cam_vertices = vertices[0].numpy() + np.array([0, 0.05, rng.uniform(2.8, 4.0)])
            background = np.full((SIZE, SIZE, 3), rng.integers(90, 200, size=3), np.uint8)
            image = render_mesh(cam_vertices, body.faces, image=background, focal=FOCAL, face_colors=colors)
            found = blazepose.detect(image)
            if found:
                out["rotmats"].append(rot[0].numpy())
                out["world"].append(found[0].world_landmarks[:, :3])
                out["visibility"].append(found[0].landmarks[:, 3])
    finally:
        blazepose.close()
    return {k: np.asarray(v) for k, v in out.items()} | {"rendered": np.array(count)}


def before_posterior(obs, rest_points: np.ndarray):  # noqa: ANN001, ANN201
    """The former instant posterior: F = 1·I rest-pose prior (0.1·I root), kappa = (len/5cm)² w²."""
    observed = torch.as_tensor(obs.points, dtype=torch.float64)
    rest = torch.as_tensor(rest_points, dtype=torch.float64)
    kappa = bone_kappa(rest, 0.05) * torch.as_tensor(obs.weight, dtype=torch.float64) ** 2
    prior = torch.eye(3, dtype=torch.float64).expand(observed.shape[0], 24, 3, 3).clone()
    prior[:, 0] *= 0.1
    children = child_matrix(instant_children, NUM_INSTANT_POINTS, dtype=torch.float64)
    return analytical_posterior(prior, observed, rest, kappa=kappa, children=children, parents=INSTANT_PARENTS)


def score(name: str, post, samples: torch.Tensor, truth: dict, anatomy: Anatomy, layer: BodyLayer,  # noqa: ANN001
          obs, rest_points: np.ndarray, generator: torch.Generator) -> dict[str, np.ndarray]:
    """Every figure of one method; returns the per-estimate arrays for plots."""
    n = truth["rotmats"].shape[0]
    betas = torch.zeros(n, 10, dtype=torch.float64)
    _, gt_joints, _ = layer(betas, torch.as_tensor(truth["rotmats"]))
    _, pred_joints, _ = layer(betas, post.rotmats.double())
    g, p = gt_joints.numpy(), pred_joints.numpy()
    mpjpe = np.linalg.norm(p - g, axis=-1).mean() * 1000
    pa = np.mean([np.linalg.norm(procrustes_aligned(p[i], g[i]) - g[i], axis=1).mean() for i in range(n)]) * 1000
    G_true = geometry.world_from_local(torch.as_tensor(truth["rotmats"])).numpy()
    err = angle_deg(root_relative(post.global_rotmats.double().numpy()), root_relative(G_true))
    unc = uncertainty_deg(post).double().numpy()
    q = stated_quantiles(post.F, (0.5, 0.9), generator)
    outside = 100 * (~anatomy.within(samples.double())[..., 1:]).any(-1).float().mean().item()
    # limbs against the landmarks they come from
    rest_dir = rest_points[0] - rest_points[0, list(max(pp, 0) for pp in INSTANT_PARENTS)]
    Gp = post.global_rotmats.double().numpy()
    limb_dev = []
    for joint, point in LIMBS.values():
        d_obs = obs.points[:, point] - obs.points[:, INSTANT_PARENTS[point]]
        d_res = Gp[:, joint] @ rest_dir[point]
        cos = (d_obs * d_res).sum(-1) / np.linalg.norm(d_obs, axis=-1) / np.linalg.norm(d_res, axis=-1)
        seen = np.minimum(obs.weight[:, point], obs.weight[:, INSTANT_PARENTS[point]]) >= 0.3
        limb_dev.append(np.where(seen, np.degrees(np.arccos(np.clip(cos, -1, 1))), np.nan))
    limb_dev = np.array(limb_dev).T
    print(f"\n== {name} ==")
    print(f"MPJPE {mpjpe:6.1f} mm   PA-MPJPE {pa:6.1f} mm   root-relative rotation error {err.mean():5.1f} deg")
    print(f"Spearman(error, uncertainty_deg): all {err.size} estimates {spearman(err.ravel(), unc.ravel()):+.2f}, "
          f"across the 24 joints {spearman(err.mean(0), unc.mean(0)):+.2f}")
    print(f"calibration: {100 * np.mean(err < q[..., 0]):.0f} % of errors below the stated 50 % quantile, "
          f"{100 * np.mean(err < q[..., 1]):.0f} % below the 90 % quantile "
          f"({100 * np.mean(err < unc):.0f} % below uncertainty_deg itself)")
    print(f"ghost samples with a joint outside the limits: {outside:.1f} %")
    print(f"limb vs its landmarks (visibility >= 0.3): mean {np.nanmean(limb_dev):.1f} deg, "
          f"max {np.nanmax(limb_dev):.1f} deg, over 10 deg: {np.mean(limb_dev[~np.isnan(limb_dev)] > 10) * 100:.1f} %")
    print("per joint: error / uncertainty_deg / share below 50 % / 90 % quantile")
    for j, jn in enumerate(SMPL_JOINT_NAMES):
        print(f"  {jn:15s} {err[:, j].mean():6.1f} / {unc[:, j].mean():5.1f} / "
              f"{100 * np.mean(err[:, j] < q[:, j, 0]):3.0f} % / {100 * np.mean(err[:, j] < q[:, j, 1]):3.0f} %")
    return {"err": err, "q": q, "unc": unc, "pa": np.array(pa)}


def calibration_plot(path: Path, results: dict[str, dict[str, np.ndarray]], generator: torch.Generator,
                     posts: dict) -> None:  # noqa: ANN001
    """Reliability diagram: share of errors below each stated quantile, for both methods."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = np.linspace(0.05, 0.95, 19)
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=100)
    ax.plot([0, 100], [0, 100], color="grey", lw=1, ls="--", label="ideal")
    for (name, res), colour in zip(results.items(), ("tab:red", "tab:blue")):
        q = stated_quantiles(posts[name].F, tuple(levels), generator)
        observed = [100 * np.mean(res["err"] < q[..., k]) for k in range(len(levels))]
        ax.plot(100 * levels, observed, marker="o", ms=3, color=colour, label=name)
    ax.fill_between([0, 100], [-10, 90], [10, 110], color="grey", alpha=0.12, label="±10 points")
    ax.set_xlim(0, 100), ax.set_ylim(0, 100)
    ax.set_xlabel("stated quantile of the rotation error (%)")
    ax.set_ylabel("share of actual errors below it (%)")
    ax.set_title("Instant mode calibration (synthetic)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    print(f"calibration plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--poses", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, help="reuse (or write) the rendered poses' landmarks here")
    parser.add_argument("--plot", type=Path, help="write the calibration plot (PNG) here")
    parser.add_argument("--body", choices=("anny", "mannequin"), default="anny",
                        help="anny: the licence-free body users get; mannequin: the old procedural test body")
    args = parser.parse_args()
    body = load_body(None)[0] if args.body == "anny" else demo_body()
    t0 = time.perf_counter()
    if args.cache and args.cache.exists():
        truth = dict(np.load(args.cache))
    else:
        truth = render_poses(args.poses, args.seed, body)
        if args.cache:
            np.savez_compressed(args.cache, **truth)
    n = truth["rotmats"].shape[0]
    print(f"poses rendered: {int(truth['rendered'])}, BlazePose detected the figure in {n}, "
          f"{(time.perf_counter() - t0) / int(truth['rendered']) * 1000:.0f} ms per pose incl. rendering")
    if not n:
        print("no detections: nothing to score")
        return
    layer = BodyLayer(body).double()
    rest35 = layer.rest_points(torch.zeros(1, 10, dtype=torch.float64)).numpy()
    rest_points, fractions = instant_rest_points(rest35), DerivationFractions.from_rest(rest35)
    anatomy = Anatomy.from_rest(rest35)
    obs = landmarks_to_skeleton(truth["world"], truth["visibility"], fractions)
    rest_n = np.repeat(rest_points, n, axis=0)
    # raw landmarks: their own 24 joints (derived spine etc.), pelvis-relative
    g = layer(torch.zeros(n, 10, dtype=torch.float64), torch.as_tensor(truth["rotmats"]))[1].numpy()
    raw = obs.points[:, :24] * np.array([1.0, -1.0, -1.0])  # back to SMPL axes (alignment handles the rest)
    pa_raw = np.mean([np.linalg.norm(procrustes_aligned(raw[i], g[i]) - g[i], axis=1).mean() for i in range(n)]) * 1000
    print(f"raw BlazePose landmarks: PA-MPJPE {pa_raw:6.1f} mm (24 joints, derived where not landmarks)")
    gen = torch.Generator().manual_seed(args.seed)
    before = before_posterior(obs, rest_n)
    before_samples, _ = sorted_samples(before, SAMPLES, gen)
    after_full = instant_posterior(obs, rest_n, anatomy)
    after = after_full.posterior
    after_samples, _ = sample_ghosts(after_full, SAMPLES, gen)
    posts = {"before (rest prior)": before, "after (anatomical prior)": after}
    results = {
        "before (rest prior)": score("before (rest prior)", before, before_samples, truth, anatomy, layer,
                                     obs, rest_points, gen),
        "after (anatomical prior)": score("after (anatomical prior)", after, after_samples, truth, anatomy, layer,
                                          obs, rest_points, gen),
    }
    if args.plot:
        calibration_plot(args.plot, results, gen, posts)


def camera_axis_angle(camera: np.ndarray, root_aa: np.ndarray) -> np.ndarray:
    """Axis-angle of camera @ R(root_aa): the body's global orientation seen from the camera."""
    return geometry.matrix_to_axis_angle(camera @ geometry.axis_angle_to_matrix(root_aa))


if __name__ == "__main__":
    main()
