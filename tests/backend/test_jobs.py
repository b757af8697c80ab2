"""Several inputs per call: output naming, and the one-worker-per-device process pool."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend import results
from propose_backend.inference import EstimateOptions, EstimatorSettings, InferenceError, ModelFiles
from propose_backend.jobs import Job, plan_jobs, run_jobs


def test_output_names(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("b.mp4", "a.jpg", "notes.txt"):
        (tmp_path / "in" / name).write_bytes(b"x")
    assert plan_jobs([str(tmp_path / "in" / "a.jpg")], str(tmp_path / "r.npz")) == \
        [Job(tmp_path / "in" / "a.jpg", tmp_path / "r.npz")]
    assert plan_jobs([str(tmp_path / "in" / "a.jpg")], None) == \
        [Job(tmp_path / "in" / "a.jpg", tmp_path / "in" / "a.propose.npz")]
    jobs = plan_jobs([str(tmp_path / "in")], str(tmp_path / "out"))
    assert [(j.input.name, j.output) for j in jobs] == [("a.jpg", tmp_path / "out" / "a.propose.npz"),
                                                        ("b.mp4", tmp_path / "out" / "b.propose.npz")]
    with pytest.raises(InferenceError, match="names a file"):
        plan_jobs([str(tmp_path / "in")], str(tmp_path / "r.npz"))
    (tmp_path / "in" / "a.png").write_bytes(b"x")
    with pytest.raises(InferenceError, match="would both write"):
        plan_jobs([str(tmp_path / "in")], None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InferenceError, match="no images or videos"):
        plan_jobs([str(tmp_path / "empty")], None)


@pytest.mark.slow
def test_worker_processes_share_the_inputs(tmp_path: Path, person_image: Path) -> None:
    """Two worker processes (CPU stands in for two GPUs): every input done, errors reported per input."""
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((120, 160, 3), 128, np.uint8))
    jobs = [Job(person_image, tmp_path / "one.npz"), Job(tmp_path / "grey.png", tmp_path / "grey.npz"),
            Job(person_image, tmp_path / "two.npz")]
    settings = EstimatorSettings(ModelFiles(None, None, tmp_path), device="cpu")
    finished = []
    outcomes = run_jobs(jobs, "propose", settings, EstimateOptions(samples=1), allow_random_weights=True,
                        devices=["cpu", "cpu"], on_finished=finished.append)
    assert [o.job for o in outcomes] == jobs and len(finished) == 3
    assert outcomes[1].error is not None and outcomes[1].error.kind == "no_person"
    for outcome in (outcomes[0], outcomes[2]):
        assert outcome.error is None
        assert results.read_results(outcome.summary.output)["valid"].tolist() == [True]


def test_a_disk_error_on_one_input_does_not_stop_the_others(monkeypatch, stub, person_image: Path,
                                                            tmp_path: Path) -> None:
    from propose_backend import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "open_estimator", lambda *args, **kwargs: (stub, []))
    real_save = results._atomic_savez

    def disk_full(path: Path, arrays, compress: bool = True) -> None:
        if path.name == "full.npz":
            raise OSError(28, "No space left on device", str(path))
        real_save(path, arrays, compress)

    monkeypatch.setattr(results, "_atomic_savez", disk_full)
    jobs = [Job(person_image, tmp_path / "full.npz"), Job(person_image, tmp_path / "fine.npz")]
    settings = EstimatorSettings(ModelFiles(None, None, tmp_path), device="cpu")
    outcomes = run_jobs(jobs, "propose", settings, EstimateOptions(samples=0, detector="full-frame"))
    assert outcomes[0].error is not None and "No space left" in outcomes[0].error.message
    assert outcomes[1].error is None and results.read_results(tmp_path / "fine.npz")["valid"].tolist() == [True]
    assert stub.closed  # the estimator's resources are released when the run ends
