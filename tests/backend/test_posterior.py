"""The analytical posterior (docs/model.md, The posterior): recovery of known rotations, priors, sampling."""
from __future__ import annotations

import smplx
import torch

from propose_backend import fisher
from propose_backend.body import demo_body
from propose_backend.body.layer import BodyLayer
from propose_backend.geometry import local_from_world
from propose_backend.posterior import (
    analytical_posterior,
    bone_directions,
    sorted_samples,
    uncertainty_deg,
)
from propose_backend.skeleton import MULTI_CHILD, PARENTS, PRIOR_ONLY, SINGLE_CHILD, children_of

D = torch.float64  # exactness checks need double precision


def _rotations(n: int, scale: float, seed: int) -> torch.Tensor:
    aa = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=D) * scale
    return smplx.lbs.batch_rodrigues(aa)


def _posed_skeleton(rest: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """Rigid forward kinematics of all 35 points: child = parent + G_parent (T_child - T_parent)."""
    X = torch.zeros_like(rest)
    for c in range(1, rest.shape[1]):
        p = PARENTS[c]
        X[:, c] = X[:, p] + (G[:, p] @ (rest[:, c] - rest[:, p])[..., None])[..., 0]
    return X


def _rest(batch: int) -> torch.Tensor:
    layer = BodyLayer(demo_body()).double()
    betas = torch.randn(batch, 10, generator=torch.Generator().manual_seed(7), dtype=D)
    return layer.rest_points(betas)


def _angle_deg(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    cos = ((A.transpose(-1, -2) @ B).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))


def test_noise_free_joints_are_recovered_with_zero_prior() -> None:
    B = 4
    rest = _rest(B)
    G = _rotations(B * 24, 0.8, seed=1).reshape(B, 24, 3, 3)
    observed = _posed_skeleton(rest, G)
    post = analytical_posterior(torch.zeros(B, 24, 3, 3, dtype=D), observed, rest)
    # root and multi-child joints (spine3 with 3 children, head with 5 face points): full rotations
    for j in (0, *MULTI_CHILD):  # (the mode's 1e-5 I regulariser tilts near-planar fits by ~1e-3 deg)
        assert _angle_deg(post.global_rotmats[:, j], G[:, j]).max() < 1e-2, j
    # single-child joints: the posterior bone direction equals the observed one
    d_obs = bone_directions(observed)
    d_rest = bone_directions(rest)
    for j, c in SINGLE_CHILD.items():
        d_post = (post.global_rotmats[:, j] @ d_rest[:, c, :, None])[..., 0]
        torch.testing.assert_close(d_post, d_obs[:, c], atol=1e-6, rtol=0)
    # leaves with a zero prior and no observation: no rotation relative to the root
    for j in PRIOR_ONLY:
        assert _angle_deg(post.global_rotmats[:, j], post.root).max() < 1e-3


def test_local_rotations_compose_back_to_global() -> None:
    G = _rotations(2 * 24, 1.0, seed=3).reshape(2, 24, 3, 3)
    L = local_from_world(G)
    rebuilt = torch.zeros_like(G)
    for j in range(24):
        rebuilt[:, j] = L[:, j] if j == 0 else rebuilt[:, PARENTS[j]] @ L[:, j]
    torch.testing.assert_close(rebuilt, G)


def _loop_posterior(prior_F, observed, rest, kappa):
    """Spec §3.3 written joint by joint with Python loops: the readable reference."""
    d, t = bone_directions(observed), bone_directions(rest)
    B = prior_F.shape[0]
    F = prior_F.clone()
    for b in range(B):
        F[b, 0] += kappa * sum(torch.outer(d[b, c], t[b, c]) for c in children_of(0))
    G0 = fisher.mode(F[:, 0])
    for b in range(B):
        for j in range(1, 24):
            for c in children_of(j):
                F[b, j] += kappa * torch.outer(d[b, c], G0[b] @ t[b, c])
    G = torch.stack([G0] + [fisher.mode(F[:, j]) @ G0 for j in range(1, 24)], dim=1)
    return F, G


def test_vectorised_posterior_equals_the_spec_loop() -> None:
    B = 3
    rest = _rest(B)
    observed = _posed_skeleton(rest, _rotations(B * 24, 0.7, 5).reshape(B, 24, 3, 3))
    observed = observed + 0.01 * torch.randn(observed.shape, generator=torch.Generator().manual_seed(0), dtype=D)
    observed[:, 0] = 0
    prior = torch.randn(B, 24, 3, 3, generator=torch.Generator().manual_seed(9), dtype=D) * 5
    post = analytical_posterior(prior, observed, rest, kappa=37.0)
    F, G = _loop_posterior(prior, observed, rest, 37.0)
    torch.testing.assert_close(post.F, F)
    torch.testing.assert_close(post.global_rotmats, G)


def test_prior_decides_what_the_data_does_not() -> None:
    """Twist about a single bone and unobserved leaves come from the prior F."""
    B = 2
    rest = _rest(B)
    G = _rotations(B * 24, 0.5, seed=11).reshape(B, 24, 3, 3)
    observed = _posed_skeleton(rest, G)
    G0 = G[:, :1]
    R_rel = G @ G0.transpose(-1, -2)  # what each non-root prior parameterises
    strong = 50.0 * R_rel
    strong[:, 0] = 50.0 * G[:, 0]  # the root prior parameterises the global orientation itself
    post = analytical_posterior(strong, observed, rest, kappa=100.0)
    for j in (*PRIOR_ONLY, *SINGLE_CHILD):  # data and prior agree here: the truth comes back
        assert _angle_deg(post.global_rotmats[:, j], G[:, j]).max() < 0.5, j


def test_per_point_kappa_zero_falls_back_to_the_prior() -> None:
    B = 1
    rest = _rest(B)
    observed = _posed_skeleton(rest, _rotations(24, 0.6, seed=13)[None])
    prior = 30.0 * torch.eye(3, dtype=D).expand(B, 24, 3, 3).clone()
    kappa = torch.full((B, 35), 100.0, dtype=D)
    kappa[:, 18] = 0.0  # the left elbow is not observed: the left shoulder joint keeps its prior
    post = analytical_posterior(prior, observed, rest, kappa=kappa)
    assert _angle_deg(post.global_rotmats[:, 16], post.root).max() < 1e-3
    low = uncertainty_deg(post)
    kappa[:, 18] = 100.0
    assert (low[:, 16] > uncertainty_deg(analytical_posterior(prior, observed, rest, kappa=kappa))[:, 16]).all()


def test_samples_are_local_rotations_around_the_mode() -> None:
    B, S = 2, 16
    rest = _rest(B)
    observed = _posed_skeleton(rest, _rotations(B * 24, 0.5, seed=17).reshape(B, 24, 3, 3))
    prior = 5.0 * torch.eye(3, dtype=D).expand(B, 24, 3, 3).clone()
    gen = torch.Generator().manual_seed(0)
    post = analytical_posterior(prior, observed, rest)
    samples, _ = sorted_samples(post, S, generator=gen)
    assert samples.shape == (B, S, 24, 3, 3)
    eye = torch.eye(3, dtype=D).expand_as(samples)
    torch.testing.assert_close(samples @ samples.transpose(-1, -2), eye, atol=1e-6, rtol=0)
    torch.testing.assert_close(samples[:, :, 0], post.rotmats[:, None, 0].expand(B, S, 3, 3))  # root fixed
    # sample spread follows the posterior: observed single-child joints are sharper than leaves
    spread = _angle_deg(samples, post.rotmats[:, None]).mean(dim=(0, 1))
    assert spread[22] > spread[18] and spread[23] > spread[19]
    unc = uncertainty_deg(post)
    assert (unc[:, 22] > unc[:, 18]).all()


def test_the_posterior_of_reflected_evidence_is_the_reflected_posterior() -> None:
    """Mirrored footage (geometry.reflect_*): reflecting the prior and the observed joints across the
    camera's vertical plane with sides swapped gives exactly the reflected posterior, so each bone's uncertainty follows its
    side and the ghosts keep their densities."""
    from propose_backend.geometry import (
        SIDE_REFLECTION,
        reflect_local_rotations,
        reflect_points,
        reflect_posterior,
        side_swap,
    )

    B = 3
    rest = _rest(B)
    rest = 0.5 * (rest + rest[:, side_swap(35)] * torch.tensor(SIDE_REFLECTION.diagonal()))  # a symmetric body
    G = _rotations(B * 24, 0.6, seed=21).reshape(B, 24, 3, 3)
    observed = _posed_skeleton(rest, G) + 0.02 * torch.randn(B, 35, 3, generator=torch.Generator().manual_seed(3), dtype=D)
    observed = observed - observed[:, :1]
    prior = 4.0 * _rotations(B * 24, 1.0, seed=22).reshape(B, 24, 3, 3) \
        + torch.randn(B, 24, 3, 3, generator=torch.Generator().manual_seed(4), dtype=D)
    post = analytical_posterior(prior, observed, rest)
    mirrored = analytical_posterior(torch.as_tensor(reflect_posterior(prior.numpy())),
                                    torch.as_tensor(reflect_points(observed.numpy())), rest)
    # exact but for fisher.mode's eps·I regulariser, which is not reflected (|F| ~ 100: 1e-4 is 1e-6 of it)
    torch.testing.assert_close(mirrored.F, torch.as_tensor(reflect_posterior(post.F.numpy())), atol=1e-4, rtol=0)
    torch.testing.assert_close(mirrored.rotmats, torch.as_tensor(reflect_local_rotations(post.rotmats.numpy())),
                               atol=1e-6, rtol=0)
    unc = uncertainty_deg(post)
    torch.testing.assert_close(uncertainty_deg(mirrored), unc[:, side_swap(24)], atol=1e-3, rtol=0)
    assert (unc[:, 20] - unc[:, 21]).abs().max() > 0.1  # the sides differ, so the swap is seen
    samples, density = sorted_samples(post, 5, generator=torch.Generator().manual_seed(0))
    from propose_backend.posterior import sample_log_density

    reflected = torch.as_tensor(reflect_local_rotations(samples.numpy()))
    torch.testing.assert_close(sample_log_density(mirrored, reflected), density, atol=1e-4, rtol=1e-6)
