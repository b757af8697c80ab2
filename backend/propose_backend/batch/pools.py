"""Where the workers live: Ray actors (one machine or a cluster), or one worker in this process.

Both pools take tasks while they have an idle worker and hand back finished results; the Ray
pool also hands back the tasks whose worker died (Ray restarts that actor, model and all, and
the runner decides whether to try again). Progress of running pieces reaches the driver through
a small board actor the workers report to.
"""
from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..inference.protocol import EstimatorSettings
from ..inference.pipeline import Progress
from .worker import Task, TaskResult, Worker

OBJECT_STORE_BYTES = 128 * 1024**2  # tasks and results are small: paths and counts, never frames


@dataclass
class Finished:
    task: Task
    result: TaskResult | None  # None: the worker died while doing it
    death: str = ""


class ProgressBoard:
    """Frames done per running piece, as the workers last reported them (a Ray actor)."""

    def __init__(self) -> None:
        self.running: dict[tuple[int, int], tuple[int, int | None, str]] = {}

    def report(self, clip: int, piece: int, done: int, total: int | None, worker: str) -> None:
        self.running[(clip, piece)] = (done, total, worker)

    def forget(self, clip: int, piece: int) -> None:
        self.running.pop((clip, piece), None)

    def snapshot(self) -> dict[tuple[int, int], tuple[int, int | None, str]]:
        return dict(self.running)


def _code_path() -> str:
    """The PYTHONPATH that makes this backend (and the Blender side beside it) importable on the workers."""
    package_parent = str(Path(__file__).resolve().parents[2])
    repository = str(Path(__file__).resolve().parents[3])
    extra = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in [package_parent, repository, extra] if p)


def start_ray(address: str | None, debug: bool = False) -> bool:
    """Join the cluster at `address`, or start Ray inside this machine; False when Ray already ran."""
    import ray

    if ray.is_initialized():
        return False
    common = dict(include_dashboard=False, configure_logging=False, log_to_driver=debug,
                  runtime_env={"env_vars": {"PYTHONPATH": _code_path()}})
    if address:
        ray.init(address=address, **common)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, object_store_memory=OBJECT_STORE_BYTES, **common)
    return True


class LocalPool:
    """One worker in this process: a single input runs without starting Ray."""

    def __init__(self, requested: str, settings: EstimatorSettings, allow_random_weights: bool,
                 progress: Callable[[Task, Progress], None], cancel: threading.Event,
                 blender_python: str | None = None) -> None:
        self.worker = Worker(requested, settings, allow_random_weights, blender_python=blender_python)
        self.warnings = self.worker.warnings
        self.progress, self.cancel = progress, cancel
        self._next: Task | None = None
        self.size = 1

    def idle(self) -> int:
        return 0 if self._next is not None else 1

    def busy(self) -> bool:
        return self._next is not None

    def submit(self, task: Task) -> None:
        self._next = task

    def wait(self, _timeout: float) -> list[Finished]:
        task, self._next = self._next, None
        return [] if task is None else [Finished(task, self.worker.run(task, self.progress, self.cancel))]

    def running(self) -> dict[tuple[int, int], tuple[int, int | None, str]]:
        return {}  # progress reaches the report through the callback

    def cancel(self) -> None:
        pass  # the worker saw the cancel event and stopped after its batch

    def stop(self) -> None:
        self.worker.close()


class RayPool:
    """`count` actors, each holding `gpus` GPUs and `cpus` CPUs, restarted by Ray when their process dies."""

    def __init__(self, requested: str, settings: EstimatorSettings, allow_random_weights: bool, count: int,
                 cpus: float, gpus: float, blender_python: str | None = None) -> None:
        import ray

        # Found by name, not passed in: an actor handle among a worker's arguments would keep Ray from
        # restarting the worker after its process died.
        board = f"propose-progress-{uuid.uuid4().hex[:12]}"
        self.board = ray.remote(num_cpus=0)(ProgressBoard).options(name=board).remote()
        actor = ray.remote(Worker).options(num_cpus=cpus, num_gpus=gpus, max_restarts=-1, max_task_retries=0)
        threads = max(1, int(cpus)) if not gpus else None
        self.actors = [actor.remote(requested, settings, allow_random_weights, board, threads, True,
                                    blender_python) for _ in range(count)]
        try:
            described = ray.get([a.describe.remote() for a in self.actors])
        except ray.exceptions.RayActorError as exc:  # the model did not load: the same on every worker
            self.stop()
            raise _load_error(exc) from None
        self.warnings = described[0]["warnings"]
        self.size = count
        self._free = list(self.actors)
        self._inflight: dict[Any, tuple[Any, Task]] = {}
        self._restarting: dict[Any, Any] = {}  # a call that answers once the worker is back -> the worker

    def idle(self) -> int:
        return len(self._free)

    def busy(self) -> bool:
        return bool(self._inflight or self._restarting)

    def submit(self, task: Task) -> None:
        actor = self._free.pop(0)
        self._inflight[actor.run.remote(task)] = (actor, task)

    def wait(self, timeout: float) -> list[Finished]:
        import ray

        if not self._inflight and not self._restarting:
            return []
        ready, _ = ray.wait(list(self._inflight) + list(self._restarting), num_returns=1, timeout=timeout)
        finished = []
        for ref in ready:
            if ref in self._restarting:  # a restarted worker answered (or is gone for good)
                actor = self._restarting.pop(ref)
                try:
                    ray.get(ref)
                    self._free.append(actor)
                except ray.exceptions.RayActorError:
                    self.actors.remove(actor)
                    if not self.actors:
                        raise RuntimeError("every batch worker died and none could be restarted; see the "
                                           "messages above (out of memory?) and run the same command again.")
                continue
            actor, task = self._inflight.pop(ref)
            if task.kind == "estimate":
                self.board.forget.remote(task.clip, task.piece.number if task.piece is not None else 0)
            try:
                finished.append(Finished(task, ray.get(ref)))
                self._free.append(actor)
            except ray.exceptions.RayActorError as exc:
                # Ray restarts the worker (the model loads again); it takes work once it answers.
                self._restarting[actor.describe.options(max_task_retries=-1).remote()] = actor
                finished.append(Finished(task, None, _first_line(exc)))
        return finished

    def running(self) -> dict[tuple[int, int], tuple[int, int | None, str]]:
        import ray

        return ray.get(self.board.snapshot.remote())

    def cancel(self) -> None:
        """Stop the running tasks (their finished chunks stay on disk, readable, never merged)."""
        import ray

        for ref in list(self._inflight):
            ray.cancel(ref)
        ray.wait(list(self._inflight), num_returns=len(self._inflight), timeout=10)

    def stop(self) -> None:
        import ray

        for actor in self.actors + [self.board]:
            ray.kill(actor, no_restart=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _load_error(exc: BaseException) -> BaseException:
    """The error that stopped a worker's model from loading, as raised in the worker when Ray kept it."""
    cause = getattr(exc, "cause", None) or getattr(exc, "__cause__", None)
    inner = getattr(cause, "cause", None) if cause is not None else None
    for candidate in (inner, cause):
        if isinstance(candidate, Exception) and not type(candidate).__module__.startswith("ray"):
            return candidate
    return RuntimeError(f"the batch workers could not start: {_first_line(exc)}")

