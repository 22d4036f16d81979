"""Vision under the attacks of issue 8, run on loopback against a real uvicorn.

- A progressive JPEG with tens of thousands of empty scans passes the byte
  and pixel limits, and each scan is one more pass of libjpeg over the whole
  image (item 2): it must be refused before decoding. The same holds for a
  PNG whose image stream inflates far past its rows, or that carries
  hundreds of compressed text chunks: seconds of libpng's CPU each.
- Frames whose client gave up (the backend waits 2 s) must not be processed
  for nobody (item 9).
- Headers of any size when nginx is bypassed (item 3): vision runs with the
  shared uvicorn limits.

The servers run with dixi_common.server's limits(), as in production.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import dixi_vision.app
import httpx
import numpy as np
import pytest
from dixi_common.server import limits
from dixi_devtools.handgen import draw_hand
from dixi_devtools.serve import ThreadedServer
from dixi_vision.app import create_app
from dixi_vision.imaging import (
    MAX_JPEG_MARKERS,
    MAX_PNG_CHUNKS,
    PNG_MAGIC,
    FrameError,
    decode_frame,
    jpeg_scans,
)
from dixi_vision.settings import Settings
from prometheus_client.parser import text_string_to_metric_families

JPEG = {"content-type": "image/jpeg"}
# A DC refinement scan of the first component with no data at all: libjpeg
# still visits every block of that component for it.
EMPTY_SCAN = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + bytes([0, 0, 0x10])
# The attack of issue 8: 2048x2048, 120,000 empty scans, under 2 MiB.
ATTACK_SCANS = 120_000


def progressive(img: np.ndarray[Any, Any], **params: int) -> bytes:
    flags = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    for name, value in params.items():
        flags += [getattr(cv2, f"IMWRITE_JPEG_{name.upper()}"), value]
    ok, buf = cv2.imencode(".jpg", img, flags)
    assert ok, "OpenCV could not encode a progressive JPEG"
    return bytes(buf.tobytes())


def with_scans(jpeg: bytes, count: int, scan: bytes = EMPTY_SCAN, before: bytes = b"") -> bytes:
    """`jpeg` with `count` more scans (each after `before`) spliced in before its EOI."""
    assert jpeg.endswith(b"\xff\xd9"), "the encoder's JPEG should end with EOI"
    return jpeg[:-2] + (before + scan) * count + jpeg[-2:]


def big_hand() -> bytes:
    """A real 2048x2048 progressive frame (4 MP, the pixel limit): the most a frame may cost."""
    return progressive(draw_hand(2, width=2048, height=2048, palm_radius=200))


def cpu_seconds(data: bytes) -> float:
    started = time.thread_time()
    cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return time.thread_time() - started


@contextmanager
def vision(tmp_path: Path, **overrides: Any) -> Iterator[ThreadedServer]:
    app = create_app(Settings(models_dir=str(tmp_path), **overrides))
    with ThreadedServer(app, **limits()) as server:
        yield server


def frame_counts(url: str) -> dict[str, float]:
    """dixi_vision_frames_total by outcome."""
    text = httpx.get(url + "/metrics", timeout=5).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "dixi_vision_frames":
            for sample in family.samples:
                if sample.name == "dixi_vision_frames_total":
                    counts[sample.labels["outcome"]] = sample.value
    return counts


def processed(counts: dict[str, float]) -> float:
    return counts.get("hand", 0.0) + counts.get("no_hand", 0.0)


def timed_post(url: str, data: bytes, timeout: float) -> tuple[int | str, float, str]:
    """(status or "timeout", seconds, body) of one frame."""
    started = time.perf_counter()
    try:
        response = httpx.post(url + "/api/frames", content=data, headers=JPEG, timeout=timeout)
    except httpx.TimeoutException:
        return "timeout", time.perf_counter() - started, ""
    return response.status_code, time.perf_counter() - started, response.text


# --- item 2: a progressive JPEG with absurdly many scans ---------------------


def test_the_crafted_jpeg_passes_the_size_limits_and_costs_far_more_than_a_frame() -> None:
    """The attack is real: without the scan limit, this is what vision would decode."""
    base = big_hand()
    attack = with_scans(base, ATTACK_SCANS)
    settings = Settings()
    assert len(attack) < settings.max_frame_bytes, "the attack must pass the byte limit"
    assert 2048 * 2048 <= settings.max_frame_pixels, "the attack must pass the pixel limit"
    # Decoding all 120,000 scans takes a minute; 1,000 of them show the rate.
    normal = cpu_seconds(base)
    sample = cpu_seconds(with_scans(base, 1000))
    projected = normal + (sample - normal) * ATTACK_SCANS / 1000
    assert sample > 5 * normal, (
        f"1,000 empty scans cost {sample:.3f} s of CPU against {normal:.3f} s for the frame: "
        "the crafted image would not be an attack"
    )
    assert projected > 100 * normal, f"projected {projected:.1f} s against {normal:.3f} s"


def test_a_jpeg_with_thousands_of_empty_scans_is_refused_quickly_and_vision_stays_responsive(
    tmp_path: Path,
) -> None:
    attack = with_scans(big_hand(), ATTACK_SCANS)
    normal = progressive(draw_hand(5))
    with vision(tmp_path) as server:
        # Twice as many crafted uploads as workers: before the limit, this kept
        # every worker busy for a minute and every real frame got 503.
        results: list[tuple[int | str, float, str]] = []
        attackers = [
            threading.Thread(target=lambda: results.append(timed_post(server.url, attack, 5)))
            for _ in range(4)
        ]
        for thread in attackers:
            thread.start()
        started = time.perf_counter()
        health = httpx.get(server.url + "/health", timeout=5)
        health_seconds = time.perf_counter() - started
        frame = timed_post(server.url, normal, 5)
        for thread in attackers:
            thread.join(10)
        counts = frame_counts(server.url)
    assert health.status_code == 200 and health_seconds < 1, (
        f"/health took {health_seconds:.2f} s during the attack"
    )
    assert frame[0] == 200 and json.loads(frame[2])["gesture"] == "open_palm", f"a frame: {frame}"
    assert frame[1] < 2, f"a real frame took {frame[1]:.2f} s during the attack"
    assert [status for status, _, _ in results] == [422] * 4, f"crafted uploads: {results}"
    assert max(seconds for _, seconds, _ in results) < 2, f"refusals were slow: {results}"
    assert "MAX_JPEG_SCANS=100" in results[0][2], f"the refusal must name the limit: {results[0]}"
    assert counts.get("rejected_422") == 4, f"each refusal is counted: {counts}"


def test_normal_progressive_jpegs_are_still_recognized(tmp_path: Path) -> None:
    colour = progressive(draw_hand(2))
    grey = progressive(cv2.cvtColor(draw_hand(2), cv2.COLOR_BGR2GRAY))
    restarts = progressive(draw_hand(3), rst_interval=4)
    assert (jpeg_scans(colour, 100), jpeg_scans(grey, 100)) == (10, 6), (
        "libjpeg's progressive mode writes 10 scans in colour and 6 in grey"
    )
    assert jpeg_scans(restarts, 100) == 10, "restart markers are part of a scan, not scans"
    with vision(tmp_path) as server:
        answers = [
            httpx.post(server.url + "/api/frames", content=data, headers=JPEG, timeout=5)
            for data in (colour, grey, restarts)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert answers[0].json()["gesture"] == "peace", answers[0].json()
    assert answers[2].json()["gesture"] == "three", answers[2].json()


def test_a_jpeg_with_exactly_max_jpeg_scans_is_decoded_and_one_more_is_refused(
    tmp_path: Path,
) -> None:
    base = progressive(draw_hand(4))
    at_limit = with_scans(base, 20 - 10)
    over = with_scans(base, 20 - 10 + 1)
    with vision(tmp_path, max_jpeg_scans=20) as server:
        ok = httpx.post(server.url + "/api/frames", content=at_limit, headers=JPEG, timeout=5)
        refused = httpx.post(server.url + "/api/frames", content=over, headers=JPEG, timeout=5)
    assert ok.status_code == 200 and ok.json()["gesture"] == "four", ok.text
    assert refused.status_code == 422, refused.text
    assert "more than 20 scans" in refused.json()["error"], refused.json()


def test_scans_behind_garbage_fill_bytes_or_restart_markers_are_still_counted() -> None:
    """libjpeg skips garbage between segments and decodes the scans behind it; so must the count."""
    base = progressive(draw_hand(1))
    for before in (b"\x00\x12garbage", b"\xff\xff\xff", b"\xff\x00", b"\xff\xd3"):
        crafted = with_scans(base, 500, before=before)
        assert jpeg_scans(crafted, 10_000) == 510, f"scans behind {before!r} were missed"


def test_scans_inside_an_exif_thumbnail_are_not_counted() -> None:
    """An APP1 segment is skipped by its length, as libjpeg skips it."""
    thumbnail = progressive(draw_hand(1, width=160, height=120, palm_radius=15))
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(thumbnail)) + b"Exif\x00\x00" + thumbnail
    base = progressive(draw_hand(1))
    assert jpeg_scans(base[:2] + app1 + base[2:], 100) == 10, "the thumbnail's scans were counted"


def test_a_jpeg_made_of_tiny_segments_is_refused_without_walking_them_all(
    tmp_path: Path,
) -> None:
    """Walking markers is Python: half a million empty comments must not cost a second."""
    base = progressive(draw_hand(1))
    crafted = base[:2] + b"\xff\xfe\x00\x02" * 500_000 + base[2:]
    started = time.perf_counter()
    with pytest.raises(FrameError) as refused:
        jpeg_scans(crafted, 100)
    seconds = time.perf_counter() - started
    assert refused.value.status == 422 and str(MAX_JPEG_MARKERS) in refused.value.message
    assert seconds < 0.1, f"the walk took {seconds:.3f} s"


# --- item 2, the same for PNG: inflate work the pixel limit does not bound ----

ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(ihdr: bytes, stream: bytes, *extra: bytes) -> bytes:
    """A PNG of `ihdr`, the zlib `stream` as one IDAT, and `extra` chunks before it."""
    return (
        PNG_MAGIC
        + chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + chunk(b"IDAT", stream)
        + chunk(b"IEND", b"")
    )


def rows(samples: np.ndarray[Any, Any], depth: int, interlace: bool) -> bytes:
    """The filtered rows (filter 0) libpng inflates, of an (h, w, channels) array."""
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    out = b""
    for x0, y0, dx, dy in passes:
        part = samples[y0::dy, x0::dx]
        if part.size == 0:
            continue
        if depth == 16:
            packed = part.astype(">u2").reshape(part.shape[0], -1).view(np.uint8)
        elif depth == 8:
            packed = part.astype(np.uint8).reshape(part.shape[0], -1)
        else:  # 1, 2 or 4 bits a sample, rows padded to a byte
            bits = np.unpackbits(part.astype(np.uint8)[..., None], axis=-1)[..., 8 - depth :]
            packed = np.packbits(bits.reshape(part.shape[0], -1), axis=1)
        out += b"".join(b"\0" + row.tobytes() for row in packed)
    return out


def zeros_stream(prefix: bytes, megabytes: int) -> bytes:
    """A zlib stream of `prefix` and then `megabytes` MiB of zeros, ~1 KiB a MiB on the wire."""
    zero = bytes(1 << 20)
    deflate = zlib.compressobj(9)
    head = deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH)
    # After a full flush a block refers to nothing before it, so one MiB's block repeats.
    block = deflate.compress(zero) + deflate.flush(zlib.Z_FULL_FLUSH)
    check = zlib.adler32(prefix)
    for _ in range(megabytes):
        check = zlib.adler32(zero, check)
    return head + block * megabytes + b"\x03\x00" + struct.pack(">I", check)


def rgb_ihdr(width: int, height: int) -> bytes:
    return struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)


def small_png() -> tuple[bytes, bytes]:
    """(IHDR, image stream) of a real 64x64 frame."""
    img = draw_hand(2, width=64, height=64, palm_radius=8)
    return rgb_ihdr(64, 64), rows(img, 8, interlace=False)


@pytest.mark.parametrize(
    ("colour", "channels", "depth"),
    [
        (0, 1, 1),
        (0, 1, 4),
        (0, 1, 8),
        (0, 1, 16),
        (2, 3, 8),
        (2, 3, 16),
        (3, 1, 2),
        (3, 1, 8),
        (4, 2, 8),
        (6, 4, 8),
        (6, 4, 16),
    ],
)
@pytest.mark.parametrize("size", [(1, 1), (3, 2), (13, 7), (64, 48)])
@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
def test_png_frames_of_every_colour_type_depth_and_interlace_decode_and_are_bounded_exactly(
    colour: int, channels: int, depth: int, size: tuple[int, int], interlace: bool
) -> None:
    width, height = size
    samples = np.random.default_rng(width).integers(0, 1 << depth, (height, width, channels))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlace))
    palette = (chunk(b"PLTE", bytes(range(256)) * 3),) if colour == 3 else ()
    raw = rows(samples, depth, interlace)
    good = png(ihdr, zlib.compress(raw), *palette)
    img = decode_frame(good, "image/png", 1 << 20, 1 << 20)
    assert img.shape == (height, width, 3), "a well-formed PNG must decode"
    with pytest.raises(FrameError, match="more image data"):
        decode_frame(png(ihdr, zlib.compress(raw + b"\0"), *palette), "image/png", 1 << 20, 1 << 20)


def test_a_png_whose_image_stream_inflates_far_past_its_rows_is_refused_quickly() -> None:
    ihdr, raw = small_png()
    # What libpng does with it: inflate every byte, also past the last row. The
    # stream holds 100 MiB more than the rows on 100 KiB of wire (counted, not
    # timed: a CPU-time ratio against a tiny frame flaked on a busy machine).
    sample = zeros_stream(raw, 100)
    assert len(zlib.decompress(sample)) == len(raw) + 100 * (1 << 20) and len(sample) < 200 * 1024, "100 MiB more to inflate"
    attack = png(ihdr, zeros_stream(raw, 1900))  # 1.9 GiB inflated, as in issue 8's figures
    assert len(attack) < Settings().max_frame_bytes, "the attack must pass the byte limit"
    started = time.thread_time()
    with pytest.raises(FrameError, match="more image data") as refused:
        decode_frame(attack, "image/png", len(attack), 64 * 64)
    seconds = time.thread_time() - started
    assert refused.value.status == 422 and seconds < 0.05, f"refusing took {seconds:.3f} s"


def test_a_png_with_hundreds_of_compressed_text_chunks_is_refused_quickly() -> None:
    ihdr, raw = small_png()
    # libpng inflates up to 8 MB of each zTXt chunk; 7.8 KB on the wire.
    text = chunk(b"zTXt", b"k\0\0" + zlib.compress(bytes(8_000_000), 9))
    # Each chunk inflates to 8 MB on 7.8 KB of wire (counted, not timed).
    assert len(zlib.decompress(text[8 + 3 : -4])) == 8_000_000 and len(text) < 10_000, "each zTXt chunk must inflate to 8 MB"
    attack = png(ihdr, zlib.compress(raw), *[text] * 250)
    itxt = chunk(b"iTXt", b"k\0\1\0\0\0" + zlib.compress(bytes(8_000_000), 9))
    started = time.thread_time()
    for crafted in (attack, png(ihdr, zlib.compress(raw), *[itxt] * 5)):
        with pytest.raises(FrameError, match="compressed text chunks"):
            decode_frame(crafted, "image/png", len(attack), 64 * 64)
    seconds = time.thread_time() - started
    assert seconds < 0.05, f"refusing took {seconds:.3f} s"
    with_a_few = png(ihdr, zlib.compress(raw), *[text] * 4)
    assert decode_frame(with_a_few, "image/png", len(attack), 64 * 64).shape == (64, 64, 3)


def test_a_png_of_tiny_chunks_is_refused_without_walking_them_all() -> None:
    ihdr, raw = small_png()
    crafted = png(ihdr, zlib.compress(raw), chunk(b"tEXt", b"") * (MAX_PNG_CHUNKS + 1))
    with pytest.raises(FrameError, match=f"more than {MAX_PNG_CHUNKS} chunks"):
        decode_frame(crafted, "image/png", len(crafted), 64 * 64)


# --- item 9: frames nobody waits for any more --------------------------------


def burst(url: str, data: bytes, count: int, give_up_after: float) -> list[int | str]:
    """`count` concurrent frames, each abandoned by its client `give_up_after` seconds after it started."""

    async def run() -> list[int | str]:
        pool = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=30, limits=pool) as client:

            async def one() -> int | str:
                post = client.post(url + "/api/frames", content=data, headers=JPEG)
                try:
                    response = await asyncio.wait_for(post, give_up_after)
                except TimeoutError:
                    return "gave up"
                return response.status_code

            return list(await asyncio.gather(*(one() for _ in range(count))))

    return asyncio.run(run())


def settle(url: str, total: int, timeout: float = 15) -> dict[str, float]:
    """Frame counts once `total` frames have an outcome (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = frame_counts(url)
        if sum(counts.values()) >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def noisy_hand() -> bytes:
    """A 4 MP baseline frame of about 1 MB: uvicorn stops reading a connection past a 64 KiB body."""
    img = draw_hand(3, width=2048, height=2048, palm_radius=200, noise_sigma=8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok and len(buf) > 256 * 1024, "the large-body case needs a large body"
    return bytes(buf.tobytes())


@pytest.mark.parametrize("make_frame", [big_hand, noisy_hand], ids=["small-body", "large-body"])
def test_frames_whose_client_gave_up_are_dropped_before_any_work(
    tmp_path: Path, make_frame: Any
) -> None:
    frame = make_frame()
    # No deadline here: only the client's leaving may drop a frame.
    with vision(tmp_path, workers=1, frame_queue_seconds=60) as server:
        one = timed_post(server.url, frame, 10)
        assert one[0] == 200, one
        statuses = burst(server.url, frame, 40, give_up_after=0.5)
        gave_up = statuses.count("gave up")
        # Right after the burst: a frame must not queue behind abandoned work.
        after = timed_post(server.url, frame, 10)
        counts = settle(server.url, 1 + 40 + 1)
    work = processed(counts) - 2
    dropped = counts.get("dropped_disconnected", 0)
    assert gave_up >= 30, f"the test needs a queue the clients give up on: {statuses}"
    assert work + dropped == 40, f"every frame of the burst has an outcome: {counts}"
    # Those answered, plus the one in the worker when the clients left (it cannot be
    # stopped) and one or two whose answer was on its way as they left.
    assert work <= 40 - gave_up + 3, (
        f"{work:.0f} of 40 frames processed though {gave_up} clients gave up: {counts}"
    )
    assert after[0] == 200 and after[1] < 2 * one[1] + 0.5, (
        f"a frame after the burst took {after[1]:.2f} s (one alone: {one[1]:.2f} s)"
    )


def test_a_frame_that_waited_past_the_deadline_gets_503_and_is_not_processed(
    tmp_path: Path,
) -> None:
    frame = big_hand()
    with vision(tmp_path, workers=1, frame_queue_seconds=0.3) as server:
        started = time.perf_counter()
        statuses = burst(server.url, frame, 12, give_up_after=10)
        seconds = time.perf_counter() - started
        late = httpx.post(server.url + "/api/frames", content=frame, headers=JPEG, timeout=5)
        counts = settle(server.url, 12 + 1)
        health = httpx.get(server.url + "/health", timeout=2)
    busy = statuses.count(503)
    assert set(statuses) <= {200, 503} and busy >= 6, f"the queue was not cut: {statuses}"
    assert counts.get("dropped_deadline") == busy, f"each 503 is counted as dropped: {counts}"
    assert processed(counts) == statuses.count(200) + 1, f"no dropped frame was processed: {counts}"
    assert seconds < 5, f"the burst took {seconds:.1f} s: the late frames were worked on"
    assert late.status_code == 200, f"once the queue is gone, frames pass again: {late.text}"
    assert health.status_code == 200, health.text


def test_the_deadline_answer_is_json_that_names_the_setting(tmp_path: Path) -> None:
    frame = big_hand()
    with vision(tmp_path, workers=1, frame_queue_seconds=0.05) as server:

        async def run() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=10) as client:
                posts = [
                    client.post(server.url + "/api/frames", content=frame, headers=JPEG)
                    for _ in range(4)
                ]
                return list(await asyncio.gather(*posts))

        answers = asyncio.run(run())
    busy = [a for a in answers if a.status_code == 503]
    assert busy, f"with one worker and a 50 ms deadline some frame must be cut: {answers}"
    assert "FRAME_QUEUE_SECONDS" in busy[0].json()["error"], busy[0].text
    assert busy[0].headers.get("retry-after") == "1", dict(busy[0].headers)


# --- item 3: headers of any size when nginx is bypassed ----------------------


def test_vision_main_serves_with_the_shared_limits_where_its_settings_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setenv("HOST", "127.0.0.9")
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.setattr(dixi_vision.app.logs, "configure", lambda *args, **kwargs: None)
    monkeypatch.setattr(dixi_vision.app, "serve", lambda app, **kwargs: served.append(kwargs))
    dixi_vision.app.main()
    assert len(served) == 1, "main() must run the app through dixi_common.server.serve"
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.9", 5123), (
        f"HOST and PORT come from vision's Settings: {served}"
    )


def test_a_huge_header_is_cut_off_and_vision_stays_responsive(tmp_path: Path) -> None:
    budget = 32 * 1024 * 1024
    sent = 0
    with (
        vision(tmp_path) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: vision\r\nX-Junk: ")
        started = time.perf_counter()
        try:
            while sent < budget:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # vision closed the connection: what it should do
        seconds = time.perf_counter() - started
        health = httpx.get(server.url + "/health", timeout=2)
    assert sent < budget // 2, f"vision took {sent} bytes of one header without closing"
    assert seconds < 2, f"cutting the header off took {seconds:.2f} s"
    assert health.status_code == 200, health.text


def test_vision_refuses_a_bad_setting_with_one_line_and_no_traceback() -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "dixi_vision.app"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{ROOT / 'app' / 'vision'}:{ROOT / 'app' / 'common'}",
            "MAX_JPEG_SCANS": "many",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("dixi vision: bad setting: MAX_JPEG_SCANS"), result.stderr
