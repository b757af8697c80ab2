"""Synthetic benchmark of instant mode against known ground truth.

Poses the demo body in random (plausible) poses, renders it with the CPU renderer from a random
viewpoint, runs BlazePose on the picture, and compares instant mode's posterior with the truth:
detection rate, MPJPE / PA-MPJPE (24 joints, mm), mean joint-rotation error (degrees), and
whether uncertainty ranks the wrong joints higher (Spearman correlation between per-joint
rotation error and uncertainty_deg). The renders are of a mannequin, not a person, so the
figures measure the plumbing and the posterior, not BlazePose's accuracy on real footage.

    python benchmarks/bench_instant.py [--poses 60] [--seed 0]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))  # run from a checkout

import argparse
import time

import numpy as np
import smplx
import torch

from propose_backend.body import demo_body, load_body
from propose_backend.body.layer import BodyLayer
from propose_backend.inference.detect import BlazePoseDetector
from propose_backend.keypoints.instant import instant_posterior
from propose_backend.keypoints.mapping import DerivationFractions, instant_rest_points, landmarks_to_skeleton
from propose_backend.posterior import global_from_local, uncertainty_deg
from propose_backend.render import clothed_face_colors, render_mesh
from propose_backend.skeleton import SMPL_JOINT_NAMES

SIZE, FOCAL = 512, 600.0
SMPL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])  # y up / facing +z  ->  y down / facing the camera


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """Axis-angle (24, 3): moderate random joint bends, arms lowered, knees bending forward only."""
    aa = rng.normal(scale=0.22, size=(24, 3))
    aa[0] = 0
    aa[16, 2] += -1.0 + rng.normal(scale=0.4)  # left arm down from the T-pose
    aa[17, 2] += 1.0 + rng.normal(scale=0.4)
    aa[[4, 5], 0] = np.abs(rng.normal(scale=0.6, size=2))  # knees bend backwards of the shin
    aa[[18, 19], 1] = rng.normal(scale=0.5, size=2)  # elbows
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--poses", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--body", choices=("anny", "mannequin"), default="anny",
                        help="anny: the licence-free body users get; mannequin: the old procedural test body")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    body = load_body(None)[0] if args.body == "anny" else demo_body()
    extra = body.extra_vertex_ids
    layer = BodyLayer(body).double()
    betas = torch.zeros(1, 10, dtype=torch.float64)
    rest35 = layer.rest_points(betas).numpy()
    rest_points, fractions = instant_rest_points(rest35), DerivationFractions.from_rest(rest35)
    colors = clothed_face_colors(body.v_template, body.faces, body.weights,
                                 eyes=(extra[1], extra[2]), nose=extra[0])
    mpjpe, pa_mpjpe, angle_err, errs, uncs = [], [], [], [], []
    detected = 0
    t0 = time.perf_counter()
    blazepose = BlazePoseDetector()
    try:
        for _ in range(args.poses):
            aa = torch.as_tensor(random_pose(rng))
            camera = SMPL_TO_CAMERA @ yaw(rng.uniform(-0.8, 0.8))
            aa_global = torch.as_tensor(camera_axis_angle(camera, aa[0].numpy()))
            aa[0] = aa_global
            rot = smplx.lbs.batch_rodrigues(aa).reshape(1, 24, 3, 3)
            vertices, joints, _ = layer(betas, rot)
            depth = rng.uniform(2.8, 4.0)
            cam_vertices = vertices[0].numpy() + np.array([0, 0.05, depth])
            background = np.full((SIZE, SIZE, 3), rng.integers(90, 200, size=3), np.uint8)
            image = render_mesh(cam_vertices, body.faces, image=background, focal=FOCAL, face_colors=colors)
            found = blazepose.detect(image)
            if not found:
                continue
            detected += 1
            world, visibility = found[0].world_landmarks[:, :3], found[0].landmarks[:, 3]
            obs = landmarks_to_skeleton(world[None], visibility[None], fractions)
            post = instant_posterior(obs, rest_points)
            _, pred_joints, _ = layer(betas, post.rotmats)
            p, g = pred_joints[0].numpy(), joints[0].numpy()
            mpjpe.append(np.linalg.norm(p - g, axis=1).mean() * 1000)
            pa_mpjpe.append(np.linalg.norm(procrustes_aligned(p, g) - g, axis=1).mean() * 1000)
            G_gt = global_from_local(rot[0]).numpy()
            G_pred = post.global_rotmats[0].numpy()
            cos = (np.einsum("jab,jab->j", G_gt, G_pred) - 1) / 2
            err = np.degrees(np.arccos(np.clip(cos, -1, 1)))
            angle_err.append(err.mean())
            errs.append(err)
            uncs.append(uncertainty_deg(post)[0].numpy())
    finally:
        blazepose.close()
    elapsed = time.perf_counter() - t0
    print(f"poses rendered: {args.poses}, BlazePose detected the figure in {detected} "
          f"({100 * detected / args.poses:.0f}%), {elapsed / args.poses * 1000:.0f} ms per pose incl. rendering")
    if not detected:
        print("no detections: nothing to score")
        return
    errs_all, uncs_all = np.concatenate(errs), np.concatenate(uncs)
    print(f"MPJPE     {np.mean(mpjpe):7.1f} mm (24 joints, root-relative)")
    print(f"PA-MPJPE  {np.mean(pa_mpjpe):7.1f} mm")
    print(f"mean joint rotation error {np.mean(angle_err):5.1f} deg (global rotations, 24 joints)")
    print(f"Spearman(per-joint rotation error, uncertainty_deg) = {spearman(errs_all, uncs_all):+.2f} "
          f"over {len(errs_all)} joint estimates")
    per_joint_err, per_joint_unc = np.mean(errs, axis=0), np.mean(uncs, axis=0)
    print("per joint: mean rotation error / mean uncertainty_deg")
    for name, e, u in zip(SMPL_JOINT_NAMES, per_joint_err, per_joint_unc):
        print(f"  {name:15s} {e:6.1f} / {u:5.1f}")
    print(f"Spearman across the 24 joints (mean error vs mean uncertainty) = "
          f"{spearman(per_joint_err, per_joint_unc):+.2f}")


def camera_axis_angle(camera: np.ndarray, root_aa: np.ndarray) -> np.ndarray:
    """Axis-angle of camera @ R(root_aa): the body's global orientation seen from the camera."""
    R = camera @ smplx.lbs.batch_rodrigues(torch.as_tensor(root_aa)[None]).numpy()[0]
    angle = np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))
    if angle < 1e-8:
        return np.zeros(3)
    if np.pi - angle < 1e-6:  # 180 degrees: axis from the symmetric part
        axis = np.sqrt(np.clip((np.diag(R) + 1) / 2, 0, 1))
        axis *= np.sign(np.where(np.abs(R[np.argmax(axis)]) > 0, R[np.argmax(axis)], 1))
        return axis / np.linalg.norm(axis) * angle
    axis = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (2 * np.sin(angle))
    return axis * angle


if __name__ == "__main__":
    main()
