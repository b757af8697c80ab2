"""Fingers: synthetic recovery, calibration and Spearman, instant-mode time with and without hands,
and real-photo stills of the hands found (docs/images/hands_*.png).

The synthetic part poses the body's rest hand (Anny's) in known finger poses (fist, point, pinch,
spread, relaxed, thumbs-up and random poses within the limits), makes its 21 landmarks by forward
kinematics and adds MediaPipe-sized landmark noise; it measures the posterior, not the landmarker
(no rendered images yet). Run: PYTHONPATH=backend python benchmarks/bench_hands.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch
from scipy.stats import spearmanr

from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
from propose_backend.geometry import axis_angle_to_matrix_torch
from propose_backend.hands.fingers import HandAnatomy, hand_landmarks, hand_posterior, sample_hand, uncertainty_deg
from propose_backend.anatomy import _compose

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
NAMED = {"fist": (0.85, 0.5, 0.5), "point": None, "pinch": None, "spread": (0.2, 0.9, 0.5), "relaxed": (0.3, 0.5, 0.5),
         "thumbs-up": None}


def _named(anatomy: HandAnatomy, name: str, side: int) -> torch.Tensor:
    f = torch.full((15, 3), 0.5, dtype=torch.float64)
    f[:, 1] = 0.5
    if NAMED.get(name):
        flex, abd, _ = NAMED[name]
        f[:, 0] = flex
        f[[0, 3, 6, 9], 1] = torch.tensor([1 - abd, 0.5, abd, 0.5 + (abd - 0.5) / 2], dtype=torch.float64)
    elif name == "point":
        f[:, 0] = 0.85
        f[0:3, 0] = 0.2
    elif name == "pinch":
        f[:, 0] = 0.3
        f[0:3, 0] = 0.6
        f[12:15, 0] = 0.6
    elif name == "thumbs-up":
        f[:12, 0] = 0.9
        f[12:15, 0] = 0.15
    comp = anatomy.low[side] + f * (anatomy.high[side] - anatomy.low[side])
    comp[:, 2] = 0.0
    return _compose(comp, anatomy.frames[side])


def synthetic(noise_m: float = 0.005, count: int = 300) -> None:
    hands, _ = anny_body().hand_rest(DEFAULT_PHENOTYPE)
    anatomy = HandAnatomy.from_rest(hands)
    g = torch.Generator().manual_seed(1)
    poses = [_named(anatomy, n, 0) for n in NAMED]
    comp = anatomy.low[0] + (0.1 + 0.8 * torch.rand(count, 15, 3, generator=g, dtype=torch.float64)) \
        * (anatomy.high[0] - anatomy.low[0])
    comp[..., 2] *= 0.3  # finger twist is small in real hands
    truth = torch.cat([torch.stack(poses).repeat(20, 1, 1, 1), _compose(comp, anatomy.frames[0])])
    B = truth.shape[0]
    wrist = axis_angle_to_matrix_torch(torch.randn(B, 3, generator=g, dtype=torch.float64))
    clean = hand_landmarks(anatomy, 0, truth, wrist)
    seen = clean + noise_m * torch.randn(clean.shape, generator=g, dtype=torch.float64)
    post = hand_posterior(anatomy, 0, seen, torch.ones(B), wrist)
    err = torch.rad2deg(torch.arccos((((post.local.mT @ truth).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)))
    unc = uncertainty_deg(post)
    rebuilt = hand_landmarks(anatomy, 0, post.local, wrist)
    # hand PA-MPJPE over the 21 landmarks (Procrustes with scale)
    pa = []
    for a, b in zip(rebuilt.numpy(), clean.numpy()):
        a0, b0 = a - a.mean(0), b - b.mean(0)
        u, s, vt = np.linalg.svd(a0.T @ b0)
        d = np.sign(np.linalg.det(u @ vt))
        r = u @ np.diag([1, 1, d]) @ vt
        scale = (s * [1, 1, d]).sum() / (a0 ** 2).sum()
        pa.append(np.linalg.norm(scale * a0 @ r - b0, axis=1).mean())
    samples = sample_hand(anatomy, 0, post, wrist, 32, g)
    spread = torch.rad2deg(torch.arccos((((samples.mT @ post.local[:, None]).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2)
                                        .clamp(-1, 1)))
    q50, q90 = spread.quantile(0.5, dim=1), spread.quantile(0.9, dim=1)
    unseen = hand_posterior(anatomy, 0, seen, torch.zeros(B), wrist)
    print(f"synthetic ({B} hands, landmark noise {noise_m * 1000:.0f} mm): finger joint error mean {err.mean():.1f}°, "
          f"median {err.median():.1f}°; per joint {np.round(err.mean(0).numpy(), 1).tolist()}")
    print(f"  named poses mean error {err[:120].mean():.1f}°, random {err[120:].mean():.1f}°")
    print(f"  hand PA-MPJPE {1000 * np.mean(pa):.1f} mm; under stated 50 % quantile {(err <= q50).float().mean():.2f}, "
          f"90 %: {(err <= q90).float().mean():.2f}; Spearman(error, uncertainty) "
          f"{spearmanr(err.ravel(), unc.ravel())[0]:.2f}")
    print(f"  uncertainty: seen hands {unc.mean():.1f}°, unseen {uncertainty_deg(unseen).mean():.1f}°")


def stills() -> None:
    """Hands found on real photos: camera view with landmarks, and each hand close up. A hand the crops
    missed and the still's wider look found (hands/landmarks.py look_wider) gets its arm's reach square
    drawn dashed. (Time per photo with and without that look: docs/hands.md, Hands the crops miss.)"""
    from propose_backend.hands.landmarks import HandLandmarker, hand_box, reach_box
    from propose_backend.inference.detect import BlazePoseDetector

    pose, hands = BlazePoseDetector(video=False), HandLandmarker(video=False)
    bones = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
             (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20)]
    for stem in ("294", "395", "328", "415", "192", "459", "474"):
        path = next(PHOTOS.glob(f"*{stem}.jpg"))
        image = cv2.imread(str(path))
        found = pose.detect(image)
        if not found:
            print(f"{path.name}: no person")
            continue
        h, w = image.shape[:2]
        pix = np.c_[found[0].landmarks[:, :2] * (w, h), found[0].landmarks[:, 3]]
        crops_only = HandLandmarker(video=True)  # one frame of a clip: the crops alone, no wider look
        before = crops_only.find(image, pix)
        crops_only.close()
        t = time.process_time()
        seen = hands.find(image, pix)
        spent = time.process_time() - t
        view = image.copy()
        closeups = []
        for k, (side, colour) in enumerate((("left", (60, 200, 60)), ("right", (60, 60, 230)))):
            box = hand_box(pix, side)
            if box is not None:
                cx, cy, s = box
                cv2.rectangle(view, (int(cx - s / 2), int(cy - s / 2)), (int(cx + s / 2), int(cy + s / 2)), colour, 1)
            reach = reach_box(pix, side)
            if seen.score[k] > 0 and before.score[k] == 0 and reach is not None:  # found by the wider look
                cx, cy, s = reach[:3]
                corners = [(cx - s / 2, cy - s / 2), (cx + s / 2, cy - s / 2), (cx + s / 2, cy + s / 2),
                           (cx - s / 2, cy + s / 2)]
                for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
                    for f in np.arange(0.0, 1.0, 0.04):  # dashes
                        a = (int(x0 + f * (x1 - x0)), int(y0 + f * (y1 - y0)))
                        b = (int(x0 + (f + 0.02) * (x1 - x0)), int(y0 + (f + 0.02) * (y1 - y0)))
                        cv2.line(view, a, b, colour, 1)
            if seen.score[k] > 0:
                p = seen.pixels[k].astype(int)
                for a, b in bones:
                    cv2.line(view, tuple(p[a]), tuple(p[b]), colour, 2)
                centre, extent = seen.pixels[k].mean(axis=0), np.ptp(seen.pixels[k], axis=0).max()
                closeups.append((centre, max(2.5 * seen.size_px[k], 1.6 * extent)))  # round the hand found
            print(f"{path.name} {side}: score {seen.score[k]:.2f}, hand {seen.size_px[k]:.0f} px")
        from propose_backend.hands.landmarks import cut_square
        closeups = [cut_square(view, c[0], c[1], side_px, 200) for c, side_px in closeups]
        scale = 400 / h
        strip = [cv2.resize(view, (int(w * scale), 400))] + [cv2.resize(c, (200, 200)) for c in closeups]
        tall = np.zeros((400, sum(x.shape[1] for x in strip), 3), np.uint8)
        x = 0
        for part in strip:
            tall[:part.shape[0], x:x + part.shape[1]] = part
            x += part.shape[1]
        out = ROOT / "docs" / "images" / f"hands_{stem}.png"
        cv2.imwrite(str(out), tall)
        print(f"  -> {out.relative_to(ROOT)} ({1000 * spent:.0f} ms CPU for both hands; the crops alone read "
              f"{int((before.score > 0).sum())})")


if __name__ == "__main__":
    synthetic()
    if PHOTOS.is_dir() and "--no-stills" not in sys.argv:
        stills()
