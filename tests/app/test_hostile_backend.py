"""Hostile clients against a real backend on loopback (issue 8): each attack runs, bounded in
time and size, and the backend must stay responsive and bounded while it does.

The outage attacks (items 1, 3, 4, 5, 6, 7) run against a backend subprocess
started as its image starts it (`python -m dixi_backend.app`, so `main()`
and `dixi_common.server.serve()` are what is attacked), which also lets a
test read its memory from /proc; the Ollama double runs in this process. The
attacks speak raw HTTP and WebSocket over sockets where a client library
would refuse to misbehave. A different client address is a different
X-Forwarded-For from loopback, which the backend trusts as a proxy.

The helpers take the source tree to run, so the same attacks can be pointed
at an older checkout to measure what they did before the fixes.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from dixi_backend.app import create_app
from dixi_common.server import CLOSE_FLUSH_SECONDS, CLOSE_HANDSHAKE_SECONDS, WS_SEND_BUFFER_BYTES
from dixi_devtools.ollama_double import OllamaDouble
from dixi_devtools.serve import ThreadedServer, free_port
from fastapi.testclient import TestClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from .conftest import ROOT, TOKEN, backend_settings

MIB = 1024 * 1024
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# How long /api/health/live may take while an attack runs (it answers in a
# few ms when idle; the attacks pushed it to seconds).
RESPONSIVE = 0.5


# --- a backend subprocess -------------------------------------------------------------------


@dataclass
class Backend:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def memory_kib(self, field_name: str) -> int:
        """VmRSS (now) or VmHWM (the peak so far) of the process, in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field_name} for pid {self.proc.pid}")

    def metric(self, name: str, **labels: str) -> float:
        wanted = name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else ""
        )
        for line in httpx.get(self.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_backend(workdir: Path, ollama_url: str, tree: Path = ROOT, **env: str) -> Backend:
    """`python -m dixi_backend.app` from `tree` on a free loopback port; settings from `env`."""
    port = free_port()
    log = workdir / f"backend-{port}.log"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{tree / 'app' / 'backend'}{os.pathsep}{tree / 'app' / 'common'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OLLAMA_BASE_URL": ollama_url,
        "VISION_SERVICE_URL": "http://127.0.0.1:9",
        "GESTURE_TOKEN": TOKEN,
        "AI_AUTO_MIN_INTERVAL_SECONDS": "0",
        "AI_GESTURE_PROMPTS": "{}",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dixi_backend.app"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    backend = Backend(proc, port, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the backend exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(backend.url + "/api/health/live", timeout=1).status_code == 200:
                return backend
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    backend.stop()
    raise RuntimeError(f"the backend did not start: {log.read_text()[-2000:]}")


Spawn = Callable[..., Backend]


@pytest.fixture
def spawn(tmp_path: Path, ollama_server: ThreadedServer) -> Iterator[Spawn]:
    started: list[Backend] = []

    def make(**env: str) -> Backend:
        backend = start_backend(tmp_path, ollama_server.url, **env)
        started.append(backend)
        return backend

    yield make
    for backend in started:
        backend.stop()


# --- measuring while an attack runs ---------------------------------------------------------


@dataclass
class LiveProbe:
    """Times GET /api/health/live, on a new connection each time (like a health checker), in a thread."""

    url: str
    every: float = 0.05
    latencies: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LiveProbe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ok = httpx.get(self.url + "/api/health/live", timeout=30).status_code == 200
            except httpx.HTTPError:
                ok = False
            self.latencies.append(time.monotonic() - started if ok else float("inf"))
            self._stop.wait(self.every)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("inf"))

    def summary(self) -> str:
        ordered = sorted(self.latencies)
        middle = ordered[len(ordered) // 2] if ordered else float("nan")
        return f"{len(ordered)} probes, median {middle * 1000:.0f} ms, worst {self.worst * 1000:.0f} ms"


def server_sockets(port: int) -> dict[int, int]:
    """The server side of every TCP connection to loopback `port`: peer port -> bytes in its send queue."""
    found: dict[int, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
        if int(local.split(":")[1], 16) == port and state != "0A":  # 0A: LISTEN
            found[int(remote.split(":")[1], 16)] = int(queues.split(":")[0], 16)
    return found


# --- raw WebSocket ---------------------------------------------------------------------------


def ws_open(
    port: int, headers: dict[str, str] | None = None, rcvbuf: int | None = None, timeout: float = 5
) -> tuple[socket.socket, str]:
    """A WebSocket handshake on a raw socket; returns the socket and the response head."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        # One byte at a time: what follows the head stays unread in the socket.
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head.decode("latin-1")


def ws_frame(payload: bytes, opcode: int = 0x1, compressed: bool = False) -> bytes:
    """One masked client frame (FIN set); `compressed` sets RSV1, permessage-deflate's flag."""
    first = 0x80 | (0x40 if compressed else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, size)
    mask = os.urandom(4)
    repeated = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        size, "big"
    )
    return header + mask + masked


def close_code(sock: socket.socket, timeout: float = 5) -> int | None:
    """The code of the close frame the server sends next (other frames skipped), or None if none comes."""
    sock.settimeout(timeout)
    buffer = b""
    try:
        while True:
            while len(buffer) < 2:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                buffer += chunk
            opcode, size = buffer[0] & 0x0F, buffer[1] & 0x7F
            offset = 2
            if size == 126:
                size, offset = struct.unpack("!H", buffer[2:4])[0], 4
            elif size == 127:
                size, offset = struct.unpack("!Q", buffer[2:10])[0], 10
            while len(buffer) < offset + size:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                buffer += chunk
            payload, buffer = buffer[offset : offset + size], buffer[offset + size :]
            if opcode == 0x8:
                return int(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else 1005
    except (TimeoutError, OSError):
        return None


# --- the attacks -------------------------------------------------------------------------------


def inflate_bomb(size: int = 16 * MIB - 1024) -> bytes:
    """A text frame of `size` bytes of "a", deflated (about 1000:1) for permessage-deflate."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -12)
    data = compressor.compress(b"a" * size) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return ws_frame(data[:-4], compressed=True)


@dataclass
class FloodReport:
    handshakes: int = 0
    compression_accepted: int = 0
    frames_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def compressed_flood(port: int, connections: int, seconds: float) -> FloodReport:
    """`connections` clients send 16 MiB-inflating frames for `seconds`, reconnecting when closed."""
    bomb = inflate_bomb()
    report = FloodReport()
    deadline = time.monotonic() + seconds
    offer = {
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits; client_no_context_takeover"
    }

    def attacker() -> None:
        while time.monotonic() < deadline:
            try:
                sock, head = ws_open(port, offer, timeout=2)
            except OSError:
                continue
            with report.lock:
                report.handshakes += 1
                report.compression_accepted += "permessage-deflate" in head.lower()
            try:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                while time.monotonic() < deadline:
                    sock.sendall(bomb)
                    with report.lock:
                        report.frames_sent += 1
            except OSError:
                pass
            finally:
                sock.close()
            time.sleep(0.01)

    with ThreadPoolExecutor(connections) as pool:
        for _ in range(connections):
            pool.submit(attacker)
    return report


@dataclass
class HeaderReport:
    sent: int = 0
    answer: bytes = b""
    seconds: float = 0.0


def header_flood(port: int, total: int, chunk: int = 64 * 1024) -> HeaderReport:
    """One request whose header grows to `total` bytes; stops when the server answers or hangs up."""
    report = HeaderReport()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"GET /api/health/live HTTP/1.1\r\nHost: x\r\nX-Fill: ")
        piece = b"a" * chunk
        try:
            while report.sent < total:
                sock.sendall(piece)
                report.sent += chunk
            sock.sendall(b"\r\n\r\n")
            report.answer = sock.recv(4096)
        except OSError:
            with suppress(OSError):
                report.answer = sock.recv(4096)
    report.seconds = time.monotonic() - started
    return report


def post_many(
    url: str, path: str, bodies: list[bytes], headers: dict[str, str] | None = None
) -> list[int]:
    """POSTs each raw body on a keep-alive connection; the status codes (0: the connection failed)."""
    codes = []
    client = httpx.Client(base_url=url, timeout=10)
    try:
        for body in bodies:
            try:
                response = client.post(
                    path,
                    content=body,
                    headers={"content-type": "application/json", **(headers or {})},
                )
                codes.append(response.status_code)
            except httpx.TransportError:
                codes.append(0)
                client.close()
                client = httpx.Client(base_url=url, timeout=10)
    finally:
        client.close()
    return codes


def long_prompt(words: int = 100) -> str:
    """The double answers "Dixi heard: <prompt>" one word a chunk: this many words, this many chunks."""
    return " ".join(["a"] * words)


def ask(
    url: str, prompt: str, address: str, timeout: float = 30
) -> tuple[int, list[dict[str, Any]], float]:
    """An AI query from `address`, read to the end: status, events, seconds."""
    started = time.monotonic()
    with httpx.stream(
        "POST",
        url + "/api/ai/query",
        json={"prompt": prompt},
        headers={"X-Forwarded-For": address},
        timeout=timeout,
    ) as response:
        events = [json.loads(line) for line in response.iter_lines() if line.strip()]
        return response.status_code, events, time.monotonic() - started


# --- 1. compressed WebSocket messages ----------------------------------------------------


def test_compressed_websocket_floods_are_refused_and_health_stays_fast(spawn: Spawn) -> None:
    backend = spawn()
    peak_before = backend.memory_kib("VmHWM")
    with LiveProbe(backend.url) as probe:
        report = compressed_flood(backend.port, connections=4, seconds=2.5)
    peak_growth = (backend.memory_kib("VmHWM") - peak_before) / 1024
    assert report.handshakes > 0 and report.frames_sent > 0, report
    assert report.compression_accepted == 0, "the backend agreed to permessage-deflate"
    assert probe.worst < RESPONSIVE, f"/api/health/live during the flood: {probe.summary()}"
    assert peak_growth < 64, (
        f"the backend's peak memory grew by {peak_growth:.0f} MiB during the flood"
    )


def test_a_websocket_message_longer_than_a_ping_needs_is_refused_by_its_header(
    spawn: Spawn,
) -> None:
    backend = spawn()
    sock, head = ws_open(backend.port)
    with sock:
        assert " 101 " in head.split("\r\n")[0], head
        # Only the header of a 16 MiB frame: the server must not wait for the payload.
        sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 16 * MIB) + os.urandom(4))
        code = close_code(sock)
    assert code == 1009, f"a 16 MiB message should be closed with 1009 (too big), got {code}"


# --- 3. huge headers -------------------------------------------------------------------------


def test_a_huge_request_header_is_refused_early_and_health_stays_fast(spawn: Spawn) -> None:
    backend = spawn()
    peak_before = backend.memory_kib("VmHWM")
    reports = []
    with LiveProbe(backend.url) as probe:
        attack_ends = time.monotonic() + 1.5
        while time.monotonic() < attack_ends:
            reports.append(header_flood(backend.port, total=32 * MIB))
    peak_growth = (backend.memory_kib("VmHWM") - peak_before) / 1024
    for report in reports:
        # What the client got rid of before the refusal sat in kernel buffers, not in the backend.
        assert report.seconds < 1, f"a 32 MiB header was refused only after {report.seconds:.1f}s"
        assert not report.answer or report.answer.startswith(b"HTTP/1.1 4"), report.answer[:100]
    assert peak_growth < 16, f"the backend's peak memory grew by {peak_growth:.0f} MiB"
    assert probe.worst < RESPONSIVE, f"/api/health/live during the header flood: {probe.summary()}"
    assert httpx.get(backend.url + "/api/health/live", timeout=5).status_code == 200


# --- 4. WebSocket clients that stop reading --------------------------------------------------


def test_dropped_websocket_clients_that_stop_reading_are_really_closed_within_seconds(
    spawn: Spawn, double: OllamaDouble
) -> None:
    stuck_count, cap = 10, 15
    # The default queue (256 events) holds a whole answer arriving at once:
    # a client is dropped because it stopped reading, not for a burst.
    double.chunk_delay = 0.0
    backend = spawn(WS_MAX_CLIENTS=str(cap), WS_MAX_CLIENTS_PER_ADDRESS=str(cap))
    stuck = []
    for _ in range(stuck_count):
        sock, head = ws_open(backend.port, rcvbuf=4096)
        assert " 101 " in head.split("\r\n")[0], head
        stuck.append(sock)
    ports = {s.getsockname()[1] for s in stuck}
    # Every event goes to every client; an AI answer to a 2000-character
    # prompt is about 8 KB of events. The stuck clients never read them.
    prompt = long_prompt(100) + " " + "b" * 1790
    held = 0
    with LiveProbe(backend.url) as probe:
        deadline = time.monotonic() + 15
        while backend.metric("dixi_ws_dropped_clients_total") < stuck_count:
            assert time.monotonic() < deadline, "the stuck clients were never dropped"
            status, _, _ = ask(backend.url, prompt, "192.0.2.1")
            assert status == 200
            held = max(held, sum(q for p, q in server_sockets(backend.port).items() if p in ports))
        dropped_at = time.monotonic()
        while ports & set(server_sockets(backend.port)) and time.monotonic() < dropped_at + 10:
            time.sleep(0.05)
        closed_after = time.monotonic() - dropped_at
    left = ports & set(server_sockets(backend.port))
    for sock in stuck:
        sock.close()
    assert not left, f"{len(left)} of {stuck_count} dropped sockets were still open after 10 s"
    bound = max(CLOSE_FLUSH_SECONDS, CLOSE_HANDSHAKE_SECONDS) + 1
    assert closed_after < bound, f"the dropped sockets took {closed_after:.1f}s to close"
    # Linux doubles SO_SNDBUF; left to autotuning each held a megabyte and more.
    assert 0 < held / stuck_count <= 4 * WS_SEND_BUFFER_BYTES, (
        f"the kernel held {held / stuck_count / 1024:.0f} KiB per stuck socket"
    )
    assert probe.worst < RESPONSIVE, f"/api/health/live during the attack: {probe.summary()}"
    # Every slot is free again: the cap admits `cap` new clients, and no more.
    with ExitStack() as stack:
        fresh = [stack.enter_context(connect(backend.ws_url, open_timeout=5)) for _ in range(cap)]
        assert all(json.loads(ws.recv(timeout=5)) == {"type": "hello"} for ws in fresh)
        with (
            connect(backend.ws_url, open_timeout=5) as extra,
            pytest.raises(ConnectionClosed) as closed,
        ):
            extra.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013, closed.value


# --- 5. one address takes every slot ---------------------------------------------------------


def test_one_address_cannot_take_every_websocket_slot(spawn: Spawn) -> None:
    backend = spawn(WS_MAX_CLIENTS="40", WS_MAX_CLIENTS_PER_ADDRESS="5")
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    accepted, refused = 0, []
    with LiveProbe(backend.url) as probe, ExitStack() as stack:
        for _ in range(40):
            ws = stack.enter_context(
                connect(backend.ws_url, additional_headers=attacker, open_timeout=5)
            )
            try:
                ws.recv(timeout=5)
                accepted += 1
            except ConnectionClosed as exc:
                refused.append(exc.rcvd.code if exc.rcvd else None)
        with connect(
            backend.ws_url, additional_headers={"X-Forwarded-For": "198.51.100.2"}
        ) as other:
            other_got = json.loads(other.recv(timeout=5))
    assert accepted == 5, f"one address got {accepted} of 40 slots; the limit is 5"
    assert set(refused) == {1013}, f"the refused connections should close with 1013: {set(refused)}"
    assert other_got == {"type": "hello"}, "another address must still be served"
    assert backend.metric("dixi_ws_refused_total", reason="address") == 35
    assert probe.worst < RESPONSIVE, probe.summary()


# --- 6. the log file -------------------------------------------------------------------------


def test_the_log_file_rotates_within_its_bound_under_a_flood_of_bad_requests(
    spawn: Spawn, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    bound, backups, requests = 16384, 2, 400
    backend = spawn(
        LOG_LEVEL="INFO",
        LOG_FILE=str(logs / "backend.log"),
        LOG_FILE_MAX_BYTES=str(bound),
        LOG_FILE_BACKUPS=str(backups),
    )
    with LiveProbe(backend.url) as probe:
        codes = post_many(backend.url, "/api/ai/query", [b'{"prompt": NaN}'] * requests)
    assert set(codes) == {422}, f"NaN must be a 422, not a 500 with a traceback: {set(codes)}"
    files = sorted(logs.iterdir())
    total = sum(f.stat().st_size for f in files)
    text = "".join(f.read_text() for f in files)
    assert len(files) == backups + 1, (
        f"expected the file and {backups} backups: {[f.name for f in files]}"
    )
    assert total <= (backups + 1) * bound + 1024, (
        f"the log files hold {total} bytes; the bound is 3 x 16 KiB"
    )
    assert text.count("POST /api/ai/query") < requests, (
        "the flood never filled the bound, so nothing was tested"
    )
    assert "Traceback" not in text, "a bad request must not log a traceback"
    assert probe.worst < RESPONSIVE, probe.summary()


# --- 7. AI slots -------------------------------------------------------------------------------


def test_one_client_cannot_hold_every_ai_slot_and_every_answer_is_bounded(
    spawn: Spawn, double: OllamaDouble
) -> None:
    backend = spawn(MAX_CONCURRENT_AI="4", AI_MAX_TOKENS="20", AI_ANSWER_TIMEOUT_SECONDS="2")
    double.chunk_delay = 0.05
    with ThreadPoolExecutor(8) as pool, LiveProbe(backend.url) as probe:
        attacker = [pool.submit(ask, backend.url, long_prompt(), "203.0.113.7") for _ in range(4)]
        time.sleep(0.3)
        others = [
            pool.submit(ask, backend.url, long_prompt(), f"198.51.100.{i}") for i in (1, 2, 3)
        ]
        mine = sorted((f.result() for f in attacker), key=lambda r: r[0])
        theirs = [f.result() for f in others]
    assert [status for status, _, _ in mine] == [200, 429, 429, 429], (
        f"one address may hold one AI slot: {[s for s, _, _ in mine]}"
    )
    assert [status for status, _, _ in theirs] == [200, 200, 200], (
        "other addresses must still be answered"
    )
    _, events, _ = mine[0]
    chunks = [e for e in events if e["type"] == "ai_chunk"]
    assert events[-1]["type"] == "ai_done" and len(chunks) == 20, (
        f"an answer is cut at AI_MAX_TOKENS (20) chunks: {len(chunks)} chunks, last {events[-1]}"
    )
    assert all(r["options"]["num_predict"] == 20 for r in double.requests), "num_predict not sent"
    # A model slower than the deadline: 100 chunks at 0.3 s would take 30 s.
    double.chunk_delay = 0.3
    status, events, seconds = ask(backend.url, long_prompt(), "203.0.113.7")
    assert status == 200 and events[-1]["type"] == "ai_error", events[-1]
    assert "longer than 2 s" in events[-1]["error"], events[-1]
    assert seconds < 3.5, f"the 2 s deadline took {seconds:.1f}s"
    double.chunk_delay = 0.0
    again, _, _ = ask(backend.url, "hello", "203.0.113.7")
    assert again == 200, "the stopped answer's slot must be free at once"
    assert probe.worst < RESPONSIVE, probe.summary()


# --- 10. an asker who leaves -------------------------------------------------------------------


@pytest.fixture
def live_backend(
    ollama_server: ThreadedServer, vision_server: ThreadedServer
) -> Iterator[Callable[..., ThreadedServer]]:
    started: list[ThreadedServer] = []

    def make(**overrides: Any) -> ThreadedServer:
        settings = backend_settings(ollama_server, vision_server, **overrides)
        server = ThreadedServer(create_app(settings)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def test_viewers_see_an_answer_end_with_ai_error_when_the_asker_leaves_mid_stream(
    live_backend: Callable[..., ThreadedServer], double: OllamaDouble
) -> None:
    server = live_backend()
    double.chunk_delay = 0.1
    with connect(server.url.replace("http", "ws") + "/ws", open_timeout=5) as viewer:
        assert json.loads(viewer.recv(timeout=5)) == {"type": "hello"}
        with httpx.stream(
            "POST", server.url + "/api/ai/query", json={"prompt": long_prompt(50)}, timeout=10
        ) as response:
            lines = response.iter_lines()
            assert json.loads(next(lines))["type"] == "ai_start"
            assert json.loads(next(lines))["type"] == "ai_chunk"
        seen = []
        while not seen or seen[-1]["type"] not in ("ai_done", "ai_error"):
            seen.append(json.loads(viewer.recv(timeout=3)))
    assert seen[-1] == {
        "type": "ai_error",
        "id": seen[0]["id"],
        "error": "the answer was cancelled",
    }, seen[-1]
    assert len([e for e in seen if e["type"] == "ai_chunk"]) < 50, (
        "the answer ran on after the asker left"
    )


# --- 11. input JSON cannot encode, and binary frames --------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"prompt": NaN}',
        b'{"prompt": Infinity}',
        b'{"prompt": "\\ud800"}',
        b'{"prompt": "x", "y": -Infinity}',
    ],
)
def test_values_json_cannot_encode_get_a_422_with_a_json_error(
    live_backend: Callable[..., ThreadedServer], body: bytes
) -> None:
    server = live_backend()
    response = httpx.post(
        server.url + "/api/ai/query",
        content=body,
        headers={"content-type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 422, f"{body!r}: {response.status_code} {response.text[:200]}"
    assert response.json()["error"].startswith("invalid request"), response.text


def test_a_binary_websocket_message_is_closed_with_1003(
    live_backend: Callable[..., ThreadedServer],
) -> None:
    server = live_backend()
    with connect(server.url.replace("http", "ws") + "/ws", open_timeout=5) as ws:
        ws.recv(timeout=5)
        ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003, closed.value


# --- 12. metric labels ---------------------------------------------------------------------------


def test_gesture_sources_cannot_grow_the_metrics_without_bound(
    backend: Callable[..., TestClient],
) -> None:
    client = backend()

    def post(source: str) -> None:
        event = {"gesture": "fist", "confidence": 0.5, "source": source}
        assert client.post("/api/gestures", json=event, headers=AUTH).status_code == 202

    post("s0")
    size = len(client.get("/metrics").content)
    for i in range(1, 500):
        post(f"s{i}")
    text = client.get("/metrics").text
    assert 'dixi_gesture_events_total{gesture="fist",source="other"} 500.0' in text, text
    assert len(text) - size < 100, (
        f"/metrics grew from {size} to {len(text)} bytes with 500 sources"
    )


# --- 13. what the public sees ----------------------------------------------------------------------


def test_public_503_bodies_name_the_dependency_but_not_its_address(
    backend: Callable[..., TestClient],
) -> None:
    client = backend(ollama_base_url="http://127.0.0.1:9", vision_service_url="http://127.0.0.1:9")
    answers = {
        "ai": client.post("/api/ai/query", json={"prompt": "hi"}),
        "frames": client.post(
            "/api/frames", content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"}
        ),
        "ready": client.get("/api/health/ready"),
    }
    for name, response in answers.items():
        assert response.status_code == 503, f"{name}: {response.status_code} {response.text}"
        assert "127.0.0.1" not in response.text and "http" not in response.text, (
            f"{name}: {response.text}"
        )
    assert answers["ai"].json()["error"] == "Ollama is unreachable"
    assert answers["frames"].json()["error"] == "vision is unreachable"
    assert answers["ready"].json()["checks"] == {
        "vision": "vision is unreachable",
        "ollama": "Ollama is unreachable",
    }


def test_websockets_from_a_foreign_page_are_refused_and_the_own_page_and_other_clients_pass(
    live_backend: Callable[..., ThreadedServer],
) -> None:
    server = live_backend(ws_allowed_origins=["https://kiosk.example"])
    url = server.url.replace("http", "ws") + "/ws"
    host = f"127.0.0.1:{server.port}"
    for origin in ("https://evil.example", "null", f"http://evil.example:{server.port}"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin=origin, open_timeout=5)
        assert refused.value.response.status_code == 403, origin
    allowed = [
        {"origin": f"http://{host}"},
        {"origin": "http://localhost", "headers": {"X-Forwarded-Host": "localhost"}},
        {"origin": "https://kiosk.example"},
        {},  # no Origin: not a browser
    ]
    for case in allowed:
        with connect(
            url, origin=case.get("origin"), additional_headers=case.get("headers"), open_timeout=5
        ) as ws:
            assert json.loads(ws.recv(timeout=5)) == {"type": "hello"}, case
