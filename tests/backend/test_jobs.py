"""Several inputs per call: which files, where their results go, and one failing input among good ones."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from propose_backend import results
from propose_backend.inference import EstimateOptions, EstimatorSettings, InferenceError, ModelFiles
from propose_backend.jobs import Job, plan_jobs


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


def test_list_files_and_output_folders(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("a.jpg", "b.mp4"):
        (tmp_path / "in" / name).write_bytes(b"x")
    (tmp_path / "library.txt").write_text("# the shots of reel 1\nin/b.mp4\n\nin/a.jpg\n")
    assert plan_jobs([str(tmp_path / "library.txt")], str(tmp_path / "out")) == [
        Job(tmp_path / "in" / "b.mp4", tmp_path / "out" / "b.propose.npz"),
        Job(tmp_path / "in" / "a.jpg", tmp_path / "out" / "a.propose.npz")]
    assert plan_jobs([str(tmp_path / "in" / "a.jpg")], str(tmp_path / "new") + "/") == \
        [Job(tmp_path / "in" / "a.jpg", tmp_path / "new" / "a.propose.npz")]  # a slash names a folder
    (tmp_path / "nothing.txt").write_text("# no paths here\n")
    with pytest.raises(InferenceError, match="names no inputs"):
        plan_jobs([str(tmp_path / "nothing.txt")], None)


def test_a_disk_error_on_one_input_does_not_stop_the_others(monkeypatch, stub, person_image: Path,
                                                            tmp_path: Path) -> None:
    """In-process (no Ray): the batch runner's own worker, with a disk that is full for one file."""
    from propose_backend.batch import worker
    from propose_backend.batch.report import BatchReport
    from propose_backend.batch.runner import BatchSettings, run_batch
    from propose_backend.request import EstimateRequest

    monkeypatch.setattr(worker, "open_estimator", lambda *args, **kwargs: (stub, []))
    real_save = results._atomic_savez

    def disk_full(path: Path, arrays, compress: bool = True) -> None:
        if path.name == "full.npz":
            raise OSError(28, "No space left on device", str(path))
        real_save(path, arrays, compress)

    monkeypatch.setattr(results, "_atomic_savez", disk_full)
    jobs = [Job(person_image, tmp_path / "full.npz"), Job(person_image, tmp_path / "fine.npz")]
    settings = EstimatorSettings(ModelFiles(None, None, tmp_path), device="cpu")
    request = EstimateRequest(estimator="propose", allow_random_weights=True, samples=0, detector="full-frame")
    summary = run_batch(jobs, request, settings, EstimateOptions(samples=0, detector="full-frame"),
                        BatchSettings(use_ray=False, keep_books=False), BatchReport(stream=io.StringIO()))
    assert [f["input"] for f in summary["failures"]] == [str(person_image)]
    assert "No space left" in summary["failures"][0]["message"]
    assert summary["clips"]["done"] == 1 and results.read_results(tmp_path / "fine.npz")["valid"].tolist() == [True]
    assert stub.closed  # the estimator's resources are released when the run ends
