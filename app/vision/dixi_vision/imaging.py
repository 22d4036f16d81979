"""Frame validation and decoding with bounded memory.

Dimensions are read from the PNG/JPEG header before anything is decoded,
so a small file that would inflate to gigabytes is refused up front.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from .gestures import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ACCEPTED_TYPES = ("image/jpeg", "image/png")


class FrameError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sniff(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    return None


def dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from the header; FrameError(422) if it cannot be read."""
    kind = sniff(data)
    if kind == "image/png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise FrameError(422, "PNG header is truncated or malformed")
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if kind == "image/jpeg":
        return _jpeg_dimensions(data)
    raise FrameError(422, "body is not a JPEG or PNG image")


def _jpeg_dimensions(data: bytes) -> tuple[int, int]:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > n:
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        if length < 2:
            break
        i += 2 + length
    raise FrameError(422, "JPEG header has no frame size (truncated or malformed)")


def decode_frame(data: bytes, content_type: str | None, max_bytes: int, max_pixels: int) -> Image:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ACCEPTED_TYPES:
        raise FrameError(
            415, f"Content-Type must be image/jpeg or image/png, got {media or 'nothing'!r}"
        )
    if len(data) > max_bytes:
        raise FrameError(413, f"frame is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise FrameError(422, "frame is empty")
    actual = sniff(data)
    if actual is None:
        raise FrameError(422, "body is not a JPEG or PNG image")
    if actual != media:
        raise FrameError(422, f"Content-Type says {media} but the body is {actual}")
    width, height = dimensions(data)
    if width <= 0 or height <= 0:
        raise FrameError(422, "image has no pixels")
    if width * height > max_pixels:
        raise FrameError(
            413, f"frame is {width}x{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise FrameError(422, "image could not be decoded (corrupt data)")
    return np.asarray(img, dtype=np.uint8)
