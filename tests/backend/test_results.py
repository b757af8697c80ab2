"""The results file: schema validation, atomic writes, chunks of unfinished runs, merging."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from propose_backend import results


def _clip_part(frames: range, samples: int = 2) -> dict:
    """Frames an estimator could write: the rest pose, a posterior around it, samples densest first."""
    data = results.empty_frames(len(frames), samples)
    data["frame_index"][:] = list(frames)
    data["valid"][:] = True
    data["betas"][:] = np.arange(len(frames))[:, None]
    data["focal_px"][:], data["bbox"][:] = 1000.0, (10.0, 20.0, 200.0, 200.0)  # a person was found: a camera, a box
    data["rotmats"][:], data["posterior_F"][:], data["uncertainty_deg"][:] = np.eye(3), 20 * np.eye(3), 12.0
    turn = np.array([[1.0, 0, 0], [0, np.cos(0.1), -np.sin(0.1)], [0, np.sin(0.1), np.cos(0.1)]])
    data["samples"][:] = np.eye(3)
    data["samples"][:, 1:, 5] = turn  # later samples have a turned knee: less dense than the first
    data["sample_log_density"][:, 1:] = 3 * 20 * (np.trace(turn) - 3)
    data.update(schema_version=results.SCHEMA_VERSION, fps=25.0, image_size=(640, 480),
                rest_joints=np.zeros((24, 3)), rest_vertices=np.zeros((10, 3)), faces=np.arange(12).reshape(4, 3) % 10,
                lbs_weights=np.eye(24)[np.arange(10) % 24], meta={"estimator": "test", "weights": "random"})
    return data


def test_round_trip_keeps_schema_dtypes_and_meta(tmp_path: Path) -> None:
    data = _clip_part(range(3))
    data["transl"] = np.ones((3, 3), np.float64)  # computed in float64, stored as float32
    path = results.write_results(tmp_path / "r.npz", data)
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]  # no temporary file left behind
    back = results.read_results(path)
    assert back["transl"].dtype == np.float32 and back["faces"].dtype == np.int32
    assert back["meta"] == {"estimator": "test", "weights": "random"}
    with np.load(path, allow_pickle=False) as raw:  # readable without pickle, meta is JSON text
        assert json.loads(str(raw["meta"]))["estimator"] == "test"


def test_written_files_get_the_users_permissions_not_a_temporary_files(tmp_path: Path) -> None:
    """Results on shared storage must be readable by the other nodes and users the umask allows."""
    old = os.umask(0o022)
    try:
        path = results.write_results(tmp_path / "shared.npz", _clip_part(range(2)))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_validation_names_the_problem(tmp_path: Path) -> None:
    data = _clip_part(range(3))
    del data["samples"]
    with pytest.raises(results.ResultsError, match="samples"):
        results.write_results(tmp_path / "r.npz", data)
    data = _clip_part(range(3))
    data["joints2d"] = np.zeros((2, 35, 2))
    with pytest.raises(results.ResultsError, match="T=2"):
        results.validate(data)
    data = _clip_part(range(3))
    data["schema_version"] = 99
    with pytest.raises(results.ResultsError, match="schema version 99"):
        results.validate(data)
    assert not (tmp_path / "r.npz").exists()


@pytest.mark.parametrize("field, value, words", [
    ("sample_log_density", 3000.0, "must be <= 0"), ("uncertainty_deg", -1.0, "above 0"),
    ("uncertainty_deg", 0.0, "above 0"), ("uncertainty_deg", 200.0, "at most 180"),
    ("posterior_F", 0.0, "some information"), ("rotmats", 0.0, "rotation matrices"), ("rotmats", 2.0, "rotation"),
    ("samples", 0.0, "rotation matrices"),
    ("transl", np.nan, "NaN or infinite"), ("rotmats", np.inf, "NaN or infinite"), ("focal_px", 0.0, "above 0"),
    ("frame_index", 0, "increasing order"), ("contacts", 1.5, "between 0 and 1"),
])
def test_values_no_estimator_writes_are_refused(field: str, value: float, words: str) -> None:
    data = _clip_part(range(3))
    data["contacts"] = np.zeros((3, 2))
    results.validate(data)  # the part itself is fine
    data[field] = np.array(data[field], dtype=np.float64 if field != "frame_index" else np.int64)
    data[field][1] = value
    with pytest.raises(results.ResultsError, match=f"'{field}' .*{words}"):
        results.validate(data)
    data["valid"][1] = False  # rows without a person hold zeros and are not checked
    if field not in ("frame_index", "contacts"):
        results.validate(data)


def test_what_the_old_stub_estimator_wrote_is_refused() -> None:
    """A zero posterior with zero uncertainty, all-zero "rotations" as samples, zero skinning weights,
    faces naming vertices that do not exist: each alone is refused, with the field named."""
    for field, value, words in (("posterior_F", 0.0, "some information"), ("uncertainty_deg", 0.0, "above 0"),
                                ("samples", 0.0, "rotation matrices"), ("lbs_weights", 0.0, "sum to 1"),
                                ("faces", 99, "name vertices")):
        data = _clip_part(range(3))
        results.validate(data)
        data[field] = np.full_like(np.asarray(data[field]), value)
        with pytest.raises(results.ResultsError, match=f"'{field}' .*{words}"):
            results.validate(data)


def test_samples_must_be_in_their_rank_order() -> None:
    """Per-frame results: densest first on every frame. Smoothed results (raw_ fields present): whole
    motions, densest motion (summed log density) first, whatever the order on one frame."""
    data = _clip_part(range(3))
    data["samples"] = data["samples"][:, ::-1].copy()
    data["sample_log_density"] = data["sample_log_density"][:, ::-1].copy()
    with pytest.raises(results.ResultsError, match="densest first on every frame"):
        results.validate(data)
    smoothed = _clip_part(range(3))
    smoothed.update({f"raw_{name}": smoothed[name] for name in results.RAW_FIELDS})
    smoothed["sample_log_density"][:] = [[-1.0, -9.0], [-6.0, -2.0], [-6.0, -2.0]]  # motion: -13 then -13
    results.validate(smoothed)  # frames 1 and 2 rank the other way: allowed for whole motions
    assert results.is_coherent(smoothed) and not results.is_coherent(data)
    assert results.motion_log_density(smoothed).tolist() == [-13.0, -13.0]
    smoothed["sample_log_density"][0] = [-9.0, -1.0]
    with pytest.raises(results.ResultsError, match="densest motion first"):
        results.validate(smoothed)


def test_chunks_of_an_unfinished_run_are_merged(tmp_path: Path) -> None:
    out = tmp_path / "run.npz"
    results.write_chunk(out, 0, _clip_part(range(0, 4)))
    results.write_chunk(out, 1, _clip_part(range(4, 6)))
    partial = results.read_results(out)
    assert partial["frame_index"].tolist() == list(range(6))
    assert not out.exists()  # the run's recorder writes the file when the run finishes (test_recorder.py)


def test_chunks_from_different_runs_do_not_merge_silently(tmp_path: Path) -> None:
    out = tmp_path / "run.npz"
    results.write_chunk(out, 0, _clip_part(range(0, 2), samples=2))
    results.write_chunk(out, 1, _clip_part(range(2, 4), samples=4))
    with pytest.raises(results.ResultsError, match="different runs"):
        results.read_results(out)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(results.ResultsError, match="no results"):
        results.read_results(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(results.ResultsError, match="not a readable results file"):
        results.read_results(tmp_path / "bad.npz")


def test_damaged_files_are_results_errors_not_crashes(tmp_path: Path) -> None:
    """What the add-on catches is ResultsError: bad meta or damaged compressed data must become one."""
    data = _clip_part(range(3))
    path = results.write_results(tmp_path / "meta.npz", data)
    arrays = dict(np.load(path, allow_pickle=False))
    arrays["meta"] = np.array("{not json")
    np.savez(path, **arrays)
    with pytest.raises(results.ResultsError, match="not a readable results file"):
        results.read_results(path)
    arrays["meta"] = np.array("[1, 2]")
    np.savez(path, **arrays)
    with pytest.raises(results.ResultsError, match="meta"):
        results.read_results(path)

    weights = np.random.default_rng(0).random(size=(10, 24))  # a compressed member to damage
    data["lbs_weights"] = weights / weights.sum(axis=1, keepdims=True)
    path = results.write_results(tmp_path / "damaged.npz", data)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"lbs_weights.npy") + 60  # inside that member's deflate stream: a zlib.error
    raw[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    with pytest.raises(results.ResultsError, match="not a readable results file"):
        results.read_results(path)
