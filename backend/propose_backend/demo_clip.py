"""Footage with known content: a generated clip of the body walking across a grey stage.

The benchmark times the pipeline on it (a 1080p clip of any length, made in seconds) and the
tests feed it to the pipeline, the command line and the service; no real footage is needed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

CLIP_SIZE = (1920, 1080)


def write_demo_clip(path: Path, frames: int, size: tuple[int, int] = CLIP_SIZE, fps: float = 30.0) -> Path:
    """A clip of the body users get (Anny) walking across a grey stage, written with OpenCV (mp4v).

    A few poses are rendered once and moved across the frame, so long clips cost little to make.
    """
    import smplx

    from .body import load_body
    from .body.layer import BodyLayer
    from .render import render_mesh

    width, height = size
    body, _ = load_body(None)
    layer = BodyLayer(body)
    focal = float(np.hypot(width, height))
    depth = focal * 1.8 / (0.6 * height)  # the body fills about 60 % of the frame height
    poses = []
    for swing in np.linspace(-0.4, 0.4, 4):
        axis_angle = torch.zeros(24, 3)
        axis_angle[0] = torch.tensor([np.pi, 0.0, 0.0])  # SMPL y-up → camera y-down
        axis_angle[16], axis_angle[17] = torch.tensor([0.0, 0.0, -1.2]), torch.tensor([0.0, 0.0, 1.2])
        axis_angle[1], axis_angle[2] = torch.tensor([swing, 0.0, 0.0]), torch.tensor([-swing, 0.0, 0.0])
        vertices, _, _ = layer(torch.zeros(1, 10), smplx.lbs.batch_rodrigues(axis_angle)[None])
        poses.append(render_mesh(vertices[0].numpy() + np.array([0.0, 0.0, depth]), body.faces,
                                 size=(height, width), focal=focal))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path} with the mp4v codec")
    try:
        for i in range(frames):
            shift = 0.25 * width * np.sin(2 * np.pi * i / max(frames, 60))
            moved = cv2.warpAffine(poses[(i // 4) % len(poses)], np.float32([[1, 0, shift], [0, 1, 0]]),
                                   (width, height), borderMode=cv2.BORDER_CONSTANT, borderValue=(96, 96, 96))
            writer.write(moved)
    finally:
        writer.release()
    return path
