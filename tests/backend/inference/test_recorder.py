"""Chunked results: chunks are written by frame count or by elapsed time, whichever comes first."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propose_backend import results
from propose_backend.inference.recorder import ResultsRecorder


def _rest(_betas: np.ndarray) -> dict[str, np.ndarray]:
    return {"rest_joints": np.zeros((24, 3), np.float32), "rest_vertices": np.zeros((5, 3), np.float32),
            "faces": np.array([[0, 1, 2], [2, 3, 4]], np.int32), "lbs_weights": np.eye(24, dtype=np.float32)[:5]}


def _frames(start: int, count: int) -> dict[str, np.ndarray]:
    frames = results.empty_frames(count, 2)
    frames["frame_index"][:] = np.arange(start, start + count)
    return frames


def _recorder(tmp_path: Path, **kwargs) -> ResultsRecorder:
    return ResultsRecorder(tmp_path / "r.npz", {"fps": 25.0, "image_size": (64, 48)}, {"estimator": "test"}, _rest,
                           **kwargs)


def test_slow_runs_write_a_chunk_every_few_seconds(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, chunk_frames=1000, chunk_seconds=0.0)
    recorder.add(_frames(0, 3))
    recorder.add(_frames(3, 2))
    chunks = sorted(results.chunk_dir(tmp_path / "r.npz").glob("*.npz"))
    assert len(chunks) == 2  # a crash now would keep all 5 frames
    assert results.read_results(tmp_path / "r.npz")["frame_index"].tolist() == [0, 1, 2, 3, 4]


def test_fast_runs_chunk_by_frame_count_after_an_early_first_chunk(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, chunk_frames=4, chunk_seconds=3600.0)
    recorder.add(_frames(0, 2))
    # the first batch is on disk at once: a backend killed now still leaves frames to import
    assert results.read_results(tmp_path / "r.npz")["frame_index"].tolist() == [0, 1]
    for start in range(2, 8, 2):
        recorder.add(_frames(start, 2))
    assert len(list(results.chunk_dir(tmp_path / "r.npz").glob("*.npz"))) == 2  # 2 + 4 frames in, 4 pending
    path = recorder.finish()
    assert results.read_results(path)["frame_index"].tolist() == list(range(8))
    assert not results.chunk_dir(tmp_path / "r.npz").exists()


def test_chunks_come_more_often_early_in_a_run(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, chunk_frames=1000, chunk_seconds=10.0)
    assert [recorder._interval() for recorder._chunks in range(6)] == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_an_older_file_is_never_read_as_a_new_runs_frames(tmp_path: Path) -> None:
    old = _recorder(tmp_path, chunk_frames=1000)
    old.add(_frames(100, 2))
    old.finish()
    assert results.read_results(tmp_path / "r.npz")["frame_index"].tolist() == [100, 101]
    _recorder(tmp_path, chunk_frames=1000)  # a new run starts ... and dies before its first chunk
    with pytest.raises(results.ResultsError, match="not finished any frame"):
        results.read_results(tmp_path / "r.npz")


def test_a_failing_last_step_keeps_the_merged_frames(tmp_path: Path) -> None:
    """finish() hands the merged frames to the smoother in memory; if that fails, they are written as
    they are before the error goes on, so no finished frame is lost."""
    recorder = _recorder(tmp_path, chunk_frames=2)
    for start in range(0, 6, 2):
        recorder.add(_frames(start, 2))

    def broken(data: dict) -> dict:
        assert data["frame_index"].tolist() == list(range(6))  # every chunk, merged
        raise results.ResultsError("cannot smooth")

    with pytest.raises(results.ResultsError, match="cannot smooth"):
        recorder.finish(broken)
    assert results.read_results(tmp_path / "r.npz")["frame_index"].tolist() == list(range(6))
    assert not results.chunk_dir(tmp_path / "r.npz").exists()
