"""Frame validation and decoding with bounded memory and bounded work.

Dimensions are read from the PNG/JPEG header before anything is decoded,
so a small file that would inflate to gigabytes is refused up front.

Bytes and pixels do not bound a progressive JPEG's decode time: libjpeg
makes one pass over every block of the image for each scan, whatever the
scan holds. A 1.5 MB file with 120,000 empty scans took 67 s of CPU
(issue 8). So the scans are counted before decoding (libjpeg-turbo's djpeg
has `-maxscans` for the same reason) and a JPEG with more than
`max_jpeg_scans` is refused.

Pixels do not bound a PNG's inflate work either: libpng inflates the whole
image stream, also past the last row (a 64x64 PNG of 2 MB inflating to
2 GB took 5 s of CPU), and each compressed text chunk up to 8 MB (250 of
them in 2 MB: 5 s). So the image stream is inflated once more before
decoding, its output discarded, and must not hold more than the image's
rows (at 4 MP that costs 77 ms beside libpng's 126 ms); and a frame may
carry only a few compressed text chunks.

A decode time limit was not chosen instead: a thread cannot be stopped, and
a subprocess per frame costs more than the frame.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import Final

import cv2
import numpy as np

from .gestures import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ACCEPTED_TYPES = ("image/jpeg", "image/png")

# libjpeg's progressive mode writes 10 scans for a colour image and 6 for a
# grey one; other encoders stay within a few dozen. At 4 MP an empty scan
# costs about 0.5 ms, so 100 of them add at most about one normal frame's
# decode (~50 ms) where 120,000 cost a minute.
MAX_JPEG_SCANS: Final = 100
# A camera frame has a few dozen marker segments. Walking them is Python, so
# 500,000 empty comment segments (2 MB) would cost 0.3 s before libjpeg
# spends 0.05 s on them: past this many the frame is refused.
MAX_JPEG_MARKERS: Final = 1000

# libpng's own writer splits the image stream into 8 KiB chunks: 256 in 2 MiB.
MAX_PNG_CHUNKS: Final = 10_000
# Each one costs up to ~20 ms (libpng inflates up to 8 MB of it).
MAX_PNG_COMPRESSED_TEXTS: Final = 4
# Samples per pixel by PNG colour type.
_PNG_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7: (first column, first row, column step, row step) of each pass.
_ADAM7: Final = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_INFLATE_STEP: Final = 1 << 20

SOS: Final = 0xDA
EOI: Final = 0xD9
# Markers without a length field (TEM, and SOI which libjpeg refuses a
# second time); RST0..RST7 never reach the walk (see _MARKER).
_STANDALONE: Final = frozenset({0x01, 0xD8})
# A marker is 0xFF and a code that is neither 0x00 (0xFF 0x00 is a data byte
# inside a scan) nor 0xFF (fill before a marker). Restart markers belong to
# the scan's entropy-coded data, and libjpeg ignores them between segments.
_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")


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
    for code, at in _jpeg_segments(data):
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the size.
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            if at + 7 > len(data):
                break
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return int(width), int(height)
    raise FrameError(422, "JPEG header has no frame size (truncated or malformed)")


def jpeg_scans(data: bytes, max_scans: int) -> int:
    """How many scans libjpeg would decode, counted no further than `max_scans` + 1."""
    scans = 0
    for code, _ in _jpeg_segments(data):
        if code == SOS:
            scans += 1
            if scans > max_scans:
                break
    return scans


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int]]:
    """(marker, offset of its length field) for each segment up to EOI, walked the way libjpeg walks them.

    A segment is skipped by its length, as libjpeg skips it (so an EXIF
    thumbnail's own markers are not seen), and a scan's entropy-coded data
    up to the next marker. FrameError(422) past MAX_JPEG_MARKERS segments.
    """
    i = 2  # after SOI
    n = len(data)
    seen = 0
    while (found := _MARKER.search(data, i)) is not None:
        i = found.end()
        code = data[i - 1]
        if code == EOI:
            return
        seen += 1
        if seen > MAX_JPEG_MARKERS:
            raise FrameError(
                422,
                f"JPEG has more than {MAX_JPEG_MARKERS} marker segments; a frame has a few dozen",
            )
        if code in _STANDALONE:
            continue
        if i + 2 > n:
            return
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2:
            return  # a bogus length is fatal to libjpeg too
        yield code, i
        i += length


def check_png_work(data: bytes) -> None:
    """FrameError(422) unless decoding `data` inflates no more than its image needs."""
    expected = inflated = texts = chunks = 0
    inflater = zlib.decompressobj()
    pos = len(PNG_MAGIC)
    while pos + 8 <= len(data):
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise FrameError(422, f"PNG has more than {MAX_PNG_CHUNKS} chunks")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            expected = _png_image_bytes(body)
        elif kind == b"IDAT":
            inflated += _inflated_size(inflater, body, expected - inflated)
        elif kind == b"IEND":
            return
        elif _compressed_text(kind, body):
            texts += 1
            if texts > MAX_PNG_COMPRESSED_TEXTS:
                raise FrameError(
                    422, f"PNG has more than {MAX_PNG_COMPRESSED_TEXTS} compressed text chunks"
                )


def _compressed_text(kind: bytes, body: bytes) -> bool:
    # iTXt: keyword, NUL, then its compression flag.
    return kind == b"zTXt" or (kind == b"iTXt" and body.partition(b"\0")[2][:1] == b"\1")


def _png_image_bytes(ihdr: bytes) -> int:
    """Bytes of the image's filtered rows: what its image stream inflates to."""
    if len(ihdr) != 13:
        raise FrameError(422, "PNG header is truncated or malformed")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or depth not in (1, 2, 4, 8, 16):
        raise FrameError(422, "PNG header is truncated or malformed")
    bits = channels * depth
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = (width - x0 + dx - 1) // dx
        rows = (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            total += rows * (1 + (columns * bits + 7) // 8)
    return total


def _inflated_size(inflater: zlib._Decompress, chunk: bytes, room: int) -> int:
    """How much `chunk` inflates to, output discarded; FrameError(422) past `room` bytes."""
    size = 0
    while True:
        try:
            out = inflater.decompress(chunk, _INFLATE_STEP)
        except zlib.error:
            raise FrameError(422, "PNG image data is corrupt") from None
        size += len(out)
        if size > room:
            raise FrameError(422, "PNG holds more image data than its size needs")
        chunk = inflater.unconsumed_tail
        if not chunk and len(out) < _INFLATE_STEP:
            return size


def decode_frame(
    data: bytes,
    content_type: str | None,
    max_bytes: int,
    max_pixels: int,
    *,
    max_jpeg_scans: int = MAX_JPEG_SCANS,
) -> Image:
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
    if actual == "image/jpeg" and jpeg_scans(data, max_jpeg_scans) > max_jpeg_scans:
        raise FrameError(
            422,
            f"JPEG has more than {max_jpeg_scans} scans (the limit is MAX_JPEG_SCANS="
            f"{max_jpeg_scans}); a progressive JPEG has about 10",
        )
    if actual == "image/png":
        check_png_work(data)
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise FrameError(422, "image could not be decoded (corrupt data)")
    return np.asarray(img, dtype=np.uint8)
