"""Re-solve around pins: the CLI subcommand and the service's `resolve` request, on the real smoother."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("propose_backend.temporal", reason="the temporal smoother (issue 10) has not landed here")

from propose_backend import results  # noqa: E402
from propose_backend.body import demo_body  # noqa: E402
from propose_backend.cli import main  # noqa: E402
from propose_backend.geometry import axis_angle_to_matrix, world_from_local  # noqa: E402
from propose_backend.resolve import ResolveError, pins_from_json  # noqa: E402
from propose_backend.serve import Service  # noqa: E402

ELBOW = 18


def clip(num_frames: int = 40) -> dict:
    """A smoothly moving body observed with noise, its posterior_F as the smoother expects it."""
    rng = np.random.default_rng(0)
    t = np.arange(num_frames)[:, None, None] / 25.0
    phase = rng.uniform(0, 2 * np.pi, (1, 24, 3))
    local = axis_angle_to_matrix(0.3 * np.sin(2 * np.pi * 0.8 * t + phase) + rng.normal(0, 0.03, (num_frames, 24, 3)))
    local[:, 0] = np.diag([1.0, -1.0, -1.0]) @ local[:, 0]  # upright in the camera frame
    world = world_from_local(local)
    relative = world @ np.swapaxes(world[:, :1], -1, -2)
    relative[:, 0] = world[:, 0]
    body = demo_body()
    data = results.empty_frames(num_frames, 2)
    data.update(frame_index=np.arange(num_frames), valid=np.ones(num_frames, bool), rotmats=local,
                posterior_F=20.0 * relative, samples=np.repeat(local[:, None], 2, 1),
                sample_log_density=np.zeros((num_frames, 2)), transl=np.tile([0.0, 0.1, 3.0], (num_frames, 1)),
                uncertainty_deg=np.full((num_frames, 24), 10.0), focal_px=np.full(num_frames, 500.0),
                principal_pt=np.tile([320.0, 240.0], (num_frames, 1)), bbox=np.tile([100.0, 50, 200, 200], (num_frames, 1)))
    data.update(schema_version=results.SCHEMA_VERSION, fps=25.0, image_size=(640, 480),
                rest_joints=(body.J_regressor @ body.v_template).astype(np.float32),
                rest_vertices=body.v_template, faces=body.faces, lbs_weights=body.weights,
                meta={"estimator": "test", "weights": "none", "source": "", "body_model": "demo", "created_by": "tests"})
    return data


TURN = axis_angle_to_matrix(np.array([0.0, 0.0, np.radians(20.0)]))  # the animator's edit: the elbow 20° further


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between rotations, accurate near 0 (atan2 of the skew and symmetric parts)."""
    r = np.swapaxes(np.asarray(a, np.float64), -1, -2) @ np.asarray(b, np.float64)
    sin = np.linalg.norm(np.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0],
                                   r[..., 1, 0] - r[..., 0, 1]], -1), axis=-1) / 2
    return np.degrees(np.arctan2(sin, (np.trace(r, axis1=-2, axis2=-1) - 1) / 2))


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    source = results.write_results(tmp_path / "clip.npz", clip())
    observed = clip()["rotmats"][:, ELBOW]
    pins = {"pins": [{"frame_index": f, "joint": "left_elbow", "rotmat": (observed[f] @ TURN).tolist()}
                     for f in (10, 25)]}
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    return source, tmp_path / "pins.json"


def test_cli_resolve_holds_the_pins_and_is_reproducible(files, tmp_path):
    source, pins = files
    for name in ("a.npz", "b.npz"):
        assert main(["resolve", str(source), str(tmp_path / name), "--pins", str(pins), "--seed", "3"]) == 0
    a, b = results.read_results(tmp_path / "a.npz"), results.read_results(tmp_path / "b.npz")
    observed = clip()["rotmats"][:, ELBOW]
    assert _angle_deg(a["rotmats"][[10, 25], ELBOW], observed[[10, 25]] @ TURN).max() < 0.01
    for f in (9, 11, 24, 26):  # the neighbours follow the edit part of the way
        assert _angle_deg(a["rotmats"][f, ELBOW], observed[f] @ TURN) < 15.0, f
    for name in ("rotmats", "samples", "uncertainty_deg", "transl"):
        assert np.array_equal(a[name], b[name]), name


def test_cli_resolve_refuses_bad_pins(files, tmp_path, capsys):
    source, pins = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"frame_index": 3, "joint": "left_elbw", "rotmat": np.eye(3).tolist()}]))
    assert main(["resolve", str(source), str(tmp_path / "out.npz"), "--pins", str(bad)]) == 1
    assert "left_elbw" in capsys.readouterr().err
    assert main(["resolve", str(source), str(source), "--pins", str(pins)]) == 1  # never over the input
    with pytest.raises(ResolveError, match="not a rotation"):
        pins_from_json([{"frame_index": 3, "joint": 1, "rotmat": (2 * np.eye(3)).tolist()}])
    with pytest.raises(ResolveError, match="no pose there"):
        from propose_backend.resolve import resolve
        resolve(clip(), pins_from_json([{"frame_index": 400, "joint": 1, "rotmat": np.eye(3).tolist()}]))


def test_service_resolve_request(files, tmp_path):
    source, pins = files
    out = io.StringIO()
    service = Service(out)
    request = {"type": "resolve", "id": "r1", "input": str(source), "output": str(tmp_path / "s.npz"),
               "pins": json.loads(pins.read_text())["pins"], "seed": 3}
    assert service.handle(json.dumps(request))
    deadline = time.monotonic() + 120
    while '"result"' not in out.getvalue() and '"error"' not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["type"] for e in events][0] == "accepted" and events[-1]["type"] == "result", events
    assert events[-1]["pins"] == 2 and Path(events[-1]["output"]).is_file()
    service.handle(json.dumps({**request, "id": "r2", "pins": [{"frame_index": 1}]}))
    assert json.loads(out.getvalue().splitlines()[-1])["kind"] == "bad_request"
