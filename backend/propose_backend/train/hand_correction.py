"""Fit the hand read correction (hands/correction.py) and its error model, and write its weights.

From training reads (train/hand_reads.py, one seed) a ridge regression maps each read hand's
normalised landmarks to its true joint components. On held-out reads (another seed) the corrected
bones' direction errors give each bone's concentration (kappa = 2 / mean squared angle, the
von Mises-Fisher concentration of that spread), and one scale of those and the read-curl temperature
are chosen: the sharpest stated spread (lowest mean uncertainty) whose 50 % / 90 % quantiles cover
the held-out errors within CALIBRATION_SLACK of 50 % and 90 %. The reads tell little (they explain
about a fifth of the joints' variance), so a spread that is honest on random poses is wide.

    PYTHONPATH=backend python -m propose_backend.train.hand_reads --seed 1001 --frames 1200 --out /tmp/reads_train.npz
    PYTHONPATH=backend python -m propose_backend.train.hand_reads --seed 2002 --frames 300 --out /tmp/reads_held_out.npz
    PYTHONPATH=backend python -m propose_backend.train.hand_correction /tmp/reads_train.npz /tmp/reads_held_out.npz
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ..anatomy import _compose
from ..body.anny_body import DEFAULT_PHENOTYPE, anny_body
from ..hands.correction import WEIGHTS_FILE, ReadCorrection, palm_rotation, read_features
from ..hands.fingers import HandAnatomy, hand_landmarks, hand_posterior, observed_curl_deg, sample_hand
from ..hands.solve import FULL_SIZE_PX
from ..skeleton import FINGER_BONE_LANDMARKS

RIDGE = 10.0  # on standardised features; 1-100 gave the same held-out error
SCALES = (10.0, 30.0)  # x the held-out concentrations: how far the modes follow the correction past the prior
TEMPERATURES = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
CURLS = (90.0, 1e9)
MAX_TEMPERATURE = 40.0
DRAWS = 64
CALIBRATION_SLACK = 0.08  # largest distance of the held-out 50 % and 90 % coverage from 0.5 and 0.9


def _right_handed(comp: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Components with left hands' abduction and twist mirrored (their signs flip in a mirror)."""
    return np.where((side == 0)[:, None, None], comp * np.array([1.0, -1.0, -1.0]), comp)


def fit_ridge(reads: dict[str, np.ndarray], ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(feature means, spreads, weights (64, 45)) of the ridge map from reads to right-hand components."""
    X = np.concatenate([read_features(reads["world"][reads["side"] == s], s) for s in (0, 1)])
    Y = np.concatenate([_right_handed(reads["comp"][reads["side"] == s], reads["side"][reads["side"] == s])
                        for s in (0, 1)]).reshape(len(X), -1)
    mean, scale = X.mean(0), X.std(0) + 1e-6
    A = np.c_[(X - mean) / scale, np.ones(len(X))]
    weights = np.linalg.solve(A.T @ A + ridge * np.eye(A.shape[1]), A.T @ Y)
    return mean, scale, weights


def _local(anatomy: HandAnatomy, side: int, comp: np.ndarray) -> torch.Tensor:
    return _compose(torch.as_tensor(comp, dtype=torch.float64), anatomy.frames[side])


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (np.einsum("...ij,...ij->...", a, b) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def bone_kappa(correction: ReadCorrection, anatomy: HandAnatomy, reads: dict[str, np.ndarray]) -> np.ndarray:
    """(15,) 2 / mean squared angle (rad) between corrected and true bone directions, wrist fixed."""
    sq = []
    eye = torch.eye(3, dtype=torch.float64)
    for s in (0, 1):
        sel = reads["side"] == s
        if not sel.any():
            continue
        comp = np.clip(correction.components(reads["world"][sel], s), anatomy.low[s].numpy(), anatomy.high[s].numpy())
        got = hand_landmarks(anatomy, s, _local(anatomy, s, comp), eye).numpy()
        true = hand_landmarks(anatomy, s, _local(anatomy, s, reads["comp"][sel]), eye).numpy()
        a, b = [p for p, _ in FINGER_BONE_LANDMARKS], [c for _, c in FINGER_BONE_LANDMARKS]
        u, v = got[:, b] - got[:, a], true[:, b] - true[:, a]
        cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
        sq.append(np.arccos(np.clip(cos, -1, 1)) ** 2)
    return 2.0 / np.concatenate(sq).mean(0)


def coverage(correction: ReadCorrection, anatomy: HandAnatomy, reads: dict[str, np.ndarray],
             seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(errors (N, 15) deg of the posterior modes, uncertainty (N, 15) deg, under the 50 / 90 %
    quantiles of DRAWS posterior draws (N, 2, 15)) on reads, solved as the product solves them."""
    from ..hands.fingers import uncertainty_deg

    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(seed)
    errors, uncs, under = [], [], []
    for s in (0, 1):
        sel = reads["side"] == s
        if not sel.any():
            continue
        world = reads["world"][sel]
        gain = reads["score"][sel] * np.clip(reads["size"][sel] / FULL_SIZE_PX, 0.0, 1.0) ** 2
        corrected = torch.as_tensor(correction.landmarks(anatomy, s, world))
        wrist = torch.as_tensor(palm_rotation(anatomy.rest[s].numpy(), world))
        curl = observed_curl_deg(torch.as_tensor(world)).numpy()
        tau = 1.0 + (correction.temperature(curl) - 1.0) * np.clip(gain, 0, 1)
        kappa = torch.as_tensor(np.broadcast_to(correction.kappa, (len(world), 15)).copy())
        post = hand_posterior(anatomy, s, corrected, torch.as_tensor(gain), wrist, kappa=kappa,
                              temperature=torch.as_tensor(tau))
        truth = _local(anatomy, s, reads["comp"][sel]).numpy()
        err = angle_deg(post.local.numpy(), truth)
        spread = angle_deg(sample_hand(anatomy, s, post, wrist, DRAWS, generator).numpy(), post.local.numpy()[:, None])
        errors.append(err)
        uncs.append(uncertainty_deg(post).numpy())
        under.append(np.stack([err <= np.quantile(spread, 0.5, axis=1), err <= np.quantile(spread, 0.9, axis=1)], 1))
    return np.concatenate(errors), np.concatenate(uncs), np.concatenate(under)


def fit(train: dict[str, np.ndarray], held_out: dict[str, np.ndarray], anatomy: HandAnatomy,
        log: bool = False) -> ReadCorrection:
    """The correction: ridge on `train`; concentrations and temperature from `held_out`."""
    mean, scale, weights = fit_ridge(train)
    plain = ReadCorrection(mean, scale, weights, np.ones(15), 1.0, 1e9, MAX_TEMPERATURE)
    kappa = bone_kappa(plain, anatomy, held_out)
    best, best_score = plain, np.inf
    for factor in SCALES:
        for t0 in TEMPERATURES:
            for curl in CURLS:
                candidate = ReadCorrection(mean, scale, weights, factor * kappa, t0, curl, MAX_TEMPERATURE)
                errors, uncs, under = coverage(candidate, anatomy, held_out)
                q = under.mean(axis=(0, 2))
                miss = max(abs(q[0] - 0.5), abs(q[1] - 0.9))
                score = uncs.mean() + (0.0 if miss <= CALIBRATION_SLACK else 1e3 * miss)
                if log:
                    print(f"kappa x {factor:4.1f}, t0 {t0:3.1f}, curl {curl:5.0f}°: under 50 / 90 % {q[0]:.2f} / "
                          f"{q[1]:.2f}, error {errors.mean():.1f}°, uncertainty {uncs.mean():.1f}°")
                if score < best_score:
                    best, best_score = candidate, score
    return best


def load_reads(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {key: f[key] for key in f.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path, help="training reads (train/hand_reads.py)")
    parser.add_argument("held_out", type=Path, help="held-out reads from another seed")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = parser.parse_args()
    anatomy = HandAnatomy.from_rest(anny_body().hand_rest(DEFAULT_PHENOTYPE)[0])
    train, held_out = load_reads(args.train), load_reads(args.held_out)
    correction = fit(train, held_out, anatomy, log=True)
    errors, uncs, under = coverage(correction, anatomy, held_out)
    q = under.mean(axis=(0, 2))
    print(f"{len(train['side'])} training hands, {len(held_out['side'])} held out: error {errors.mean():.1f}° "
          f"(median {np.median(errors):.1f}°), uncertainty {uncs.mean():.1f}°, "
          f"under 50 / 90 %: {q[0]:.2f} / {q[1]:.2f}; "
          f"kappa {correction.kappa.round(1).tolist()}, t0 {correction.t0}, curl {correction.curl_deg:.0f}°")
    correction.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
