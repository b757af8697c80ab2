"""Which estimator runs, where model files are looked for, and the sample density."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from propose_backend import posterior as post
from propose_backend import estimators
from propose_backend.inference.protocol import EstimatorSettings
from propose_backend.inference.errors import InferenceError
from propose_backend.inference.model_files import CHECKPOINT_NAME, ModelFiles, find_model_files
from propose_backend.geometry import world_from_local
from propose_backend.posterior import sample_log_density


def _files(tmp_path: Path, checkpoint: bool) -> ModelFiles:
    return ModelFiles(tmp_path / CHECKPOINT_NAME if checkpoint else None, None, tmp_path)


def test_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    choose = estimators.choose_estimator
    assert choose("auto", _files(tmp_path, True), False) == "propose"
    assert choose("auto", _files(tmp_path, False), False) == "keypoints"  # no checkpoint: instant mode
    assert choose("auto", _files(tmp_path, False), True) == "keypoints"
    assert choose("keypoints", _files(tmp_path, True), False) == "keypoints"
    assert choose("propose", _files(tmp_path, False), True) == "propose"  # random weights, as asked
    with pytest.raises(InferenceError) as caught:
        choose("propose", _files(tmp_path, False), False)
    message = caught.value.message
    assert caught.value.kind == "missing_file"
    assert CHECKPOINT_NAME in message and str(tmp_path) in message and "--allow-random-weights" in message
    with pytest.raises(InferenceError) as caught:
        choose("magic", _files(tmp_path, True), False)
    assert caught.value.kind == "bad_request" and "auto, propose, keypoints" in caught.value.message

    made = []
    monkeypatch.setitem(estimators.FACTORIES, "keypoints", lambda settings: made.append(settings) or "kp")
    loaded, warnings = estimators.open_estimator("keypoints", EstimatorSettings(_files(tmp_path, False)))
    assert loaded == "kp" and len(made) == 1 and warnings == []
    assert estimators.startup_warnings("propose", _files(tmp_path, False)) == [estimators.RANDOM_WEIGHTS_WARNING]


def test_model_files_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"x")
    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(b"x")
    monkeypatch.setenv("PROPOSE_MODEL_FILES", str(tmp_path))
    found = find_model_files()
    assert found.checkpoint == tmp_path / CHECKPOINT_NAME and found.body_model == tmp_path / "SMPL_NEUTRAL.pkl"
    assert found.warnings == []
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PROPOSE_MODEL_FILES", str(empty))
    found = find_model_files()
    assert found.checkpoint is None and found.body_model is None and "Anny body" in found.warnings[0]
    with pytest.raises(InferenceError) as caught:
        find_model_files(checkpoint=tmp_path / "nope.pth")
    assert caught.value.kind == "missing_file" and "nope.pth" in caught.value.message


def test_sample_density_is_relative_to_the_mode() -> None:
    gen = torch.Generator().manual_seed(0)
    prior = torch.randn(2, 24, 3, 3, generator=gen) * 5
    observed = torch.randn(2, 35, 3, generator=gen) * 0.3
    rest = torch.randn(2, 35, 3, generator=gen) * 0.3
    posterior = post.analytical_posterior(prior, observed, rest)
    torch.testing.assert_close(world_from_local(posterior.rotmats), posterior.global_rotmats, atol=1e-5, rtol=0)
    at_mode = sample_log_density(posterior, posterior.rotmats[:, None])
    torch.testing.assert_close(at_mode, torch.zeros(2, 1), atol=2e-3, rtol=0)  # fp32 local→global round trip
    samples, _ = post.sorted_samples(posterior, 16, gen)
    density = sample_log_density(posterior, samples)
    assert density.shape == (2, 16) and (density < 2e-3).all() and (density < -1.0).any()
