"""EXIF orientation of photos, read from the raw file bytes.

Phones store portrait photos as landscape pixels plus an orientation tag. OpenCV only applies
that tag when it also drops alpha and 16-bit depth, so footage.py decodes unchanged pixels and
applies the tag itself with `apply_orientation(image, read_orientation(raw))`.
Understands JPEG (APP1 "Exif"), PNG (eXIf chunk), WebP (EXIF chunk) and TIFF (IFD0 tag).
"""
from __future__ import annotations

import struct

import numpy as np

ORIENTATION_TAG = 0x0112
_EXIF_PREFIX = b"Exif\x00\x00"


def _tiff_orientation(tiff: bytes) -> int:
    """Orientation tag of IFD0 of a TIFF structure (EXIF payloads are one), 1 when absent."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            break
        tag, kind = struct.unpack_from(order + "HH", tiff, entry)
        if tag == ORIENTATION_TAG and kind == 3:  # SHORT
            (value,) = struct.unpack_from(order + "H", tiff, entry + 8)
            return value if 1 <= value <= 8 else 1
    return 1


def _jpeg_exif(raw: bytes) -> bytes:
    pos = 2
    while pos + 4 <= len(raw) and raw[pos] == 0xFF:
        marker = raw[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no more metadata
            break
        (length,) = struct.unpack_from(">H", raw, pos + 2)
        body = raw[pos + 4: pos + 2 + length]
        if marker == 0xE1 and body.startswith(_EXIF_PREFIX):
            return body[len(_EXIF_PREFIX):]
        pos += 2 + length
    return b""


def _png_exif(raw: bytes) -> bytes:
    pos = 8
    while pos + 8 <= len(raw):
        length, kind = struct.unpack_from(">I4s", raw, pos)
        if kind == b"eXIf":
            return raw[pos + 8: pos + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return b""


def _webp_exif(raw: bytes) -> bytes:
    pos = 12
    while pos + 8 <= len(raw):
        kind, length = struct.unpack_from("<4sI", raw, pos)
        if kind == b"EXIF":
            body = raw[pos + 8: pos + 8 + length]
            return body[len(_EXIF_PREFIX):] if body.startswith(_EXIF_PREFIX) else body
        pos += 8 + length + (length & 1)
    return b""


def read_orientation(raw: bytes) -> int:
    """EXIF orientation 1..8 of an encoded image (1 = as stored, also when there is no tag)."""
    try:
        if raw[:2] == b"\xff\xd8":
            return _tiff_orientation(_jpeg_exif(raw))
        if raw[:8] == b"\x89PNG\r\n\x1a\n":
            return _tiff_orientation(_png_exif(raw))
        if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
            return _tiff_orientation(_webp_exif(raw))
        if raw[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_orientation(raw)
    except struct.error:  # truncated metadata: show the pixels as stored
        return 1
    return 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels (H, W[, C]) upright as the tag asks (the EXIF 2.3 table)."""
    if orientation in (5, 6, 7, 8):
        image = image.swapaxes(0, 1)
    flips = {2: (False, True), 3: (True, True), 4: (True, False), 5: (False, False),
             6: (False, True), 7: (True, True), 8: (True, False)}
    flip_rows, flip_cols = flips.get(orientation, (False, False))
    if flip_rows:
        image = image[::-1]
    if flip_cols:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)
