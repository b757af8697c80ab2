"""The real footage outside the repository (../shared/data, see its README), for regression tests.

Tests that need it skip with a clear reason when the folder is absent. Variants of the street
video (played twice = a hard cut, truncated) are made at test time in a temporary folder, never
committed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PHOTOS = sorted((DATA / "photos").glob("COCO_val2014_*.jpg")) if DATA.is_dir() else []
STREET = DATA / "footage" / "street_crowd_720p50.avi"
STREET_FRAMES = 205


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real test data {path} is absent (the project's ../shared/data folder)")
    return path


def photo(number: int) -> Path:
    return require(DATA / "photos" / f"COCO_val2014_{number:012d}.jpg")


def street_frames(indices: list[int]) -> list:
    """Decoded frames of the street video (BGR), in the order asked."""
    capture = cv2.VideoCapture(str(require(STREET)))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return [frames[i] for i in indices]


def write_video(path: Path, frames: list, fps: float = 50.0) -> Path:
    """Frames to an MJPG AVI (lossless enough, and every OpenCV build writes it)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def truncated_street(path: Path, fraction: float = 0.065) -> Path:
    """The street video cut after `fraction` of its bytes: the header still says 205 frames, about
    four decode (a download or copy that stopped early)."""
    data = require(STREET).read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    return path
