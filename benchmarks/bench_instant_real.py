"""Instant mode on real pictures, before/after in one run (no 3D ground truth: agreement figures).

Photos (`../shared/data/photos`): per limb, the angle between the result's 3D direction and
the raw BlazePose world landmarks' (limbs whose landmarks have visibility >= 0.3: nothing should
snap away from visible evidence), and the 2D reprojection error of the result's joints against
BlazePose's image landmarks (camera translation solved as in the estimator, focal = image
diagonal as in the pipeline). Street video (`../shared/data/footage`): the standard deviation
over the clip of each limb bone's uncertainty_deg, and a plot of it over time.
"before" is the former rest-pose prior (benchmarks/bench_instant.before_posterior).

    python benchmarks/bench_instant_real.py [--data ../shared/data] [--plot docs/x.png] [--frames 205]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse

import cv2
import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch

from bench_instant import LIMBS, before_posterior
from propose_backend.body import demo_body
from propose_backend.body.layer import BodyLayer
from propose_backend.inference.detect import BlazePoseDetector
from propose_backend.anatomy import Anatomy
from propose_backend.instant.landmark_estimator import in_frame_visibility
from propose_backend.instant.bone_posterior import instant_posterior, solve_translation
from propose_backend.instant.mapping import (
    BP, DIRECT, INSTANT_PARENTS, DerivationFractions, instant_rest_points, landmarks_to_skeleton,
)
from propose_backend.posterior import uncertainty_deg
from propose_backend.skeleton import SMPL_JOINT_NAMES

LIMB_JOINTS = (1, 2, 4, 5, 16, 17, 18, 19)  # thighs, shins, upper arms, forearms (their rotating joint)
PROJECTED = {p: n for p, n in DIRECT.items() if p < 24}  # joints read directly from one landmark


class Setup:
    def __init__(self) -> None:
        self.layer = BodyLayer(demo_body()).double()
        rest35 = self.layer.rest_points(torch.zeros(1, 10, dtype=torch.float64)).numpy()
        self.rest = instant_rest_points(rest35)
        self.fractions = DerivationFractions.from_rest(rest35)
        self.anatomy = Anatomy.from_rest(rest35)

    def posteriors(self, world: np.ndarray, visibility: np.ndarray):  # noqa: ANN201
        obs = landmarks_to_skeleton(world, visibility, self.fractions)
        rest = np.repeat(self.rest, world.shape[0], axis=0)
        return obs, {"before": before_posterior(obs, rest),
                     "after": instant_posterior(obs, rest, self.anatomy).posterior}


def limb_deviation(post, obs, rest: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """(N, 8) angle between result and landmark limb directions; NaN where visibility < 0.3."""
    rest_dir = rest[0] - rest[0, [max(p, 0) for p in INSTANT_PARENTS]]
    G = post.global_rotmats.double().numpy()
    out = []
    for joint, point in LIMBS.values():
        d_obs = obs.points[:, point] - obs.points[:, INSTANT_PARENTS[point]]
        d_res = G[:, joint] @ rest_dir[point]
        cos = (d_obs * d_res).sum(-1) / np.linalg.norm(d_obs, axis=-1) / np.linalg.norm(d_res, axis=-1)
        seen = np.minimum(obs.weight[:, point], obs.weight[:, INSTANT_PARENTS[point]]) >= 0.3
        out.append(np.where(seen, np.degrees(np.arccos(np.clip(cos, -1, 1))), np.nan))
    return np.array(out).T


def photos(setup: Setup, folder: Path) -> None:
    files = sorted(folder.glob("*.jpg"))
    detector = BlazePoseDetector(video=False)
    dev = {"before": [], "after": []}
    reproj = {"before": [], "after": []}
    try:
        for path in files:
            image = cv2.imread(str(path))
            found = detector.detect(image)
            if not found:
                print(f"  {path.name}: no person")
                continue
            h, w = image.shape[:2]
            pixels = found[0].landmarks[:, :2] * (w, h)
            vis = in_frame_visibility(np.c_[pixels, found[0].landmarks[:, 3]][None], (w, h))
            world = found[0].world_landmarks[None, :, :3]
            obs, posts = setup.posteriors(world, vis)
            focal, principal = float(np.hypot(w, h)), (w / 2, h / 2)
            line = [f"  {path.name}:"]
            for name, post in posts.items():
                d = limb_deviation(post, obs, setup.rest)
                dev[name].append(d[0])
                _, _, points = setup.layer(torch.zeros(1, 10, dtype=torch.float64), post.rotmats.double())
                pts = points[0].numpy()
                # the estimator's translation: world landmarks relative to the derived pelvis
                T = solve_translation(obs.points[:, list(PROJECTED)], pixels[None, [BP[n] for n in PROJECTED.values()]],
                                      vis[:, [BP[n] for n in PROJECTED.values()]], focal, principal)[0]
                cam = pts[list(PROJECTED)] + T
                uv = cam[:, :2] / cam[:, 2:] * focal + principal
                target = pixels[[BP[n] for n in PROJECTED.values()]]
                seen = vis[0, [BP[n] for n in PROJECTED.values()]] >= 0.3
                err = np.linalg.norm(uv - target, axis=-1)[seen] / max(w, h) * 100
                reproj[name].append(err)
                line.append(f"{name}: limbs max {np.nanmax(d) if np.isfinite(d).any() else float('nan'):5.1f} deg, "
                            f"2D {err.mean():4.1f} % of image")
            print("  ".join(line))
    finally:
        detector.close()
    for name in dev:
        d = np.concatenate(dev[name])
        r = np.concatenate(reproj[name])
        d = d[np.isfinite(d)]
        print(f"photos, {name}: {d.size} visible limbs, direction vs landmarks mean {d.mean():.1f} deg, "
              f"max {d.max():.1f} deg, {np.mean(d > 10) * 100:.0f} % over 10 deg; 2D reprojection mean "
              f"{r.mean():.2f} % of the image size ({len(r)} joints)")


def street(setup: Setup, video: Path, frames: int, plot: Path | None) -> None:
    capture = cv2.VideoCapture(str(video))
    detector = BlazePoseDetector(video=True)
    worlds, vis = [], []
    try:
        while len(worlds) < frames:
            ok, image = capture.read()
            if not ok:
                break
            found = detector.detect(image)
            if not found:
                continue
            h, w = image.shape[:2]
            pixels = found[0].landmarks[:, :2] * (w, h)
            vis.append(in_frame_visibility(np.c_[pixels, found[0].landmarks[:, 3]][None], (w, h))[0])
            worlds.append(found[0].world_landmarks[:, :3])
    finally:
        detector.close()
        capture.release()
    world, visibility = np.asarray(worlds), np.asarray(vis)
    _, posts = setup.posteriors(world, visibility)
    print(f"street video: {len(worlds)} frames with a person")
    curves = {}
    for name, post in posts.items():
        unc = uncertainty_deg(post).double().numpy()
        std = unc.std(axis=0)
        curves[name] = unc
        limbs = ", ".join(f"{SMPL_JOINT_NAMES[j]} {std[j]:.1f}" for j in LIMB_JOINTS)
        print(f"  {name}: std of uncertainty_deg over the clip (deg): {limbs}; "
              f"bones with std <= 0.5: {int(np.sum(std <= 0.5))} of 24; lowest reading {unc.min():.1f} deg")
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 1, figsize=(7.5, 5.2), dpi=72, sharex=True)
        t = np.arange(len(worlds))
        for ax, name in zip(axes, ("before", "after")):
            for j in LIMB_JOINTS:
                ax.plot(t, curves[name][:, j], lw=1, label=SMPL_JOINT_NAMES[j])
            ax.set_ylabel("uncertainty_deg")
            ax.set_title(f"{name}: limb bones over the street video", fontsize=9)
        axes[1].plot(t, 100 * (1 - visibility[:, [BP["left_wrist"], BP["right_wrist"], BP["left_ankle"],
                                                  BP["right_ankle"]]].mean(axis=1)) / 2,
                     color="black", lw=1.5, ls=":", label="(1 - visibility of wrists/ankles) x 50")
        axes[1].set_xlabel("frame")
        axes[1].legend(fontsize=6, ncol=3, loc="upper right")
        fig.tight_layout()
        fig.savefig(plot)
        print(f"plot: {plot}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--frames", type=int, default=205)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no real data at {args.data}: nothing to measure")
        return
    setup = Setup()
    photos(setup, args.data / "photos")
    street(setup, args.data / "footage" / "street_crowd_720p50.avi", args.frames, args.plot)


if __name__ == "__main__":
    main()
