"""Footage in: still images and streamed videos, as upright 8-bit BGR frames.

Whatever the file holds (8/16-bit or float, grey, RGBA, an EXIF-rotated phone photo), frames
come out as (H, W, 3) uint8 BGR, OpenCV's native order, so the hot path needs no full-frame
colour conversion (crops are converted instead). Videos are decoded one frame at a time and
never held in full: memory stays flat however long the clip is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..request import IMAGE_SUFFIXES, VIDEO_SUFFIXES, FrameRange
from .errors import InferenceError
from .exif import apply_orientation, read_orientation

MIN_IMAGE_SIDE = 32  # px; below this there cannot be a person worth estimating
ALPHA_BACKGROUND = 128  # transparent pixels become mid-grey, neither shadow nor highlight


@dataclass
class Frame:
    """One decoded frame: its number in the source and its pixels ((H, W, 3) uint8 BGR)."""

    index: int
    image: np.ndarray


@dataclass
class Footage:
    """An opened image or video. Iterate `frames()` once; `warnings` collects oddities found."""

    path: Path
    kind: str  # "image" or "video"
    fps: float  # 0 for still images and for videos that do not say
    image_size: tuple[int, int]  # width, height of the upright frames
    frame_count: int | None  # frames `frames()` will yield, None when the file does not say
    _frames: Iterator[Frame]
    warnings: list[str] = field(default_factory=list)

    def frames(self) -> Iterator[Frame]:
        return self._frames


def to_bgr8(image: np.ndarray, source: str = "image") -> np.ndarray:
    """Any decoded OpenCV image → (H, W, 3) uint8 BGR; alpha is composited over mid-grey."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.dtype == np.uint8:
        pixels = image
    elif image.dtype == np.uint16:
        pixels = image.astype(np.float32) / 257.0
    elif image.dtype in (np.float32, np.float64):
        pixels = np.clip(np.nan_to_num(image.astype(np.float32)), 0.0, 1.0) * 255.0
    else:
        raise InferenceError("bad_input", f"{source}: pixel type {image.dtype} is not supported; "
                                          "save it as 8- or 16-bit (or float) PNG, TIFF or JPEG.")
    if pixels.shape[2] in (2, 4):  # grey + alpha, BGRA
        alpha = pixels[:, :, -1:].astype(np.float32) / 255.0
        pixels = pixels[:, :, :-1] * alpha + ALPHA_BACKGROUND * (1.0 - alpha)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def read_image(path: Path) -> np.ndarray:
    """Decode a still image upright as uint8 BGR, with errors that say what is wrong."""
    raw = path.read_bytes()
    if not raw:
        raise InferenceError("bad_input", f"{path} is an empty file (0 bytes); choose another file or re-export it.")
    decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise InferenceError("bad_input", f"{path} is not a readable image (corrupt, or a format OpenCV "
                                          "cannot decode); re-export it as JPEG or PNG.")
    image = to_bgr8(apply_orientation(decoded, read_orientation(raw)), str(path))
    height, width = image.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise InferenceError("bad_input", f"{path} is only {width}x{height} pixels; a person needs at least "
                                          f"{MIN_IMAGE_SIDE} pixels on each side.")
    return image


def _open_image(path: Path, frame_range: FrameRange | None) -> Footage:
    image = read_image(path)
    footage = Footage(path, "image", 0.0, (image.shape[1], image.shape[0]), 1, iter([Frame(0, image)]))
    if frame_range is not None and frame_range != FrameRange():
        footage.warnings.append("a frame range was given for a still image; it was ignored")
    return footage


def _stream(capture: cv2.VideoCapture, first: np.ndarray, frame_range: FrameRange,
            footage: Footage) -> Iterator[Frame]:
    """Yield the selected frames, grabbing (not decoding to BGR) the ones the stride skips."""
    expected_end = None if footage.frame_count is None else frame_range.start + footage.frame_count * frame_range.step
    try:
        index, image = frame_range.start, first
        while image is not None:
            yield Frame(index, image)
            image = None
            for _ in range(frame_range.step - 1):
                if not capture.grab():
                    return
            index += frame_range.step
            if frame_range.stop is not None and index >= frame_range.stop:
                return
            ok, decoded = capture.read()
            if not ok:
                if expected_end is not None and index < expected_end:
                    footage.warnings.append(f"the video ended at frame {index}, earlier than its header says; "
                                            "the file may be truncated")
                return
            image = to_bgr8(decoded, str(footage.path))
    finally:
        capture.release()


def _open_video(path: Path, frame_range: FrameRange | None) -> Footage:
    frame_range = frame_range or FrameRange()
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise InferenceError("bad_input", f"{path} cannot be opened as a video (corrupt, or a codec this "
                                          "OpenCV build lacks); re-encode it as H.264 MP4.")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    total = total if total > 0 else None
    if frame_range.start > 0 and not capture.set(cv2.CAP_PROP_POS_FRAMES, frame_range.start):
        for _ in range(frame_range.start):  # a container that cannot seek: skip frame by frame
            if not capture.grab():
                break
    ok, first = capture.read()
    if not ok:
        capture.release()
        where = f"at frame {frame_range.start}" if frame_range.start else "at all"
        raise InferenceError("bad_input", f"{path}: no frame could be decoded {where} (corrupt video, or the "
                                          "range starts past its end).")
    first = to_bgr8(first, str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    fps = fps if np.isfinite(fps) and 0 < fps < 1000 else 0.0
    footage = Footage(path, "video", fps, (first.shape[1], first.shape[0]), frame_range.count(total), iter(()))
    footage._frames = _stream(capture, first, frame_range, footage)
    return footage


def open_footage(path: str | Path, frame_range: FrameRange | None = None) -> Footage:
    """Open an image or a video for reading; raises InferenceError with a user-facing message."""
    path = Path(path)
    if not path.exists():
        raise InferenceError("missing_file", f"{path} does not exist; check the path.")
    if not path.is_file():
        raise InferenceError("bad_input", f"{path} is not a file; pass an image or a video (or use a folder "
                                          "of them on the command line).")
    if path.stat().st_size == 0:
        raise InferenceError("bad_input", f"{path} is an empty file (0 bytes); choose another file or re-export it.")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _open_image(path, frame_range)
    return _open_video(path, frame_range)


def open_rows(data: dict, path: str | Path) -> Footage:
    """The footage of a results file again, over the frame range its rows (`frame_index`) came from."""
    index = np.asarray(data["frame_index"], dtype=np.int64)
    step = int(np.median(np.diff(index))) if len(index) > 1 else 1
    return open_footage(path, FrameRange(int(index[0]), int(index[-1]) + 1, max(step, 1)))


def is_footage(path: Path) -> bool:
    """Whether a file name looks like something `open_footage` reads (used to expand folders)."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
