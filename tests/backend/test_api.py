"""The public API: load_model, Prediction fields, sampling, checkpoint and body-file loading."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import propose_backend
from propose_backend.api import project_to_crop
from propose_backend.body import demo_body, save_npz
from propose_backend.model import CheckpointError


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return propose_backend.load_model()


@pytest.fixture(scope="module")
def images():
    return torch.randn(2, 3, 256, 256, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def pred(model, images):
    with torch.no_grad():
        return model(images)


def _is_rotation(R: torch.Tensor) -> bool:
    eye = torch.eye(3).expand_as(R)
    return bool(torch.allclose(R @ R.transpose(-1, -2), eye, atol=1e-4)
                and torch.allclose(torch.linalg.det(R), torch.ones(R.shape[:-2]), atol=1e-4))


def test_prediction_fields(pred, model) -> None:
    shapes = {
        "rotmats": (2, 24, 3, 3), "betas": (2, 10), "prior_F": (2, 24, 3, 3), "posterior_F": (2, 24, 3, 3),
        "heatmap_joints": (2, 35, 3), "transl": (2, 3), "vertices": (2, pred.vertices.shape[1], 3), "joints": (2, 24, 3),
        "uncertainty_deg": (2, 24), "points35": (2, 35, 3), "points2d": (2, 35, 2),
    }
    for name, shape in shapes.items():
        assert tuple(getattr(pred, name).shape) == shape, name
    assert _is_rotation(pred.rotmats)
    assert pred.heatmap_joints[:, 0].abs().max() == 0 and pred.joints[:, 0].abs().max() == 0
    surface_ids = model.body.extra_ids.tolist()  # the body's own (Anny without SMPL files)
    torch.testing.assert_close(pred.points35[:, 24:], pred.vertices[:, surface_ids])
    assert ((pred.uncertainty_deg > 0) & (pred.uncertainty_deg < 180)).all()
    assert (pred.transl[:, 2] > 0).all()


def test_root_and_vertices_follow_the_posterior(model, pred) -> None:
    # posterior_F[:, 0] is the root: its mode is the global orientation
    from propose_backend import fisher
    torch.testing.assert_close(fisher.mode(pred.posterior_F[:, 0]), pred.rotmats[:, 0])
    vertices, joints, _ = model.body(pred.betas, pred.rotmats)
    torch.testing.assert_close(vertices, pred.vertices)


def test_projection_uses_the_crop_camera() -> None:
    points = torch.tensor([[[0.0, 0.0, 0.0], [0.1, -0.2, 0.0]]])
    transl = torch.tensor([[0.0, 0.0, 5.0]])
    uv = project_to_crop(points, transl)
    torch.testing.assert_close(uv, torch.tensor([[[128.0, 128.0], [148.0, 88.0]]]))


def test_one_pass_gives_mode_and_samples(model, images, pred) -> None:
    from propose_backend import posterior as post
    calls = []
    hook = model.net.register_forward_hook(lambda *_: calls.append(1))
    try:
        with torch.no_grad():
            sampled = model(images, num_samples=4, generator=torch.Generator().manual_seed(3))
    finally:
        hook.remove()
    assert len(calls) == 1  # the network ran once for the mode and the samples
    samples = sampled.samples
    assert samples.shape == (2, 4, 24, 3, 3) and _is_rotation(samples)
    assert sampled.sample_log_density.shape == (2, 4) and (sampled.sample_log_density <= 1e-3).all()
    assert (sampled.sample_log_density.diff(dim=1) <= 0).all()  # densest first, as ghosts are shown
    torch.testing.assert_close(sampled.rotmats, pred.rotmats)
    torch.testing.assert_close(samples[:, :, 0], pred.rotmats[:, None, 0].expand(2, 4, 3, 3))
    again, _ = post.sorted_samples(pred.posterior, 4, torch.Generator().manual_seed(3))
    torch.testing.assert_close(samples, again)
    assert pred.samples.shape == (2, 0, 24, 3, 3) and pred.sample_log_density.shape == (2, 0)


def test_checkpoint_and_body_file_round_trip(tmp_path: Path, model, images, pred) -> None:
    state = dict(model.net.state_dict())
    state["init_shape"] = torch.linspace(-1, 1, 10)
    state["smpl.v_template"] = torch.zeros(5, 3)  # from some other body file: must be ignored
    ckpt = tmp_path / "propose_hr48_xyz.pth"
    torch.save(state, ckpt)
    body = save_npz(demo_body(), tmp_path / "SMPL_NEUTRAL.npz")
    loaded = propose_backend.load_model(checkpoint=ckpt, body_model=body)
    assert loaded.weights == str(ckpt)
    with torch.no_grad():
        out = loaded(images)
    torch.testing.assert_close(out.betas, pred.betas + state["init_shape"])
    torch.testing.assert_close(out.heatmap_joints, pred.heatmap_joints)


def test_wrong_checkpoint_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, bad)
    with pytest.raises(CheckpointError, match="missing"):
        propose_backend.load_model(checkpoint=bad)


def test_import_reads_no_files() -> None:
    import subprocess
    import sys
    code = ("import builtins, io; opened = [];\n"
            "orig = builtins.open\n"
            "builtins.open = lambda f, *a, **k: (opened.append(str(f)), orig(f, *a, **k))[1]\n"
            "import propose_backend, propose_backend.api\n"
            "print([f for f in opened if 'model_files' in f or f.endswith(('.pkl', '.npz', '.pth'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "backend")})
    assert out.stdout.strip() == "[]"
