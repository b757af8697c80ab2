"""The JSON-lines service, driven exactly like the add-on drives it: a child process on pipes."""
from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend import results
from propose_backend import serve as serve_module
from propose_backend import estimators as estimator_module
from propose_backend.demo_clip import write_demo_clip
from tests.backend.stub_estimator import StubEstimator

ROOT = Path(__file__).resolve().parents[2]


class Backend:
    """A `propose-backend serve` child; events are read on a thread so waits can time out."""

    def __init__(self, model_files: Path, args: tuple[str, ...] = ()) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)]),
               "PROPOSE_MODEL_FILES": str(model_files), "OMP_NUM_THREADS": "2"}
        self.process = subprocess.Popen([sys.executable, "-m", "propose_backend", "serve", *args], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, encoding="utf-8")
        self.events: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.events.put((time.monotonic(), json.loads(line)))  # every stdout line must be JSON
        self.events.put((time.monotonic(), None))

    def send(self, request: dict | str) -> None:
        self.process.stdin.write((request if isinstance(request, str) else json.dumps(request)) + "\n")
        self.process.stdin.flush()

    def next(self, timeout: float = 120) -> dict:
        _, event = self.events.get(timeout=timeout)
        assert event is not None, "the service ended:\n" + "".join(self.stderr[-20:])
        return event

    def until(self, kind: str, job_id: str | None = None, timeout: float = 240) -> tuple[dict, list[tuple]]:
        """Events up to the first of `kind` (for `job_id`), returning it and the (time, event) pairs before."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            stamp, event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            assert event is not None, "the service ended:\n" + "".join(self.stderr[-20:])
            if event["type"] == kind and (job_id is None or event.get("id") == job_id):
                return event, seen
            seen.append((stamp, event))

    def close(self) -> int:
        self.process.stdin.close()
        return self.process.wait(timeout=60)


@pytest.fixture
def model_files(tmp_path: Path) -> Path:
    folder = tmp_path / "model_files"
    folder.mkdir()
    return folder


@pytest.mark.slow
def test_protocol_round_trip(model_files: Path, tmp_path: Path) -> None:
    clip = write_demo_clip(tmp_path / "walk.mp4", 30, size=(160, 120))
    capture = cv2.VideoCapture(str(clip))
    cv2.imwrite(str(tmp_path / "person.png"), capture.read()[1])
    capture.release()
    backend = Backend(model_files)
    try:
        ready = backend.next()
        assert ready["type"] == "ready" and ready["protocol"] == 1 and "cpu" in ready["devices"]
        backend.send({"type": "ping", "id": "p1"})
        assert backend.next() == {"type": "pong", "id": "p1"}
        backend.send({"type": "version", "id": "v1"})
        version = backend.next()
        assert version["type"] == "version" and version["id"] == "v1" and version["cuda"] is False

        # malformed requests: an error reply each, and the service carries on
        for request, job_id, words in [("{not json", None, "not valid JSON"),
                                       ('["a", "list"]', None, "JSON object"),
                                       ({"type": "teleport", "id": "t"}, "t", "unknown request type"),
                                       ({"type": "estimate", "id": "e0", "output": "x.npz"}, "e0", "'input' is missing"),
                                       ({"type": "estimate", "id": "e1", "input": "a", "output": "b", "samples": "8"},
                                        "e1", "'samples' must be int"),
                                       ({"type": "cancel", "id": "nothing"}, "nothing", "no running job")]:
            backend.send(request)
            error = backend.next()
            assert error["type"] == "error" and error["kind"] == "bad_request" and error["id"] == job_id
            assert words in error["message"]

        # without model files and without permission for random weights: a clear error, still serving
        backend.send({"type": "estimate", "id": "m", "input": str(tmp_path / "person.png"),
                      "output": str(tmp_path / "m.npz"), "estimator": "propose"})
        assert backend.next() == {"type": "accepted", "id": "m"}
        error, _ = backend.until("error", "m")
        assert error["kind"] == "missing_file" and "propose_hr48_xyz.pth" in error["message"]

        # a job: model loading is a progress phase, progress comes at least once per second, then a result
        backend.send({"type": "estimate", "id": "j1", "input": str(tmp_path / "person.png"),
                      "output": str(tmp_path / "person.npz"), "samples": 2, "estimator": "propose",
                      "allow_random_weights": True})
        assert backend.next() == {"type": "accepted", "id": "j1"}
        result, before = backend.until("result", "j1")
        progress = [(t, e) for t, e in before if e["type"] == "progress"]
        assert progress and progress[0][1]["phase"] == "loading_model"
        assert all(e["id"] == "j1" for _, e in progress)
        gaps = [b[0] - a[0] for a, b in zip(progress, progress[1:])]
        assert max(gaps, default=0) < 1.5, gaps
        assert result["frames"] == 1 and result["valid_frames"] == 1 and result["estimator"] == "propose"
        assert any("RANDOMLY" in w for w in result["warnings"])
        results.validate(results.read_results(result["output"]))

        # a longer job: busy for a second one, pings still answered, cancel keeps the finished frames
        backend.send({"type": "estimate", "id": "j2", "input": str(clip), "output": str(tmp_path / "walk.npz"),
                      "samples": 1, "batch_size": 1, "estimator": "propose", "allow_random_weights": True})
        assert backend.next() == {"type": "accepted", "id": "j2"}
        event, before = backend.until("progress")
        while event["phase"] != "estimating":
            event, more = backend.until("progress")
            before += more
        assert all(e["phase"] != "loading_model" for _, e in before if e["type"] == "progress"), \
            "the model must be loaded once per service"
        backend.send({"type": "estimate", "id": "j3", "input": str(clip), "output": str(tmp_path / "x.npz")})
        busy, _ = backend.until("error", "j3")
        assert busy["kind"] == "busy"
        backend.send({"type": "ping", "id": "p2"})
        backend.until("pong", "p2")
        backend.send({"type": "cancel", "id": "j2"})
        cancelled, _ = backend.until("cancelled", "j2")
        assert 1 <= cancelled["frames_done"] < 30
        kept = results.read_results(cancelled["output"])
        assert len(kept["frame_index"]) == cancelled["frames_done"]

        assert backend.close() == 0  # end of input: a clean exit
    finally:
        if backend.process.poll() is None:
            backend.process.kill()


def test_socket_mode_is_local_only(model_files: Path) -> None:
    backend = Backend(model_files, ("--port", "0"))
    try:
        deadline = time.monotonic() + 60
        while not any("listening on" in line for line in backend.stderr) and time.monotonic() < deadline:
            time.sleep(0.05)
        line = next(line for line in backend.stderr if "listening on" in line)
        host, port = line.split()[-1].rsplit(":", 1)
        assert host == "127.0.0.1"
        with socket.create_connection((host, int(port)), timeout=30) as connection, \
                connection.makefile("r", encoding="utf-8") as reader:  # both must close for the server to see EOF
            assert json.loads(reader.readline())["type"] == "ready"
            connection.sendall(b'{"type": "ping", "id": "s"}\n')
            assert json.loads(reader.readline()) == {"type": "pong", "id": "s"}
        assert backend.process.wait(timeout=30) == 0
    finally:
        if backend.process.poll() is None:
            backend.process.kill()


# --- the service in-process, with a trivially fast estimator ------------------------------------

class _Client:
    """The client's end of the event stream; with `break_after`, the pipe breaks after that many events."""

    def __init__(self, break_after: int | None = None) -> None:
        self.events: list[dict] = []
        self.break_after = break_after
        self._changed = threading.Condition()

    def write(self, text: str) -> None:
        if self.break_after is not None and len(self.events) >= self.break_after:
            raise BrokenPipeError(32, "Broken pipe")
        with self._changed:
            self.events.append(json.loads(text))
            self._changed.notify_all()

    def flush(self) -> None:
        pass

    def wait_for(self, kind: str, job_id: str, timeout: float = 60) -> dict:
        def found() -> dict | None:
            return next((e for e in self.events if e["type"] == kind and e.get("id") == job_id), None)

        with self._changed:
            assert self._changed.wait_for(found, timeout), self.events
            return found()


@pytest.fixture
def stub_service(monkeypatch, model_files: Path, tmp_path: Path):
    """Loaded estimators (stubs) and a request builder for a 20-frame clip."""
    monkeypatch.setenv("PROPOSE_MODEL_FILES", str(model_files))
    loaded: list[StubEstimator] = []
    started = threading.Event()

    def open_stub(name, settings, allow_random_weights=False):
        loaded.append(StubEstimator(needs_crops=False, delay_s=0.05, started=started))
        return loaded[-1], []

    monkeypatch.setattr(estimator_module, "open_estimator", open_stub)
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), 5 * i, np.uint8))
    writer.release()

    def request(job_id: str, **fields) -> str:
        return json.dumps({"type": "estimate", "id": job_id, "input": str(clip),
                           "output": str(tmp_path / f"{job_id}.npz"),
                           "estimator": "propose", "allow_random_weights": True, "detector": "full-frame",
                           "device": "cpu", "samples": 0, **fields})

    return loaded, started, request


def test_a_job_keeps_its_frames_when_the_client_goes_away(stub_service, tmp_path: Path) -> None:
    """The add-on dies: its pipe breaks, then input ends. The job must still write what it finished."""
    _, started, request = stub_service
    client = _Client(break_after=2)  # ready and accepted reach it; then the pipe is broken

    def requests():
        yield request("j")
        assert started.wait(60)
        # end of input: the service cancels the job and waits for it

    assert serve_module.Service(client).serve(requests()) == 0
    assert (tmp_path / "j.npz").is_file() and not results.chunk_dir(tmp_path / "j.npz").exists()
    assert 1 <= len(results.read_results(tmp_path / "j.npz")["frame_index"]) <= 20


def test_a_replaced_model_is_closed_and_an_unchanged_one_reused(stub_service) -> None:
    loaded, _, request = stub_service
    client = _Client()

    def requests():
        for job_id, batch_size in (("a", 1), ("b", 1), ("c", 2)):
            yield request(job_id, batch_size=batch_size)
            client.wait_for("result", job_id)

    assert serve_module.Service(client).serve(requests()) == 0
    assert len(loaded) == 2, "job b must reuse job a's model"
    assert loaded[0].closed and loaded[1].closed  # replaced by job c; closed at the end of the service
    assert [e["phase"] for e in client.events if e["type"] == "progress"].count("loading_model") == 2


def test_nonsense_camera_and_box_values_are_bad_requests(stub_service) -> None:
    loaded, _, request = stub_service
    client = _Client()
    service = serve_module.Service(client)
    for fields, words in [({"focal_px": 0}, "focal_px"), ({"focal_px": -35.0}, "focal_px"),
                          ({"focal_px": float("inf")}, "focal_px"), ({"bbox": [0, 0, 0, 10]}, "bbox"),
                          ({"bbox": [0, 0, float("nan"), 10]}, "bbox")]:
        service.handle(request("v", **fields))
        assert client.events[-1]["type"] == "error" and client.events[-1]["kind"] == "bad_request", fields
        assert words in client.events[-1]["message"]
    assert not loaded
