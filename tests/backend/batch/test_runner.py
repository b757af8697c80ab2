"""The batch runner on a local Ray (CPU): real clips and photos, a worker killed mid-clip, re-runs, pieces."""
from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend import results
from propose_backend.batch.plan import pieces_dir
from propose_backend.batch.report import BatchReport
from propose_backend.batch.runner import BatchSettings, run_batch
from propose_backend.estimators import open_estimator
from propose_backend.inference import EstimatorSettings, ModelFiles, estimate_file
from propose_backend.jobs import Job
from propose_backend.request import EstimateRequest
from propose_backend.run_plan import RunPlan
from tests.real_data import photo

pytestmark = pytest.mark.slow

COMPARED = ("valid", "frame_index", "bbox", "rotmats", "posterior_F", "uncertainty_deg", "transl", "joints3d",
            "joints2d", "betas", "samples")


def _request(out: Path, **fields) -> EstimateRequest:
    return EstimateRequest(estimator="keypoints", device="cpu", samples=2, output=str(out), **fields).validate()


def _settings(tmp_path: Path) -> EstimatorSettings:
    return EstimatorSettings(ModelFiles(None, None, tmp_path / "no_model_files"), device="cpu")


def _run(jobs: list[Job], request: EstimateRequest, tmp_path: Path, **batch) -> tuple[dict, str]:
    stream = io.StringIO()
    summary = run_batch(jobs, RunPlan(request, "cpu"), _settings(tmp_path).files, BatchSettings(**batch),
                        BatchReport(stream=stream))
    return summary, stream.getvalue()


def _reference(source: Path, target: Path, request: EstimateRequest, tmp_path: Path) -> dict:
    """The same input through one process, as `propose-backend estimate` on it alone runs."""
    estimator, _ = open_estimator("keypoints", _settings(tmp_path))
    try:
        estimate_file(source, target, estimator, RunPlan(request, "cpu").estimate_options())
    finally:
        estimator.close()
    return results.read_results(target)


def _assert_same(got: dict, want: dict, atol: float = 1e-5) -> None:
    for name in COMPARED:
        if name == "samples" and "raw_rotmats" in want:
            continue  # smoothed files carry the smoother's ghosts; compared through rotmats and posterior_F
        np.testing.assert_allclose(np.asarray(got[name], float), np.asarray(want[name], float), atol=atol,
                                   err_msg=name)


@pytest.fixture(scope="module")
def street_reference(street_long: Path, tmp_path_factory) -> dict:
    """67 real frames estimated in one process, the whole frame as the person's box (BlazePose per frame)."""
    folder = tmp_path_factory.mktemp("reference")
    return _reference(street_long, folder / "ref.npz", _request(folder, detector="full-frame"), folder)


def test_a_batch_of_clips_completes_and_bad_inputs_fail_alone(local_ray, street_clip: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((240, 320, 3), 128, np.uint8))
    inputs = [photo(192), tmp_path / "empty.jpg", street_clip, tmp_path / "grey.png", photo(241)]
    out = tmp_path / "out"
    jobs = [Job(p, out / (p.stem + ".propose.npz")) for p in inputs]
    request = _request(out)
    summary, printed = _run(jobs, request, tmp_path, workers=2)

    assert summary["clips"] == {"total": 5, "done": 3, "skipped": 0, "failed": 2, "pending": 0}, printed
    failures = {Path(f["input"]).name: f["message"] for f in summary["failures"]}
    assert "empty file" in failures["empty.jpg"] and "No person" in failures["grey.png"]
    assert summary["workers"] == 2 and summary["frames"] == 1 + 24 + 1
    for job in (jobs[0], jobs[2], jobs[4]):  # what Ray wrote is what one process writes
        _assert_same(results.read_results(job.output), _reference(job.input, tmp_path / "ref.npz", request, tmp_path))
    books = json.loads((out / "propose-batch.json").read_text())["clips"]
    assert {Path(k).name: v["state"] for k, v in books.items()} == {
        "COCO_val2014_000000000192.propose.npz": "done", "empty.propose.npz": "failed",
        "street24.propose.npz": "done", "grey.propose.npz": "failed", "COCO_val2014_000000000241.propose.npz": "done"}
    assert json.loads((out / "propose-batch-summary.json").read_text())["clips"]["done"] == 3

    good = [jobs[0], jobs[2], jobs[4]]  # the same command again (without the bad files): no work at all
    written = [job.output.stat().st_mtime_ns for job in good]
    again, printed = _run(good, request, tmp_path, workers=2)
    assert again["clips"]["skipped"] == 3 and again["frames"] == 0 and again["workers"] == 0, printed
    assert [job.output.stat().st_mtime_ns for job in good] == written

    os.utime(street_clip, ns=(time.time_ns(), time.time_ns()))  # a changed input is estimated again, alone
    third, _ = _run(good, request, tmp_path, workers=2)
    assert third["clips"]["skipped"] == 2 and third["frames"] == 24
    assert [r["skipped"] for r in third["results"]] == [True, False, True]


def test_a_worker_killed_mid_clip_costs_only_that_clip_a_retry(local_ray, street_long: Path, street_clip: Path,
                                                               street_reference: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs = [Job(street_long, out / "street.propose.npz"), Job(street_clip, out / "short.propose.npz")]
    request = _request(out, detector="full-frame")
    finished: dict = {}
    runner = threading.Thread(target=lambda: finished.update(zip(("summary", "printed"),
                                                                 _run(jobs, request, tmp_path, workers=2))))
    runner.start()
    killed, deadline = None, time.monotonic() + 240
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            record = json.loads((out / "propose-batch.json").read_text())["clips"][str(jobs[0].output)]
        except (OSError, ValueError, KeyError):
            continue
        busy = [worker for worker, frames in record["running"].items() if frames >= 5]
        if busy:
            killed = int(busy[0].split("@")[0])
            os.kill(killed, signal.SIGKILL)  # the worker process dies mid-clip, as a pre-empted node would
    runner.join(timeout=300)
    assert killed is not None, "the long clip never got under way"
    summary = finished["summary"]
    assert summary["clips"]["done"] == 2 and summary["retries"] == 1, finished["printed"]
    assert "the worker died" in finished["printed"]
    street, short = summary["results"]
    assert street["attempts"] == 1 and short["attempts"] == 0
    assert not results.chunk_dir(jobs[0].output).exists()  # the killed attempt's chunks were not merged in
    _assert_same(results.read_results(jobs[0].output), street_reference)


def test_a_clip_cut_into_pieces_joins_without_a_seam(local_ray, street_long: Path, street_reference: dict,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    job = Job(street_long, out / "street.propose.npz")
    summary, printed = _run([job], _request(out, detector="full-frame"), tmp_path, workers=2, piece_frames=33)
    assert summary["clips"]["done"] == 1, printed
    books = json.loads((out / "propose-batch.json").read_text())["clips"][str(job.output)]
    assert len(books["pieces"]) == 3 and books["pieces_done"] == [0, 1, 2]
    assert not pieces_dir(job.output).exists()
    joined = results.read_results(job.output)
    assert joined["frame_index"].tolist() == list(range(67))
    # One smoothing pass over the joined frames: the same motion as the clip estimated in one piece.
    _assert_same(joined, street_reference, atol=1e-4)
    timeless = lambda meta: {k: v for k, v in meta["temporal"].items() if k != "seconds"}  # noqa: E731
    assert timeless(joined["meta"]) == timeless(street_reference["meta"])
    np.testing.assert_allclose(joined["rest_joints"], street_reference["rest_joints"], atol=1e-5)  # the clip's body
