"""Tests of the matrix-Fisher maths against references that do not share its formulas.

References: importance sampling with Haar-uniform rotations, ∇_F log c(F) = E[R], a dense
Hopf-coordinate integration of c(F) without Bessel functions, and Monte Carlo from the sampler.
Monte-Carlo comparisons use 5 combined standard errors, so a correct implementation fails with
probability ~1e-6 per entry while a biased one (or a wrong normaliser gradient) is caught.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from propose_backend import fisher

DT = torch.float64
EYE = torch.eye(3, dtype=DT)


def _quat_rotations(q: Tensor) -> Tensor:
    """Rotations of (w, x, y, z) quaternions: R = (w² − |v|²) I + 2 v vᵀ + 2 w [v]×."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, v = q[..., :1, None], q[..., 1:]
    cross = torch.zeros(*v.shape[:-1], 3, 3, dtype=q.dtype)
    cross[..., 0, 1], cross[..., 0, 2], cross[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    cross = cross - cross.mT
    vvt = v.unsqueeze(-1) * v.unsqueeze(-2)
    return (w * w - (v * v).sum(-1)[..., None, None]) * EYE.to(q.dtype) + 2 * vvt + 2 * w * cross


def _uniform_rotations(n: int, seed: int) -> Tensor:
    """Haar-uniform rotations: normalised Gaussian quaternions are uniform on S³."""
    g = torch.Generator().manual_seed(seed)
    return _quat_rotations(torch.randn(n, 4, dtype=DT, generator=g))


def _is_rotation(R: Tensor, tol: float) -> bool:
    orth = (R.mT @ R - torch.eye(3, dtype=R.dtype)).abs().amax()
    return bool(orth < tol) and bool(((torch.linalg.det(R) - 1).abs() < tol).all())


def _angle_deg(A: Tensor, B: Tensor) -> Tensor:
    cos = (((A.mT @ B).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos))


_R1, _R2, _R3 = _uniform_rotations(3, seed=7)

# name -> F; the first five are diffuse enough for an importance-sampling reference.
CASES: dict[str, Tensor] = {
    "zero (uniform)": torch.zeros(3, 3, dtype=DT),
    "near uniform": 0.05 * _R3,
    "isotropic 2": 2 * _R1,
    "anisotropic det<0": _R1 @ torch.diag(torch.tensor([5.0, 1.0, -0.5], dtype=DT)) @ _R2.T,
    "rank-2 tie": _R2 @ torch.diag(torch.tensor([3.0, 3.0, 0.0], dtype=DT)) @ _R3.T,
    "rank-1 bone 20": 20 * torch.outer(_R1[:, 0], _R2[:, 1]),
    "tie det<0 50": torch.diag(torch.tensor([50.0, 50.0, -50.0], dtype=DT)),
    "concentrated 1000/800/300":
        _R1 @ torch.diag(torch.tensor([1000.0, 800.0, 300.0], dtype=DT)) @ _R2.T,
    "isotropic 1000": 1000 * _R3,
}
DIFFUSE = list(CASES)[:5]
NUM_MC = 100_000


@pytest.fixture(scope="module")
def mc_samples() -> dict[str, Tensor]:
    F = torch.stack(list(CASES.values()))
    R = fisher.sample(F, NUM_MC, torch.Generator().manual_seed(123))
    return dict(zip(CASES, R))


def _grad_mean(F: Tensor) -> Tensor:
    """E[R] = ∇_F log c(F), by autograd through log_normalizer."""
    F = F.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fisher.log_normalizer(F).sum(), F)
    return grad


def _importance_mean(F: Tensor, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """E[R] and its standard error by self-normalised importance sampling from Haar."""
    R = _uniform_rotations(n, seed)
    log_w = (F * R).sum((-2, -1))
    w = torch.exp(log_w - log_w.max())[:, None, None]
    mean = (w * R).sum(0) / w.sum()
    se = ((w * (R - mean)) ** 2).sum(0).sqrt() / w.sum()
    return mean, se


# ---------------------------------------------------------------------------------------------
# proper SVD and mode
# ---------------------------------------------------------------------------------------------

def test_proper_svd_factors_are_rotations_and_reconstruct():
    F = torch.randn(200, 3, 3, dtype=DT, generator=torch.Generator().manual_seed(0))
    U, s, V = fisher.proper_svd(F)
    assert torch.allclose(U @ torch.diag_embed(s) @ V.mT, F, atol=1e-12)
    assert _is_rotation(U, 1e-12) and _is_rotation(V, 1e-12)
    assert (s[:, 0] >= s[:, 1]).all() and (s[:, 1] >= s[:, 2].abs()).all()
    assert torch.equal(torch.sign(s[:, 2]), torch.sign(torch.linalg.det(F)))


def test_mode_of_scaled_rotation_is_the_rotation():
    R = _uniform_rotations(64, seed=1)
    k = torch.logspace(-0.3, 3, 64, dtype=DT)[:, None, None]
    # eps·I perturbs the answer by ~eps/k ≤ 2e-5 rad
    assert _angle_deg(fisher.mode(k * R), R).max() < 2e-3
    assert torch.allclose(fisher.mode((k * R).float()), R.float(), atol=1e-4)


def test_mode_of_single_bone_F_is_the_shortest_arc():
    """Rank-1 F = k a bᵀ leaves the rotation about a free; eps·I picks the one nearest to I."""
    g = torch.Generator().manual_seed(6)
    a, b = torch.nn.functional.normalize(torch.randn(2, 32, 3, dtype=DT, generator=g), dim=-1)
    axis = torch.nn.functional.normalize(torch.cross(b, a, dim=-1), dim=-1)
    angle = torch.acos((a * b).sum(-1).clamp(-1, 1))[:, None, None]
    K = torch.zeros(32, 3, 3, dtype=DT)
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    K = K - K.mT
    shortest = EYE + torch.sin(angle) * K + (1 - torch.cos(angle)) * K @ K  # Rodrigues
    F = 10 * a.unsqueeze(-1) * b.unsqueeze(-2)
    assert _angle_deg(fisher.mode(F), shortest).max() < 1e-3


def test_mode_is_proper_and_maximises_the_density():
    F = torch.randn(300, 3, 3, dtype=DT, generator=torch.Generator().manual_seed(2))
    assert (torch.linalg.det(F) < 0).sum() > 100
    M = fisher.mode(F)
    assert _is_rotation(M, 1e-10) and _is_rotation(fisher.mode(F.float()), 1e-5)
    best = (F * M).sum((-2, -1))
    others = (F[:, None] * _uniform_rotations(500, seed=3)).sum((-2, -1))
    assert (best[:, None] >= others - 1e-9).all()


# ---------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------

def test_samples_are_rotations_for_all_kinds_of_F(mc_samples):
    for name, R in mc_samples.items():
        assert _is_rotation(R, 1e-12), name
    F32 = torch.stack(list(CASES.values())).float()
    assert _is_rotation(fisher.sample(F32, 64, torch.Generator().manual_seed(0)), 1e-5)


def test_sample_shapes_and_dtype():
    assert fisher.sample(torch.eye(3), 5).shape == (5, 3, 3)
    out = fisher.sample(torch.randn(2, 4, 3, 3), 7)
    assert out.shape == (2, 4, 7, 3, 3) and out.dtype == torch.float32
    assert fisher.sample(torch.randn(6, 3, 3, dtype=DT), 1).dtype == DT
    with pytest.raises(ValueError):
        fisher.sample(torch.eye(3), 0)


def test_seeded_generator_reproduces_samples():
    F = torch.randn(10, 3, 3, generator=torch.Generator().manual_seed(0)) * 20
    a = fisher.sample(F, 16, torch.Generator().manual_seed(42))
    b = fisher.sample(F, 16, torch.Generator().manual_seed(42))
    c = fisher.sample(F, 16, torch.Generator().manual_seed(43))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", DIFFUSE)
def test_sample_mean_and_normaliser_gradient_match_importance_sampling(name, mc_samples):
    F = CASES[name]
    ref, ref_se = _importance_mean(F, 1_000_000, seed=11)
    R = mc_samples[name]
    mean, se = R.mean(0), R.std(0) / math.sqrt(NUM_MC)
    assert ((mean - ref).abs() <= 5 * torch.sqrt(se**2 + ref_se**2)).all(), (mean - ref)
    assert ((_grad_mean(F) - ref).abs() <= 5 * ref_se + 1e-9).all()


@pytest.mark.parametrize("name", list(CASES))
def test_sample_mean_matches_normaliser_gradient(name, mc_samples):
    R = mc_samples[name]
    mean, se = R.mean(0), R.std(0) / math.sqrt(NUM_MC)
    err = (mean - _grad_mean(CASES[name])).abs()
    assert (err <= 5 * se + 1e-9).all(), err


def test_vectorised_sampling_draws_per_round_not_per_element(monkeypatch):
    calls = {"n": 0}
    for fn in ("randn", "rand"):
        original = getattr(torch, fn)

        def counted(*args, _original=original, **kwargs):
            calls["n"] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, fn, counted)
    scale = torch.logspace(-1, 3, 24)[:, None, None]
    F = torch.randn(64, 24, 3, 3, generator=torch.Generator().manual_seed(5)) * scale
    R = fisher.sample(F, 8, torch.Generator().manual_seed(0))
    assert R.shape == (64, 24, 8, 3, 3) and _is_rotation(R, 1e-5)
    assert calls["n"] <= 2 * fisher._MAX_ROUNDS + 1  # independent of the 1536 elements


def test_fallback_after_last_round_still_returns_rotations(monkeypatch):
    monkeypatch.setattr(fisher, "_MAX_ROUNDS", 0)  # every slot comes from the fallback
    R = fisher.sample(torch.stack(list(CASES.values())), 50, torch.Generator().manual_seed(0))
    assert R.shape == (len(CASES), 50, 3, 3) and _is_rotation(R, 1e-12)


# ---------------------------------------------------------------------------------------------
# log-normaliser and NLL
# ---------------------------------------------------------------------------------------------

def _hopf_log_normalizer(s1: float, s2: float, s3: float) -> float:
    """log c by brute force in Hopf coordinates, no Bessel functions.

    q = (ρ cos α, √(1−ρ²) cos β, √(1−ρ²) sin β, ρ sin α) with τ = 1−ρ², α, β uniform gives
    tr(S Q) − Σs = (1−τ)(s1+s2)(cos 2α − 1) + τ(s1−s2)(cos 2β − 1) − 2τ(s2+s3). The angles
    are averaged by a 512-point periodic trapezoid, τ by Simpson in log τ and log(1−τ).
    """
    phi = torch.arange(512, dtype=DT) * (2 * math.pi / 512)

    def circle_mean(x: Tensor) -> Tensor:
        return torch.exp(x[:, None] * (torch.cos(phi) - 1)).mean(-1)

    def integrand(tau: Tensor) -> Tensor:
        return (torch.exp(-2 * tau * (s2 + s3))
                * circle_mean((1 - tau) * (s1 + s2)) * circle_mean(tau * (s1 - s2)))

    x = torch.linspace(-40.0, 0.0, 8001, dtype=DT)
    simpson = torch.ones_like(x)
    simpson[1:-1:2], simpson[2:-1:2] = 4.0, 2.0
    simpson *= (x[1] - x[0]) / 3
    near0 = 0.5 * torch.exp(x)
    total = (simpson * near0 * (integrand(near0) + integrand(1 - near0))).sum()
    return s1 + s2 + s3 + math.log(total)


@pytest.mark.parametrize("s", [
    (0.01, 0.005, 0.001), (0.5, 0.2, -0.1), (1.0, 1.0, 1.0), (3.0, 2.0, 1.0), (5.0, 0.1, -0.1),
    (10.0, 10.0, -10.0), (50.0, 30.0, 10.0), (300.0, 1.0, 0.0), (1000.0, 999.0, -999.0),
    (1000.0, 500.0, 200.0), (1000.0, 1000.0, 1000.0),
])
def test_log_normalizer_matches_dense_integration(s):
    ref = _hopf_log_normalizer(*s)
    F = _R1 @ torch.diag(torch.tensor(s, dtype=DT)) @ _R2.T  # det F < 0 when s3 < 0
    tol = 1e-5 * max(1.0, abs(ref))
    assert abs(fisher.log_normalizer(F).item() - ref) < 1e-3 * tol
    out32 = fisher.log_normalizer(F.float())
    assert out32.dtype == torch.float32 and abs(out32.item() - ref) < tol


def test_log_normalizer_of_zero_is_zero_and_batched():
    assert fisher.log_normalizer(torch.zeros(3, 3, dtype=DT)).abs().item() < 1e-12
    F = torch.randn(4, 5, 3, 3, dtype=DT)
    out = fisher.log_normalizer(F)
    assert out.shape == (4, 5) and torch.allclose(out[1, 2], fisher.log_normalizer(F[1, 2]))


@pytest.mark.parametrize("F", [
    torch.randn(3, 3, 3, dtype=DT, generator=torch.Generator().manual_seed(3)) * 4,
    2 * EYE,                                      # repeated singular values
    torch.diag(torch.tensor([5.0, 5.0, 0.0], dtype=DT)),   # singular, tie
    torch.diag(torch.tensor([5.0, -3.0, 0.0], dtype=DT)),  # singular: sign of s3' from det U·det V
    torch.diag(torch.tensor([4.0, 2.0, -1.0], dtype=DT)),  # det < 0
])
def test_log_normalizer_gradient_matches_finite_differences(F):
    assert torch.autograd.gradcheck(fisher.log_normalizer, (F.clone().requires_grad_(True),))


def test_nll_gradient_finite_and_minimised_at_mode():
    F = torch.stack([torch.zeros(3, 3, dtype=DT), 3 * EYE, CASES["anisotropic det<0"],
                     CASES["rank-1 bone 20"], CASES["concentrated 1000/800/300"]])
    F.requires_grad_(True)
    M = fisher.mode(F.detach())
    loss = fisher.nll(F, M)
    (grad,) = torch.autograd.grad(loss.sum(), F)
    assert torch.isfinite(grad).all() and torch.isfinite(loss).all()
    F = F.detach()
    others = fisher.nll(F[:, None], _uniform_rotations(400, seed=4))
    assert (loss.detach()[:, None] <= others + 1e-9).all()
    # ∂nll/∂F = E[R] − R: at the mode of a concentrated F the two nearly agree
    assert (grad[-1].abs() < 0.02).all()


# ---------------------------------------------------------------------------------------------
# expected angle
# ---------------------------------------------------------------------------------------------

def test_expected_angle_of_uniform_rotations_is_closed_form():
    exact = math.degrees(math.pi / 2 + 2 / math.pi)  # 126.476°
    assert abs(fisher.expected_angle_deg(torch.zeros(3, 3)).item() - exact) < 1e-3


@pytest.mark.parametrize("name", list(CASES))
def test_expected_angle_matches_monte_carlo(name, mc_samples):
    F = CASES[name]
    mc = _angle_deg(mc_samples[name], fisher.mode(F))
    tol = min(0.5, 5 * mc.std().item() / math.sqrt(NUM_MC) + 0.01)  # quadrature error ≤ 0.005°
    assert abs(fisher.expected_angle_deg(F).item() - mc.mean().item()) < tol


def test_expected_angle_decreases_as_F_is_scaled_up():
    F = CASES["anisotropic det<0"]
    k = torch.logspace(-3, 3, 40, dtype=DT)[:, None, None]
    angle = fisher.expected_angle_deg(k * F)
    assert (angle.diff() < 0).all()
    assert angle[0] > 126.0 and angle[-1] < 5.0
    assert angle.shape == (40,)
    assert fisher.expected_angle_deg((k * F).float()).dtype == torch.float32
