"""Fingers on rendered pictures with known finger poses: the whole instant-mode path, hands included.

The Anny body (the licence-free body users get, with its finger bones and finger skinning) is posed
with the arms forward, the wrists turned at random and both hands in known finger poses (fist,
point, pinch, spread, relaxed, thumbs-up, and random poses within the limits), skinned over its 54
joints, rendered by the project's CPU renderer (render.py) from several viewpoints and distances,
and run through the instant-mode estimator exactly as a frame of footage (BlazePose, hand crops,
MediaPipe's hand landmarker, body and finger posteriors). Reported: per-finger-joint angle error of
the local rotations, hand PA-MPJPE over the 21 hand points, the share of errors under the stated
50 % / 90 % quantiles (from the ghosts), Spearman(error, uncertainty), seen vs unseen uncertainty,
and the time per frame with and without the hands. A render is a mannequin, not a person: the
figures measure the pipeline on such pictures.

    PYTHONPATH=backend python benchmarks/bench_hands_rendered.py [--frames 120] [--seed 0]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch
from scipy.stats import spearmanr

from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.hands.correction import shipped
from propose_backend.hands.fingers import HandAnatomy, hand_landmarks, hand_posterior, sample_hand
from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.detect import BlazePoseDetector
from propose_backend.inference.model_files import ModelFiles
from propose_backend.inference.protocol import EstimatorSettings, FrameBatch
from propose_backend.anatomy import _compose
from propose_backend.instant.landmark_estimator import KeypointEstimator
from propose_backend.geometry import world_from_local
from hand_scene import Scene, hand_points, random_arms_forward, render
from propose_backend.geometry import project

WIDTH, HEIGHT, FOCAL = 720, 960, 900.0
NAMED = ("fist", "point", "pinch", "spread", "relaxed", "thumbs-up")
SAMPLES = 32


def finger_fractions(name: str, rng: np.random.Generator) -> np.ndarray:
    """(15, 3) positions inside each joint's (flexion, abduction, twist) range; twist kept neutral."""
    f = np.full((15, 3), 0.5)
    if name == "fist":
        f[:, 0] = 0.9
    elif name == "point":
        f[:, 0], f[0:3, 0] = 0.9, 0.2
    elif name == "pinch":
        f[:, 0], f[0:3, 0], f[12:15, 0] = 0.3, 0.55, 0.6
    elif name == "spread":
        f[:, 0] = 0.2
        f[[0, 6, 9], 1] = (0.15, 0.85, 0.7)
    elif name == "relaxed":
        f[:, 0] = 0.35
    elif name == "thumbs-up":
        f[:12, 0], f[12:15, 0] = 0.9, 0.15
    else:
        f = rng.uniform(0.1, 0.9, (15, 3))
        f[:, 2] = 0.5 + 0.3 * (f[:, 2] - 0.5)
    return f


def pose(rng: np.random.Generator, anatomy: HandAnatomy, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(24, 3, 3) body and (30, 3, 3) finger local rotations."""
    body = random_arms_forward(rng, yaw=0.7, shoulder=(0.25, 0.2), elbow=0.3, wrist=0.45)
    hands = []
    for side in (0, 1):
        f = torch.as_tensor(finger_fractions(name, rng))
        comp = anatomy.low[side] + f * (anatomy.high[side] - anatomy.low[side])
        hands.append(_compose(comp, anatomy.frames[side]).numpy())
    return body, np.concatenate(hands)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (np.einsum("...ij,...ij->...", a, b) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    p, g = pred - pred.mean(0), gt - gt.mean(0)
    U, S, Vt = np.linalg.svd(p.T @ g)
    D = np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))])
    scale = np.trace(np.diag(S) @ D) / (p ** 2).sum()
    return float(np.linalg.norm(scale * p @ (U @ D @ Vt) - g, axis=1).mean())


def sweep(anatomy: HandAnatomy, kept: list) -> None:
    """Mode error and calibration of the finger posterior at other landmark noise levels (same landmarks)."""
    torch.set_num_threads(1)  # thousands of tiny 3x3 operations: a thread pool only slows them down
    for noise in (0.006, 0.01, 0.015, 0.02, 0.03):
        errs, q = [], []
        for side, world, gain, wrist, truth, _, _ in kept:
            post = hand_posterior(anatomy, side, torch.as_tensor(world)[None], torch.tensor([gain]),
                                  torch.as_tensor(wrist)[None], noise_m=noise)
            err = angle_deg(post.local[0].numpy(), truth)
            draws = sample_hand(anatomy, side, post, torch.as_tensor(wrist)[None], SAMPLES)[0].numpy()
            spread = angle_deg(draws, post.local[0, None].numpy())
            q.append([np.mean(err <= np.quantile(spread, 0.5, axis=0)), np.mean(err <= np.quantile(spread, 0.9, axis=0))])
            errs.append(err)
        q = np.mean(q, axis=0)
        print(f"  noise {1000 * noise:4.0f} mm: error mean {np.mean(errs):.1f}°, median {np.median(errs):.1f}°, "
              f"under 50 % / 90 %: {q[0]:.2f} / {q[1]:.2f}")


def posterior_coverage(anatomy: HandAnatomy, kept: list, draws: int = 64) -> np.ndarray:
    """(hands, 2, 15) whether each joint's error is under the 50 % / 90 % quantile of `draws` draws
    of its posterior (a few ghosts per frame estimate those quantiles too coarsely)."""
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    out = []
    for side, world, gain, wrist, truth, _, terms in kept:
        w = torch.as_tensor(wrist)[None]
        post = hand_posterior(anatomy, side, torch.as_tensor(world)[None], torch.tensor([gain]), w, **terms)
        err = angle_deg(post.local[0].numpy(), truth)
        spread = angle_deg(sample_hand(anatomy, side, post, w, draws, generator)[0].numpy(), post.local[0, None].numpy())
        out.append(np.stack([err <= np.quantile(spread, 0.5, axis=0), err <= np.quantile(spread, 0.9, axis=0)]))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--samples", type=int, default=SAMPLES, help="ghosts per frame (the add-on's default is 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true", help="also re-solve the read hands at other landmark noises")
    parser.add_argument("--save", help="write the first rendered frames here (PNG prefix)")
    parser.add_argument("--dump", help="write each hand's figures here (npz: frame, side, read, finger error, 2D "
                                       "landmark distance to its own and the other true hand), to compare two runs")
    parser.add_argument("--corrected", action="store_true",
                        help="solve the learned correction's reads (hands/correction.py), not the landmarker's own")
    parser.add_argument("--tracking", action="store_true",
                        help="read the frames as one clip, the hand landmarker tracking from frame to frame (as on "
                             "footage); by default each frame is read as the unrelated still it is")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    hands_rest, _ = anny_body().hand_rest(DEFAULT_PHENOTYPE)
    anatomy = HandAnatomy.from_rest(hands_rest)
    estimator = KeypointEstimator(EstimatorSettings(ModelFiles(None, None, Path("."))))
    blazepose = BlazePoseDetector(video=False)
    camera = ImageCamera(FOCAL, (WIDTH / 2, HEIGHT / 2))
    raw_pas, kept = [], []
    errors, uncs, quants, pas, seen_unc, unseen_unc, times, hand_times, names = [], [], [], [], [], [], [], [], []
    wrong_hand = 0  # reads whose landmarks lie clearly on the other hand (where the hands overlap)
    records: list[tuple[int, int, bool, float, float, float]] = []  # --dump: frame, side, read, error, own/other px
    sizes: list[float] = []  # hand length in the picture (pixels), as the landmarker found it
    halves: list[int] = []  # even frames: the half the stated spread was fitted on; odd: held out
    solver = estimator.fingers
    # Each frame is a new scene (pose, view, distance): tracking would start every frame from the last
    # frame's unrelated hand, a handicap real footage does not have.
    solver.video = args.tracking
    if args.corrected:
        solver.correction = shipped()
    spent = {"t": 0.0, "seen": None, "raw": None}
    parts: dict[str, list[float]] = {}

    def timed(fn):  # noqa: ANN001, ANN202 - wraps the finger solver's steps to time them
        def run(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            try:
                result = fn(*a, **k)
                if fn.__name__ == "observe":
                    spent["seen"] = result
                if fn.__name__ == "corrected":
                    spent["raw"] = a[0].world.copy()
                return result
            finally:
                if fn.__name__ != "corrected":  # inside observe, already counted there
                    spent["t"] += time.perf_counter() - t
                parts.setdefault(fn.__name__, []).append(time.perf_counter() - t)
        return run

    solver.observe, solver.solve_on_body, solver.wrist_evidence = timed(solver.observe), timed(solver.solve_on_body), \
        timed(solver.wrist_evidence)  # the steps the estimator calls
    solver.corrected = timed(solver.corrected)  # inside observe; wrapped to keep its input, the raw read
    for k in range(args.frames):
        name = NAMED[k % len(NAMED)] if k < args.frames // 2 else "random"  # enough hands per named pose
        body, fingers = pose(rng, anatomy, name)
        local = np.concatenate([body, fingers])
        distance = rng.uniform(1.8, 3.0)
        image, _ = render(local, distance, Scene(WIDTH, HEIGHT, FOCAL), tuple(int(c) for c in rng.integers(90, 200, 3)))
        if args.save and k < 6:
            import cv2
            cv2.imwrite(f"{args.save}{k}.png", image)
        found = blazepose.detect(image)
        if not found:
            continue
        batch = FrameBatch(frame_index=np.array([k]), boxes=np.array([[WIDTH / 2, HEIGHT / 2, HEIGHT]]), crops=None,
                           detections=[found[0]], camera=camera, num_samples=args.samples, image_size=(WIDTH, HEIGHT),
                           images=[image])
        spent["t"] = 0.0
        t = time.perf_counter()
        out = estimator.estimate(batch)
        times.append(time.perf_counter() - t)
        hand_times.append(spent["t"])
        true_px = [project(points, FOCAL, (WIDTH / 2, HEIGHT / 2)) for points in hand_points(local, distance, hands_rest)]
        for side in (0, 1):
            cols = slice(15 * side, 15 * side + 15)
            misses = [np.nan, np.nan]
            if out["hand_valid"][0, side]:
                misses = [np.linalg.norm(spent["seen"].pixels[0, side] - true_px[h], axis=1).mean() for h in (side, 1 - side)]
                wrong_hand += int(misses[1] < 0.7 * misses[0])
            records.append((k, side, bool(out["hand_valid"][0, side]),
                            angle_deg(out["hand_rotmats"][0, cols], fingers[cols]).mean(), *misses))
            if not out["hand_valid"][0, side]:
                unseen_unc.append(out["hand_uncertainty_deg"][0, cols].mean())
                continue
            err = angle_deg(out["hand_rotmats"][0, cols], fingers[cols])
            spread = angle_deg(out["hand_samples"][0, :, cols], out["hand_rotmats"][0, None, cols])
            quants.append(np.stack([err <= np.quantile(spread, 0.5, axis=0), err <= np.quantile(spread, 0.9, axis=0)]))
            errors.append(err)
            uncs.append(out["hand_uncertainty_deg"][0, cols])
            seen_unc.append(out["hand_uncertainty_deg"][0, cols].mean())
            eye = torch.eye(3, dtype=torch.float64)
            pred = hand_landmarks(anatomy, side, torch.as_tensor(out["hand_rotmats"][0, cols], dtype=torch.float64), eye)
            gt = hand_landmarks(anatomy, side, torch.as_tensor(fingers[cols]), eye)
            pas.append(pa_mpjpe(pred.numpy(), gt.numpy()))
            raw_pas.append(pa_mpjpe(spent["raw"][0, side], gt.numpy()))
            wrist = world_from_local(torch.as_tensor(out["rotmats"][0], dtype=torch.float64))[20 + side]
            kept.append((side, spent["seen"].world[0, side], spent["seen"].gain[0, side], wrist.numpy(), fingers[cols],
                         spent["seen"].pixels[0, side], spent["seen"].posterior_terms(side)))
            names.append(name)
            halves.append(k % 2)
            px = spent["seen"].pixels[0, side]
            sizes.append(2.0 * np.linalg.norm(px[9] - px[0]))  # wrist to middle knuckle, twice
    estimator.close()
    blazepose.close()
    if args.dump:
        np.savez(args.dump, **dict(zip(("frame", "side", "read", "error", "own_px", "other_px"),
                                       (np.array(column) for column in zip(*records)))))
    n_hands = 2 * len(times)
    print(f"{args.frames} frames rendered, body found in {len(times)}, hands read {len(errors)} of {n_hands}, "
          f"{wrong_hand} of them clearly the other hand (its 2D landmarks under 0.7x as far from the other hand's)")
    if errors:
        e, u = np.array(errors), np.array(uncs)
        q = np.array(quants).mean(axis=(0, 2))
        print(f"finger joint error: mean {e.mean():.1f}°, median {np.median(e):.1f}°; per joint "
              f"{np.round(e.mean(0), 1).tolist()}")
        for n in sorted(set(names)):
            sel = [i for i, m in enumerate(names) if m == n]
            print(f"  {n:10s} {e[sel].mean():5.1f}° ({len(sel)} hands)")
        print(f"hand PA-MPJPE (21 points): {1000 * np.mean(pas):.1f} mm (MediaPipe's own landmarks: "
              f"{1000 * np.mean(raw_pas):.1f} mm)")
        print(f"under the stated 50 % / 90 % quantiles: {q[0]:.2f} / {q[1]:.2f}; "
              f"Spearman(error, uncertainty) {spearmanr(e.ravel(), u.ravel())[0]:.2f}")
        cover = posterior_coverage(anatomy, kept)
        qp = cover.mean(axis=(0, 2))
        print(f"  quantiles from 64 draws of each posterior instead of the frame's {args.samples} ghosts: "
              f"{qp[0]:.2f} / {qp[1]:.2f}")
        for half, label in ((0, "even frames (the spread's fit half)"), (1, "odd frames (held out)")):
            sel = [i for i, h in enumerate(halves) if h == half]
            if sel:
                qh, qd = np.array(quants)[sel].mean(axis=(0, 2)), cover[sel].mean(axis=(0, 2))
                print(f"  {label}: {len(sel)} hands, error {e[sel].mean():.1f}°, under 50 % / 90 %: {qh[0]:.2f} / "
                      f"{qh[1]:.2f} (64 draws: {qd[0]:.2f} / {qd[1]:.2f}), Spearman "
                      f"{spearmanr(e[sel].ravel(), u[sel].ravel())[0]:.2f}, uncertainty {u[sel].mean():.1f}°")
        size = np.array([s for s in sizes])
        for lo, hi in ((0, 50), (50, 70), (70, 1e9)):
            sel = (size >= lo) & (size < hi)
            if sel.any():
                print(f"  hands {lo:.0f}-{hi:.0f} px long: {sel.sum()} hands, error {e[sel].mean():.1f}°, "
                      f"uncertainty {u[sel].mean():.1f}°")
        print(f"uncertainty: read hands {np.mean(seen_unc):.1f}°" +
              (f", unread hands {np.mean(unseen_unc):.1f}°" if unseen_unc else ""))
    if times:
        total, hands = np.median(times), np.median(hand_times)
        print(f"time per frame (median): {1000 * total:.0f} ms with hands, {1000 * (total - hands):.0f} ms without "
              f"(hands add {100 * hands / (total - hands):.0f} %: "
              + ", ".join(f"{k} {1000 * np.median(v):.0f} ms" for k, v in parts.items()) + ")")
    if kept and args.sweep:
        sweep(anatomy, kept)


if __name__ == "__main__":
    main()
