"""The temporal smoother on clips with a known motion: accuracy, flips, gaps, pins, schema, CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from propose_backend import geometry, results
from propose_backend.temporal import Pins, kinematics, outliers, smooth_results, so3

from .synthetic import clip, true_motion

T = 90


@pytest.fixture(scope="module")
def walk():
    local = true_motion(T)
    data, world_true = clip(local)
    return data, world_true, smooth_results(data)


def _world(data: dict) -> np.ndarray:
    return kinematics.world_from_local(np.asarray(data["rotmats"], np.float64))


def test_recovers_a_smooth_track_better_than_per_frame(walk) -> None:
    data, world_true, smoothed = walk
    raw_error = so3.angle_deg(_world(data), world_true).mean()
    smooth_error = so3.angle_deg(_world(smoothed), world_true).mean()
    assert smooth_error < 0.6 * raw_error, (raw_error, smooth_error)
    raw_jitter = so3.angle_deg(data["rotmats"][1:], data["rotmats"][:-1]).mean()
    smooth_jitter = so3.angle_deg(smoothed["rotmats"][1:], smoothed["rotmats"][:-1]).mean()
    true_jitter = so3.angle_deg(kinematics.local_from_world(world_true)[1:],
                                kinematics.local_from_world(world_true)[:-1]).mean()
    assert smooth_jitter < 0.5 * raw_jitter and smooth_jitter < 2 * true_jitter
    # the smoothed uncertainty reflects the evidence of the whole clip: below the per-frame figure
    assert smoothed["uncertainty_deg"][5:-5].mean() < data["uncertainty_deg"].mean()


def test_result_is_the_current_schema_with_the_raw_values_kept(walk, tmp_path: Path) -> None:
    data, _, smoothed = walk
    assert int(smoothed["schema_version"]) == results.SCHEMA_VERSION
    for name in results.RAW_FIELDS:
        np.testing.assert_array_equal(smoothed[f"raw_{name}"], data[name])
    floor = smoothed["floor"]
    assert floor.shape == (4,) and abs(np.linalg.norm(floor[:3]) - 1) < 1e-5
    assert floor[:3] @ smoothed["transl"].mean(0) + floor[3] > 0  # the pelvis is above the floor
    assert smoothed["contacts"].shape == (T, 2)
    path = results.write_results(tmp_path / "s.npz", smoothed)
    back = results.read_results(path)
    assert back["meta"]["temporal"]["strength"] == 1.0
    again = smooth_results(back)  # re-smoothing starts from the raw values: same answer
    np.testing.assert_allclose(again["rotmats"], smoothed["rotmats"], atol=1e-5)


def test_ghosts_are_coherent_motions(walk) -> None:
    _, _, smoothed = walk
    ghost = smoothed["samples"]
    step = so3.angle_deg(ghost[1:], ghost[:-1])[:, :, 1:].mean()
    mode_step = so3.angle_deg(smoothed["rotmats"][1:], smoothed["rotmats"][:-1])[:, 1:].mean()
    spread = so3.angle_deg(ghost, smoothed["rotmats"][:, None])[:, :, 1:].mean()
    assert spread > 1.0  # ghosts are alternatives...
    assert step < mode_step + 0.5 * spread  # ...that move smoothly, not independent per-frame draws
    total = smoothed["sample_log_density"].sum(0)
    assert np.all(np.diff(total) <= 1e-3)  # whole trajectories ordered densest first


def test_injected_root_flip_is_repaired() -> None:
    local = true_motion(T)
    data, world_true = clip(local, noise_deg=5.0)
    for t in (30, 31, 32, 60):
        data["rotmats"][t, 0] = data["rotmats"][t, 0] @ outliers.TURN
        data["posterior_F"][t, 0] = data["posterior_F"][t, 0] @ outliers.TURN
    smoothed = smooth_results(data)
    assert smoothed["meta"]["temporal"]["repaired_frames"]["root_turned"] == 4
    error = so3.angle_deg(smoothed["rotmats"][:, 0], world_true[:, 0])
    assert error[[30, 31, 32, 60]].max() < 10.0
    jumps = so3.angle_deg(smoothed["rotmats"][1:, 0], smoothed["rotmats"][:-1, 0])
    assert jumps.max() < 15.0


def test_left_right_swap_is_repaired() -> None:
    data, world_true = clip(true_motion(T), noise_deg=5.0)
    swapped = kinematics.world_from_local(data["rotmats"][45].astype(np.float64))[outliers.SWAP]
    F = data["posterior_F"][45].copy()
    F[1:] = F[1:][outliers.SWAP[1:] - 1]
    data["rotmats"][45] = kinematics.local_from_world(swapped)
    data["posterior_F"][45] = F
    smoothed = smooth_results(data)
    assert smoothed["meta"]["temporal"]["repaired_frames"]["limbs_swapped"] == 1
    assert so3.angle_deg(_world(smoothed)[45], world_true[45]).max() < 15.0


def test_short_gap_is_bridged_and_long_gap_splits() -> None:
    data, world_true = clip(true_motion(T), noise_deg=5.0)
    for name in ("valid", "rotmats", "posterior_F", "joints3d", "joints2d", "transl", "uncertainty_deg"):
        data[name][20:26] = 0  # 0.2 s: bridged
        data[name][50:70] = 0  # 0.67 s: split
    smoothed = smooth_results(data)
    meta = smoothed["meta"]["temporal"]
    assert meta["bridged_frames"] == 6 and meta["split_gaps"] == 1
    assert smoothed["valid"][20:26].all() and not smoothed["valid"][50:70].any()
    assert so3.angle_deg(_world(smoothed)[20:26], world_true[20:26]).mean() < 20.0
    assert not smoothed["rotmats"][50:70].any()
    # uncertainty grows inside the bridged gap
    assert smoothed["uncertainty_deg"][22:24].mean() > smoothed["uncertainty_deg"][10:15].mean()


def test_pins_are_honoured_and_neighbours_follow(walk) -> None:
    data, _, smoothed = walk
    target = geometry.axis_angle_to_matrix(np.array([0.0, 0.0, 0.8])) @ smoothed["rotmats"][40, 18].astype(np.float64)
    root = geometry.axis_angle_to_matrix(np.array([0.2, 0.0, 0.0])) @ smoothed["rotmats"][40, 0].astype(np.float64)
    pins = Pins(frame_index=[40, 40], joint=[18, 0], rotmats=np.stack([target, root]))
    pinned = smooth_results(smoothed, pins=pins, seed=5)
    assert so3.angle_deg(pinned["rotmats"][40, 18], target) < 0.01
    assert so3.angle_deg(pinned["rotmats"][40, 0], root) < 0.01
    assert so3.angle_deg(pinned["samples"][40, :, 18], target).max() < 0.01  # ghosts pass through the pin
    near = so3.angle_deg(pinned["rotmats"][39, 18], target)
    far = so3.angle_deg(pinned["rotmats"][39, 18], smoothed["rotmats"][39, 18])
    assert near < far  # the neighbour moves towards the pin
    again = smooth_results(smoothed, pins=pins, seed=5)
    np.testing.assert_array_equal(again["samples"], pinned["samples"])
    with pytest.raises(ValueError, match="equal lengths"):
        Pins(frame_index=[1, 2], joint=[0], rotmats=np.eye(3)[None])


def test_schema_1_files_still_read(walk, tmp_path: Path) -> None:
    data, _, _ = walk
    path = results.write_results(tmp_path / "v1.npz", data)
    assert int(results.read_results(path)["schema_version"]) == 1


def test_smooth_command_round_trips(walk, tmp_path: Path) -> None:
    data, _, _ = walk
    source = results.write_results(tmp_path / "in.npz", data)
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[3] / "backend")}
    run = lambda *args: subprocess.run([sys.executable, "-m", "propose_backend", *map(str, args)],  # noqa: E731
                                       env=env, capture_output=True, text=True, timeout=300)
    done = run("smooth", source, tmp_path / "out.npz", "--strength", "2")
    assert done.returncode == 0, done.stderr
    out = results.read_results(tmp_path / "out.npz")
    assert out["meta"]["temporal"]["strength"] == 2.0
    back = run("smooth", tmp_path / "out.npz", tmp_path / "raw.npz", "--strength", "0")
    assert back.returncode == 0, back.stderr
    raw = results.read_results(tmp_path / "raw.npz")
    for name in results.RAW_FIELDS:
        np.testing.assert_array_equal(raw[name], data[name])
    assert "contacts" not in raw and "temporal" not in raw["meta"]
    bad = run("smooth", tmp_path / "missing.npz", tmp_path / "x.npz")
    assert bad.returncode == 1 and "no results at" in bad.stderr
