"""Speed and accuracy figures for propose_backend.fisher at ProPose's batch size.

Run from the repository root:  python benchmarks/bench_fisher.py
Timings are the best of a few repeats on CPU. On a machine shared with other jobs set
OMP_NUM_THREADS=1: contended OpenMP threads slow the batched calls by up to ~30×. Accuracy uses
exact references: E[R] = ∇_F log c(F) for the sampler, Monte Carlo for the expected angle.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))  # run from a checkout

import math
import time
from collections.abc import Callable

import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch

from propose_backend import fisher

IMAGES, JOINTS, SAMPLES = 64, 24, 8


def best_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Best wall time of `repeats` calls, in seconds: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def posterior_like_F(generator: torch.Generator) -> torch.Tensor:
    """Random F = R1 diag(s) R2ᵀ: singular values log-uniform in [0.1, 1000], a third det < 0."""
    R1, R2 = fisher.sample(torch.zeros(3, 3), 2 * IMAGES * JOINTS, generator).chunk(2)  # uniform
    s = 10 ** (4 * torch.rand(IMAGES * JOINTS, 3, generator=generator) - 1)
    s = s.sort(dim=-1, descending=True).values
    s[:, 2] *= torch.where(torch.rand(IMAGES * JOINTS, generator=generator) < 1 / 3, -1.0, 1.0)
    return (R1 @ torch.diag_embed(s) @ R2.mT).reshape(IMAGES, JOINTS, 3, 3)


def main() -> None:
    g = torch.Generator().manual_seed(0)
    F = posterior_like_F(g)
    flat = F.reshape(-1, 3, 3)

    vectorised = best_time(lambda: fisher.sample(F, SAMPLES, g))
    naive = best_time(lambda: [fisher.sample(f, SAMPLES, g) for f in flat], repeats=1)
    angle = best_time(lambda: fisher.expected_angle_deg(F))
    log_c = best_time(lambda: fisher.log_normalizer(F))
    threads = torch.get_num_threads()
    print(f"B = {IMAGES}x{JOINTS}, S = {SAMPLES}, float32, torch threads = {threads}")
    print(f"sample, vectorised        : {1e3 * vectorised:8.1f} ms")
    print(f"sample, per-element loop  : {1e3 * naive:8.1f} ms  ({naive / vectorised:.0f}x slower)")
    print(f"expected_angle_deg        : {1e3 * angle:8.1f} ms")
    print(f"log_normalizer            : {1e3 * log_c:8.1f} ms")

    cases = {
        "uniform (F = 0)": torch.zeros(3, 3),
        "anisotropic 5/1/-0.5": torch.diag(torch.tensor([5.0, 1.0, -0.5])),
        "rank-1 (one bone) 20": torch.diag(torch.tensor([20.0, 0.0, 0.0])),
        "mixed 300/20/-5": torch.diag(torch.tensor([300.0, 20.0, -5.0])),
        "concentrated 1000/800/300": torch.diag(torch.tensor([1000.0, 800.0, 300.0])),
    }
    num = 200_000
    g = torch.Generator().manual_seed(1)  # accuracy figures do not depend on the timings
    print(f"\naccuracy with {num} samples per F (float64); z = error / Monte-Carlo standard error")
    print(f"{'F':28s} {'max|mean-E[R]|':>15s} {'max z':>6s} {'E[angle]':>9s} {'MC angle':>9s} "
          f"{'diff':>7s} {'MC s.e.':>7s}")
    for name, F1 in cases.items():
        F1 = F1.to(torch.float64)
        R = fisher.sample(F1, num, g)
        F_req = F1.clone().requires_grad_(True)
        (exact_mean,) = torch.autograd.grad(fisher.log_normalizer(F_req), F_req)
        err = (R.mean(0) - exact_mean).abs()
        z = (err / (R.std(0) / math.sqrt(num)).clamp_min(1e-12)).max().item()
        cos = ((R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)  # mode is I here
        mc = torch.rad2deg(torch.acos(cos))
        quad = fisher.expected_angle_deg(F1).item()
        print(f"{name:28s} {err.max().item():15.2e} {z:6.2f} {quad:9.3f} {mc.mean().item():9.3f} "
              f"{quad - mc.mean().item():+7.3f} {mc.std().item() / math.sqrt(num):7.3f}")


if __name__ == "__main__":
    main()
