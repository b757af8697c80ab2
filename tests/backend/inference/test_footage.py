"""Reading footage: every pixel format becomes upright uint8 BGR; videos stream; bad files fail clearly."""
from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from propose_backend.inference.errors import InferenceError
from propose_backend.inference.exif import read_orientation
from propose_backend.inference.footage import open_footage, read_image
from propose_backend.request import FrameRange, RequestError


def _jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose APP1 segment carries an EXIF orientation tag (big-endian TIFF)."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHI", 0x0112, 3, 1) + struct.pack(">HH", orientation, 0) + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    raw = encoded.tobytes()
    return raw[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + raw[2:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_opencvs_own_reading(tmp_path: Path, orientation: int) -> None:
    rng = np.random.default_rng(orientation)
    stored = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (80, 48), interpolation=cv2.INTER_NEAREST)
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(_jpeg_with_orientation(stored, orientation))
    assert read_orientation(path.read_bytes()) == orientation
    ours = read_image(path)
    reference = cv2.imread(str(path))  # the default flags apply EXIF orientation
    assert ours.shape == reference.shape
    assert ours.shape[:2] == ((80, 48) if orientation >= 5 else (48, 80))  # 5..8 swap width and height
    np.testing.assert_array_equal(ours, reference)


def test_png_exif_chunk_is_read(tmp_path: Path) -> None:
    ok, encoded = cv2.imencode(".png", np.zeros((40, 60, 3), np.uint8))
    raw = encoded.tobytes()
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + b"\x00\x00\x00\x00"
    (tmp_path / "rotated.png").write_bytes(raw[:33] + chunk + raw[33:])  # after the IHDR chunk
    assert read_image(tmp_path / "rotated.png").shape == (60, 40, 3)


def test_sixteen_bit_grey_and_alpha_become_8_bit_bgr(tmp_path: Path) -> None:
    sixteen = np.full((40, 40, 3), 65535, np.uint16)
    sixteen[:, :, 0] = 257 * 10
    cv2.imwrite(str(tmp_path / "deep.png"), sixteen)
    image = read_image(tmp_path / "deep.png")
    assert image.dtype == np.uint8 and image.shape == (40, 40, 3)
    assert tuple(image[0, 0]) == (10, 255, 255)

    cv2.imwrite(str(tmp_path / "grey.png"), np.full((40, 50), 77, np.uint8))
    assert tuple(read_image(tmp_path / "grey.png")[5, 5]) == (77, 77, 77)

    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:, :20] = (0, 0, 255, 255)  # opaque red on the left, fully transparent black on the right
    cv2.imwrite(str(tmp_path / "cutout.png"), rgba)
    image = read_image(tmp_path / "cutout.png")
    assert tuple(image[0, 0]) == (0, 0, 255)
    assert tuple(image[0, 39]) == (128, 128, 128)  # composited over mid-grey, not black


def test_float_tiff_is_scaled_from_unit_range(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "hdr.tiff"), np.full((40, 40, 3), 0.5, np.float32),
                [cv2.IMWRITE_TIFF_COMPRESSION, 1])  # OpenCV would otherwise store lossy LogLuv
    assert abs(int(read_image(tmp_path / "hdr.tiff")[0, 0, 0]) - 128) <= 1


def test_bad_images_fail_with_a_kind_and_a_plain_message(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "junk.png").write_bytes(b"this is not a picture")
    cv2.imwrite(str(tmp_path / "dot.png"), np.zeros((1, 1, 3), np.uint8))
    cases = {"empty.jpg": ("bad_input", "empty"), "junk.png": ("bad_input", "not a readable image"),
             "dot.png": ("bad_input", "1x1 pixels"), "missing.jpg": ("missing_file", "does not exist")}
    for name, (kind, words) in cases.items():
        with pytest.raises(InferenceError) as caught:
            open_footage(tmp_path / name)
        assert caught.value.kind == kind, name
        assert words in caught.value.message, name


def test_corrupt_video_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InferenceError) as caught:
        open_footage(path)
    assert caught.value.kind == "bad_input"
    assert str(path) in caught.value.message


def _write_numbered_clip(path: Path, frames: int, size: tuple[int, int] = (64, 48)) -> Path:
    """Frame i has brightness 2*i (+-codec noise), so a test can tell which frame it got."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 2 * i, np.uint8))
    writer.release()
    return path


def test_frame_range_selects_and_labels_frames(tmp_path: Path) -> None:
    clip = _write_numbered_clip(tmp_path / "numbers.avi", 40)
    footage = open_footage(clip, FrameRange.parse("5:20:4"))
    assert footage.kind == "video" and footage.fps == pytest.approx(25) and footage.image_size == (64, 48)
    assert footage.frame_count == 4
    frames = list(footage.frames())
    assert [f.index for f in frames] == [5, 9, 13, 17]
    assert [round(float(f.image.mean()) / 2) for f in frames] == [5, 9, 13, 17]
    assert [f.index for f in open_footage(clip, FrameRange.parse("37:")).frames()] == [37, 38, 39]
    assert FrameRange.parse("7") == FrameRange(7, 8, 1)
    for bad in ("a:b", "1:2:0", "-3:", "1:2:3:4"):
        with pytest.raises(RequestError):
            FrameRange.parse(bad)


def test_long_video_is_streamed_not_held(tmp_path: Path) -> None:
    """3000 frames of 160x120 would take 170 MB held at once; reading must stay near one frame."""
    clip = _write_numbered_clip(tmp_path / "long.avi", 3000, size=(160, 120))
    frame_bytes = 160 * 120 * 3
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_footage(clip).frames())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3000
    assert peak < 50 * frame_bytes, f"peak {peak / 1e6:.1f} MB while reading"


def test_an_empty_frame_range_is_refused_not_read_as_one_frame(tmp_path: Path) -> None:
    for text in ("10:10", "10:5", ":0"):
        with pytest.raises(RequestError) as caught:
            FrameRange.parse(text)
        assert caught.value.kind == "bad_request" and "selects no frames" in caught.value.message
    with pytest.raises(RequestError):
        FrameRange(3, 3)
    clip = _write_numbered_clip(tmp_path / "numbers.avi", 12)
    assert [f.index for f in open_footage(clip, FrameRange(3, 4)).frames()] == [3]
