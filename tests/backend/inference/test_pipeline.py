"""End to end on CPU with random weights and the demo body: footage in, schema-valid results out."""
from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend import results
from propose_backend.bench import write_demo_clip
from propose_backend.inference import EstimateOptions, InferenceError, estimate_file
from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.estimator import ESTIMATED_FIELDS


def _check_frames(data: dict, num_samples: int) -> None:
    results.validate(data)
    valid = data["valid"]
    rot = data["rotmats"][valid]
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-4)
    samples = data["samples"][valid]
    assert samples.shape[1] == num_samples
    np.testing.assert_allclose(np.linalg.det(samples), 1.0, atol=1e-4)
    density = data["sample_log_density"][valid]
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
    assert data["rest_vertices"].shape == (6890, 3) and data["faces"].shape == (13776, 3)
    assert data["meta"]["estimator"] == "propose" and data["meta"]["weights"] == "random"
    assert data["meta"]["source"] == str(clip.resolve())
    phases = [p.phase for p in seen]
    assert phases[0] == "reading" and "estimating" in phases and phases[-1] == "writing"
    assert [p.done for p in seen if p.phase == "estimating"][-1] == 6


def test_image_and_focal_option(estimator, person_image: Path, tmp_path: Path) -> None:
    summary = estimate_file(person_image, tmp_path / "p.npz", estimator, EstimateOptions(samples=2, focal_px=500))
    data = results.read_results(summary.output)
    _check_frames(data, 2)
    assert data["frame_index"].tolist() == [0] and data["valid"].all()
    assert float(data["fps"]) == 0 and float(data["focal_px"][0]) == 500


def test_image_without_a_person_is_a_no_person_error(estimator, grey_image: Path, tmp_path: Path) -> None:
    with pytest.raises(InferenceError) as caught:
        estimate_file(grey_image, tmp_path / "g.npz", estimator)
    assert caught.value.kind == "no_person" and "--bbox" in caught.value.message
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
                            EstimateOptions(samples=1, batch_size=2, redetect_every=1))
    data = results.read_results(summary.output)
    assert data["valid"].tolist() == [True, False, False, True]
    assert not data["rotmats"][1:3].any() and not data["bbox"][1:3].any()
    _check_frames(data, 1)


def test_cancel_keeps_the_finished_frames(estimator, clip: Path, tmp_path: Path) -> None:
    cancel = threading.Event()

    def progress(p) -> None:
        if p.phase == "estimating":
            cancel.set()

    summary = estimate_file(clip, tmp_path / "c.npz", estimator, EstimateOptions(samples=1, batch_size=1),
                            progress=progress, cancel=cancel)
    assert summary.cancelled and summary.frames == 1
    assert results.read_results(tmp_path / "c.npz")["frame_index"].tolist() == [0]


class InstantStub:
    """A trivially fast estimator (the protocol, nothing more) so that long clips cost no network time."""

    name = "stub"
    needs_crops = True
    needs_landmarks = False

    def describe(self) -> dict[str, str]:
        return {"weights": "none", "body_model": "none"}

    def estimate(self, batch) -> dict[str, np.ndarray]:
        count = len(batch.frame_index)
        frames = results.empty_frames(count, batch.num_samples)
        frames["rotmats"][:] = np.eye(3)
        joints3d = np.zeros((count, 35, 3))
        joints3d[:, :, 1] = np.linspace(-0.8, 0.8, 35)
        frames["transl"][:] = (0, 0, 5)
        frames["joints3d"][:] = joints3d
        frames["joints2d"][:] = batch.camera.project(joints3d + frames["transl"][:, None])
        return {name: frames[name] for name in ESTIMATED_FIELDS}

    def rest_geometry(self, betas: np.ndarray) -> dict[str, np.ndarray]:
        return {"rest_joints": np.zeros((24, 3)), "rest_vertices": np.zeros((8, 3)),
                "faces": np.zeros((4, 3), np.int32), "lbs_weights": np.zeros((8, 24))}


def test_long_clip_memory_stays_bounded(tmp_path: Path) -> None:
    """2000 frames through the whole pipeline: peak memory is a few batches, not the clip."""
    size = (160, 120)
    writer = cv2.VideoWriter(str(tmp_path / "long.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    frame = np.full((size[1], size[0], 3), 90, np.uint8)
    for i in range(2000):
        frame[:, :, 0] = i % 256
        writer.write(frame)
    writer.release()
    tracemalloc.start()
    try:
        summary = estimate_file(tmp_path / "long.avi", tmp_path / "long.npz", InstantStub(),
                                EstimateOptions(samples=0, batch_size=16, detector="full-frame", chunk_frames=500))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.frames == 2000 and summary.valid_frames == 2000
    held = 2000 * size[0] * size[1] * 3
    assert peak < 40e6 < held, f"peak {peak / 1e6:.1f} MB"
    assert len(results.read_results(summary.output)["frame_index"]) == 2000
