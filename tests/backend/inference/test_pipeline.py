"""End to end on CPU with random weights and the Anny body: footage in, schema-valid results out."""
from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend import results
from propose_backend.demo_clip import write_demo_clip
from propose_backend.inference import EstimateOptions, InferenceError, estimate_file
from propose_backend.inference.crop import ImageCamera
from propose_backend.request import EstimateRequest
from propose_backend.temporal.files import smooth_file
from tests.backend.stub_estimator import StubEstimator


def _check_frames(data: dict, num_samples: int) -> None:
    results.validate(data)
    valid = data["valid"]
    rot = data["rotmats"][valid]
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-4)
    samples = data["samples"][valid]
    assert samples.shape[1] == num_samples
    np.testing.assert_allclose(np.linalg.det(samples), 1.0, atol=1e-4)
    density = data["sample_log_density"][valid]
    if "raw_rotmats" in data:  # smoothed: each sample is one motion, ordered by its density over the clip
        assert (np.diff(density.sum(0)) <= 1e-3).all(), "sample motions must be sorted densest first"
    else:
        assert (np.diff(density, axis=1) <= 1e-6).all(), "samples must be sorted densest first"
    assert (density <= 1e-3).all(), "no sample is denser than the posterior mode"
    camera = ImageCamera(float(data["focal_px"][0]), tuple(data["principal_pt"][0]))
    projected = camera.project(data["joints3d"][valid] + data["transl"][valid][:, None])
    np.testing.assert_allclose(data["joints2d"][valid], projected, rtol=1e-4, atol=1e-2)
    assert (data["bbox"][valid][:, 2] == data["bbox"][valid][:, 3]).all()
    assert (data["uncertainty_deg"][valid] > 0).all()


def test_video_gives_a_schema_valid_file(estimator, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "walk.npz"
    seen = []
    summary = estimate_file(clip, out, estimator, EstimateOptions(samples=3, batch_size=2, chunk_frames=4),
                            progress=seen.append)
    assert summary.output == out and summary.frames == 6 and not summary.cancelled
    assert not results.chunk_dir(out).exists()
    data = results.read_results(out)
    _check_frames(data, 3)
    assert data["frame_index"].tolist() == list(range(6))
    assert data["valid"].all() and summary.valid_frames == 6
    assert tuple(data["image_size"]) == (320, 240) and float(data["fps"]) == pytest.approx(30)
    np.testing.assert_allclose(data["focal_px"], np.hypot(320, 240))
    num_vertices = len(data["rest_vertices"])  # the Anny body without SMPL files
    assert data["lbs_weights"].shape == (num_vertices, 24) and data["faces"].max() < num_vertices
    assert data["meta"]["estimator"] == "propose" and data["meta"]["weights"] == "random"
    assert data["meta"]["source"] == str(clip.resolve())
    phases = [p.phase for p in seen]
    assert phases[0] == "reading" and "estimating" in phases and phases[-2:] == ["smoothing", "writing"]  # smoothed in memory, then one write
    assert phases.index("camera") < phases.index("smoothing")
    assert "camera" in data["meta"] and data["world_from_camera"].shape == (6, 4, 4)
    assert [p.done for p in seen if p.phase == "estimating"][-1] == 6
    # videos are smoothed by default; the per-frame values stay in the file
    assert int(data["schema_version"]) == results.SCHEMA_VERSION and "raw_rotmats" in data and data["contacts"].shape == (6, 2)


def test_video_without_smoothing_keeps_the_per_frame_values(estimator, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw.npz"
    estimate_file(clip, out, estimator, EstimateOptions(samples=2, batch_size=2, smooth=0.0))
    data = results.read_results(out)
    _check_frames(data, 2)
    assert "raw_rotmats" not in data and "contacts" not in data and "temporal" not in data["meta"]


def test_the_seed_reaches_the_ghosts_of_a_smoothed_video(stub, clip: Path, tmp_path: Path) -> None:
    """A smoothed video's ghosts are drawn by the smoother: with the request's seed, not seed 0."""
    drawn = {}
    for seed in (0, 1, 1):
        options = EstimateOptions.from_request(EstimateRequest(input=str(clip), samples=3, seed=seed), batch_size=2)
        out = tmp_path / f"seed{seed}-{len(drawn)}.npz"
        estimate_file(clip, out, stub, options)
        data = results.read_results(out)
        assert data["meta"]["temporal"]["seed"] == seed
        drawn.setdefault(seed, []).append(data["samples"])
    np.testing.assert_array_equal(*drawn[1])  # the same seed draws the same ghosts
    assert not np.allclose(drawn[0][0], drawn[1][0])  # another seed draws others


def test_a_smoothed_video_is_written_once(stub, clip: Path, tmp_path: Path, monkeypatch) -> None:
    """The recorder hands the merged frames to the smoother in memory: the results file is written
    once, smoothed, and never read back (chunks of the run still go to disk as it goes)."""
    written, read = [], []
    write, load = results.write_results, results._load_one
    monkeypatch.setattr(results, "write_results", lambda path, data, **kw: written.append(Path(path)) or write(path, data, **kw))
    monkeypatch.setattr(results, "_load_one", lambda path: read.append(Path(path)) or load(path))
    out = tmp_path / "once.npz"
    estimate_file(clip, out, stub, EstimateOptions(samples=2, batch_size=2, chunk_frames=2))
    assert [p for p in written if p == out] == [out] and out not in read  # only chunks were read
    assert any(p.parent == results.chunk_dir(out) for p in written) and not results.chunk_dir(out).exists()
    assert "raw_rotmats" in load(out)  # and that one write is the smoothed file


def test_the_chosen_person_is_recorded_as_the_number_picked(stub, clip: Path, tmp_path: Path) -> None:
    """The panel and --person send a number; the results say that number (1 = leftmost), not a box."""
    options = EstimateOptions.from_request(EstimateRequest(input=str(clip), samples=0, person=0), batch_size=2)
    estimate_file(clip, tmp_path / "p.npz", stub, options)
    person = results.read_results(tmp_path / "p.npz")["meta"]["person"]
    assert (person["choice"], person["number"], person["frame"]) == ("number", 1, 0) and person["of"] >= 1


def test_image_and_focal_option(estimator, person_image: Path, tmp_path: Path) -> None:
    summary = estimate_file(person_image, tmp_path / "p.npz", estimator, EstimateOptions(samples=2, focal_px=500))
    data = results.read_results(summary.output)
    _check_frames(data, 2)
    assert data["frame_index"].tolist() == [0] and data["valid"].all()
    assert float(data["fps"]) == 0 and float(data["focal_px"][0]) == 500


def test_image_without_a_person_is_a_no_person_error(estimator, grey_image: Path, tmp_path: Path) -> None:
    with pytest.raises(InferenceError) as caught:
        estimate_file(grey_image, tmp_path / "g.npz", estimator)
    assert caught.value.kind == "no_person" and "--" not in caught.value.message  # each front end adds its own advice
    assert not (tmp_path / "g.npz").exists() and not results.chunk_dir(tmp_path / "g.npz").exists()
    # a box given by the user is trusted
    summary = estimate_file(grey_image, tmp_path / "g.npz", estimator,
                            EstimateOptions(samples=0, bbox=(100, 20, 100, 200)))
    assert summary.valid_frames == 1 and results.read_results(summary.output)["samples"].shape[1] == 0


def test_frames_without_a_person_are_marked_invalid(estimator, tmp_path: Path) -> None:
    clip = write_demo_clip(tmp_path / "body.mp4", 2, size=(320, 240))
    capture = cv2.VideoCapture(str(clip))
    frames = [capture.read()[1] for _ in range(2)]
    capture.release()
    grey = np.full_like(frames[0], 96)
    writer = cv2.VideoWriter(str(tmp_path / "gap.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (320, 240))
    for frame in (frames[0], grey, grey, frames[1]):
        writer.write(frame)
    writer.release()
    summary = estimate_file(tmp_path / "gap.mp4", tmp_path / "gap.npz", estimator,
                            EstimateOptions(samples=1, batch_size=2, redetect_every=1, smooth=0.0))
    data = results.read_results(summary.output)
    assert data["valid"].tolist() == [True, False, False, True]
    assert not data["rotmats"][1:3].any() and not data["bbox"][1:3].any()
    _check_frames(data, 1)
    # smoothed (the default), the short gap is bridged; the file still says which frames were seen
    smoothed = results.read_results(smooth_file(summary.output, tmp_path / "bridged.npz"))
    assert smoothed["raw_valid"].tolist() == [True, False, False, True] and smoothed["valid"].all()
    assert smoothed["meta"]["temporal"]["bridged_frames"] == 2
    _check_frames(smoothed, 1)


def test_cancel_keeps_the_finished_frames(estimator, clip: Path, tmp_path: Path) -> None:
    cancel = threading.Event()

    def progress(p) -> None:
        if p.phase == "estimating":
            cancel.set()

    summary = estimate_file(clip, tmp_path / "c.npz", estimator, EstimateOptions(samples=1, batch_size=1),
                            progress=progress, cancel=cancel)
    assert summary.cancelled and summary.frames == 1
    assert results.read_results(tmp_path / "c.npz")["frame_index"].tolist() == [0]


def test_long_clip_memory_stays_bounded(tmp_path: Path, stub) -> None:
    """2000 frames through the whole pipeline: peak memory is a few batches, not the clip."""
    size = (160, 120)
    writer = cv2.VideoWriter(str(tmp_path / "long.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    frame = np.full((size[1], size[0], 3), 90, np.uint8)
    for i in range(2000):
        frame[:, :, 0] = i % 256
        writer.write(frame)
    writer.release()
    stub.rest_geometry(np.zeros(10))  # its body model loads once, as a real estimator's does before the clip
    tracemalloc.start()
    try:
        summary = estimate_file(tmp_path / "long.avi", tmp_path / "long.npz", stub,
                                EstimateOptions(samples=0, batch_size=16, detector="full-frame", chunk_frames=500,
                                                smooth=0.0))  # the estimate's memory; smoothing holds O(T) state
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.frames == 2000 and summary.valid_frames == 2000
    held = 2000 * size[0] * size[1] * 3
    assert peak < 40e6 < held, f"peak {peak / 1e6:.1f} MB"
    assert len(results.read_results(summary.output)["frame_index"]) == 2000


def test_cancel_before_the_first_batch_keeps_nothing(stub, clip: Path, tmp_path: Path) -> None:
    """A cancel that arrives while the model loads: no frame is estimated and no file is written."""
    cancel = threading.Event()
    cancel.set()
    summary = estimate_file(clip, tmp_path / "c.npz", stub, EstimateOptions(samples=0, detector="full-frame"),
                            cancel=cancel)
    assert summary.cancelled and summary.frames == 0 and summary.output is None
    assert stub.batches == 0 and not (tmp_path / "c.npz").exists()


def test_an_output_that_cannot_be_written_fails_before_any_work(stub, clip: Path, tmp_path: Path) -> None:
    (tmp_path / "folder.npz").mkdir()
    (tmp_path / "file").write_bytes(b"x")
    for output in (tmp_path / "folder.npz", tmp_path / "file" / "r.npz"):
        with pytest.raises(InferenceError) as caught:
            estimate_file(clip, output, stub, EstimateOptions(samples=0, detector="full-frame"))
        assert caught.value.kind == "bad_request" and str(output) in caught.value.message
    assert stub.batches == 0


def test_an_estimator_that_rejects_every_box_of_an_image_is_a_no_person_error(grey_image: Path,
                                                                               tmp_path: Path) -> None:
    """The detector finds a box, the estimator (BlazePose on the crop) sees nobody: a clear error,
    not a crash while storing an empty batch."""
    stub = StubEstimator(rejects={0})
    with pytest.raises(InferenceError) as caught:
        estimate_file(grey_image, tmp_path / "r.npz", stub, EstimateOptions(samples=0, detector="full-frame"))
    assert caught.value.kind == "no_person"


def test_frames_the_estimator_rejects_are_invalid_and_the_run_goes_on(clip: Path, tmp_path: Path) -> None:
    """Whole batches rejected in mid-clip (a hard cut, a person leaving the frame) are invalid frames."""
    stub = StubEstimator(rejects={2, 3})
    summary = estimate_file(clip, tmp_path / "r.npz", stub,  # per-frame output: the smoother would bridge the gap
                            EstimateOptions(samples=0, batch_size=2, detector="full-frame", smooth=0.0))
    data = results.read_results(summary.output)
    assert data["valid"].tolist() == [True, True, False, False, True, True]
    assert not data["bbox"][2:4].any() and data["bbox"][[0, 1, 4, 5]].all()
    assert summary.frames == 6 and summary.valid_frames == 4
