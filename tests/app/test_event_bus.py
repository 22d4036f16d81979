"""The event bus between backend replicas, against a real Redis-compatible server.

Each test runs two backend replicas (uvicorn on loopback ports, each with its
own event loop) sharing a `redis-server` started on a free port, the Ollama
double and vision; the clients are real WebSocket clients. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
from dixi_backend.app import create_app
from dixi_backend.bus import MAX_MESSAGE_BYTES, BusConfig, BusConfigError, EventBus
from dixi_backend.hub import SLOW_CLIENT_CLOSE_CODE, Hub
from dixi_backend.metrics import Metrics
from dixi_backend.settings import Settings
from dixi_devtools.ollama_double import OllamaDouble
from dixi_devtools.redis_server import RedisServer, find_binary
from dixi_devtools.serve import ThreadedServer
from dixi_devtools.wsclient import next_event
from websockets.sync.client import ClientConnection, connect

from .conftest import ROOT, TOKEN, backend_settings
from .test_ws_hub import FastSocket, StuckSocket

pytestmark = pytest.mark.skipif(
    find_binary() is None, reason="redis-server or valkey-server is not installed (apt-get install redis-server)"
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GESTURE = {"gesture": "point", "confidence": 0.9, "source": "test"}


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


Replicas = Callable[..., list[ThreadedServer]]


@pytest.fixture
def replicas(
    ollama_server: ThreadedServer, vision_server: ThreadedServer, redis_server: RedisServer
) -> Iterator[Replicas]:
    """Starts `n` backend replicas on the bus; settings overrides via kwargs."""
    started: list[ThreadedServer] = []

    def make(n: int = 2, **overrides: Any) -> list[ThreadedServer]:
        overrides = {"event_bus_url": redis_server.url, "event_bus_reconnect_max_seconds": 0.5, **overrides}
        settings = backend_settings(ollama_server, vision_server, **overrides)
        servers = [ThreadedServer(create_app(settings)).start() for _ in range(n)]
        started.extend(servers)
        for server in servers:
            wait_for_bus(server, "up")
        return servers

    yield make
    for server in started:
        server.stop()


def ready(server: ThreadedServer) -> httpx.Response:
    return httpx.get(server.url + "/api/health/ready", timeout=5)


def wait_for_bus(server: ThreadedServer, state: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = ready(server).json()
        if body["event_bus"]["state"] == state:
            return body
        time.sleep(0.05)
    raise AssertionError(f"the bus did not turn {state!r} within {timeout}s; last body {body}")


@contextmanager
def ws(server: ThreadedServer) -> Iterator[ClientConnection]:
    with connect(server.url.replace("http", "ws") + "/ws", open_timeout=5) as client:
        assert json.loads(client.recv(timeout=5)) == {"type": "hello"}
        yield client


def events(client: ClientConnection, quiet: float = 0.3, limit: float = 10.0) -> list[dict[str, Any]]:
    """Everything `client` receives until it has been quiet for `quiet` seconds."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            seen.append(json.loads(client.recv(timeout=quiet)))
        except TimeoutError:
            return seen
    return seen


def post_gesture(server: ThreadedServer, **fields: Any) -> httpx.Response:
    response = httpx.post(
        server.url + "/api/gestures", json={**GESTURE, **fields}, headers=AUTH, timeout=5
    )
    assert response.status_code == 202, response.text
    return response


def metric(server: ThreadedServer, name: str, **labels: str) -> float:
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
    for line in httpx.get(server.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_event_one_replica_accepts_reaches_every_client_of_every_replica_once(
    replicas: Replicas,
) -> None:
    a, b = replicas(2)
    with ws(a) as on_a, ws(a) as also_on_a, ws(b) as on_b:
        post_gesture(a, gesture="fist", timestamp=123.0)
        for name, client in (("A", on_a), ("A", also_on_a), ("B", on_b)):
            got = [e for e in events(client) if e["type"] == "gesture"]
            assert [e["gesture"] for e in got] == ["fist"], (
                f"a client on replica {name} should see the gesture exactly once: {got}"
            )
            assert got[0]["timestamp"] == 123.0, got
    assert metric(a, "dixi_event_bus_published_total") == 1, "one publish per accepted event"
    assert metric(b, "dixi_events_published_total", type="gesture") == 0, (
        "replica B relayed the gesture; it did not accept it, so it must not count it as its own"
    )


def test_events_keep_their_publish_order_on_the_other_replica(replicas: Replicas) -> None:
    a, b = replicas(2)
    with ws(b) as on_b:
        for i in range(1, 61):
            post_gesture(a, timestamp=float(i))
        got = [e["timestamp"] for e in events(on_b, quiet=0.5) if e["type"] == "gesture"]
    assert got == [float(i) for i in range(1, 61)], f"out of order or missing on replica B: {got}"


def test_a_gesture_triggered_answer_runs_once_and_streams_to_every_replica(
    replicas: Replicas, double: OllamaDouble
) -> None:
    a, b = replicas(2)
    with ws(a) as on_a, ws(b) as on_b:
        answer = post_gesture(b, gesture="peace")
        assert answer.json()["ai_triggered"] is True, answer.json()
        streams = [next_event(on_a, "ai_done"), next_event(on_b, "ai_done")]
        time.sleep(0.3)
    assert len(double.requests) == 1, f"the model was asked {len(double.requests)} times for one gesture"
    for stream in streams:
        kinds = [e["type"] for e in stream]
        assert kinds[0] == "gesture" and kinds[1] == "ai_start" and kinds.count("ai_chunk") >= 3, kinds
    assert streams[0] == streams[1], "both replicas' clients should see the same events in the same order"


def test_the_automatic_answer_interval_holds_across_replicas(
    replicas: Replicas, double: OllamaDouble
) -> None:
    a, b = replicas(2, ai_auto_min_interval_seconds=30)
    first = post_gesture(a, gesture="peace").json()
    second = post_gesture(b, gesture="open_palm").json()
    assert first["ai_triggered"] is True, first
    assert second["ai_triggered"] is False, (
        "replica B started a second automatic answer inside replica A's 30 s interval"
    )
    assert metric(b, "dixi_ai_queries_total", trigger="gesture", outcome="rate_limited") == 1


def test_malformed_bus_messages_are_counted_and_never_reach_a_browser(
    replicas: Replicas, redis_server: RedisServer
) -> None:
    (a,) = replicas(1)
    publisher = redis.Redis.from_url(redis_server.url)
    good = {"type": "gesture", "gesture": "three", "confidence": 0.5, "hand": None, "source": "other", "timestamp": 1.0}
    bad = {
        "envelope": [b"not json", b"[1,2]", json.dumps({"v": 1, "event": good}).encode()],
        "version": [json.dumps({"v": 2, "origin": "new", "event": good}).encode()],
        "schema": [
            json.dumps({"v": 1, "origin": "x", "event": {**good, "gesture": "<script>"}}).encode(),
            json.dumps({"v": 1, "origin": "x", "event": {"type": "notice", "text": "hi"}}).encode(),
            json.dumps({"v": 1, "origin": "x", "event": {**good, "extra": 1}}).encode(),
        ],
        "too_large": [b"x" * (MAX_MESSAGE_BYTES + 1)],
    }
    with ws(a) as client:
        for messages in bad.values():
            for message in messages:
                publisher.publish("dixi:events", message)
        publisher.publish("dixi:events", json.dumps({"v": 1, "origin": "other", "event": good}))
        got = events(client, quiet=0.5)
    publisher.close()
    assert got == [good], f"only the well-formed event may reach a browser: {got}"
    for reason, messages in bad.items():
        assert metric(a, "dixi_event_bus_malformed_total", reason=reason) == len(messages), reason
    assert ready(a).json()["event_bus"]["state"] == "up", "a malformed message must not take the bus down"


def test_when_the_bus_stops_each_replica_serves_its_own_clients_and_recovers_without_restart(
    replicas: Replicas, redis_server: RedisServer
) -> None:
    a, b = replicas(2)
    with ws(a) as on_a, ws(b) as on_b:
        # Both replicas publish before the outage: their pooled connections
        # die with the server and must not swallow the first event after it.
        post_gesture(a, source="before")
        post_gesture(b, source="before")
        for client in (on_a, on_b):
            assert len([e for e in events(client) if e["type"] == "gesture"]) == 2
        redis_server.stop()
        for server in (a, b):
            body = wait_for_bus(server, "down")
            assert ready(server).status_code == 200, "a bus outage must not take replicas out of service"
            assert body["event_bus"]["detail"], body
        post_gesture(a, gesture="fist")
        post_gesture(b, gesture="four")
        assert [e["gesture"] for e in events(on_a) if e["type"] == "gesture"] == ["fist"]
        assert [e["gesture"] for e in events(on_b) if e["type"] == "gesture"] == ["four"]
        assert metric(a, "dixi_event_bus_up") == 0
        assert metric(a, "dixi_event_bus_publish_failures_total", reason="down") >= 1

        redis_server.start()
        for server in (a, b):
            wait_for_bus(server, "up")
        post_gesture(a, gesture="peace", source="after")
        post_gesture(b, gesture="peace", source="after")
        for client in (on_a, on_b):
            got = [e["source"] for e in events(client) if e["type"] == "gesture"]
            assert got == ["after", "after"], f"cross-replica delivery did not resume at once: {got}"
    assert metric(b, "dixi_event_bus_reconnects_total") == 1
    assert metric(b, "dixi_event_bus_up") == 1


def test_a_bus_password_from_its_own_setting_works_and_a_wrong_one_is_reported_not_fatal(
    ollama_server: ThreadedServer, vision_server: ThreadedServer
) -> None:
    with RedisServer(password="s3cret-bus") as server:
        url = server.url.replace(":s3cret-bus@", "")
        common = {"event_bus_url": url, "event_bus_reconnect_max_seconds": 0.5}
        good = backend_settings(ollama_server, vision_server, **common, event_bus_password="s3cret-bus")
        wrong = backend_settings(ollama_server, vision_server, **common, event_bus_password="nope")
        with ThreadedServer(create_app(good)) as ok, ThreadedServer(create_app(wrong)) as refused:
            wait_for_bus(ok, "up")
            body = wait_for_bus(refused, "down")
            assert "nope" not in json.dumps(body) and "s3cret" not in json.dumps(body), body
            assert ready(refused).status_code == 200


def test_without_a_bus_url_the_in_process_hub_works_alone(backend: Callable[..., Any]) -> None:
    client = backend()
    body = client.get("/api/health/ready").json()
    assert body["event_bus"] == {"state": "disabled", "detail": None}, body
    with client.websocket_connect("/ws") as socket:
        socket.receive_json()
        client.post("/api/gestures", json=GESTURE, headers=AUTH)
        assert socket.receive_json()["type"] == "gesture"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"event_bus_url": "http://cache:6379"}, "must start with redis:// or rediss://"),
        ({"event_bus_url": "redis://"}, "has no host"),
        ({"event_bus_url": "redis://:pw@cache:6379/0", "event_bus_password": "pw"}, "given twice"),
        ({"event_bus_password": "pw"}, "EVENT_BUS_URL is not"),
        ({"event_bus_url": "redis://cache:6379", "event_bus_ca_file": "/etc/hostname"}, "only used with TLS"),
        ({"event_bus_url": "rediss://cache:6379", "event_bus_ca_file": "/nonexistent/ca.pem"}, "not a readable file"),
    ],
)
def test_a_bus_setting_that_cannot_work_is_one_clear_error(settings: dict[str, str], message: str) -> None:
    with pytest.raises(BusConfigError, match=message):
        Settings(**settings).bus_config()


def test_the_backend_process_refuses_a_bad_bus_url_with_one_line_and_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dixi_backend.app"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{ROOT / 'app' / 'backend'}:{ROOT / 'app' / 'common'}",
            "EVENT_BUS_URL": "http://cache:6379",
            "PORT": "1",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr, result.stderr
    assert "EVENT_BUS_URL must start with redis:// or rediss://" in result.stderr, result.stderr


def test_a_stuck_client_on_the_receiving_replica_is_dropped_without_delaying_the_others(
    redis_server: RedisServer,
) -> None:
    """The hub's per-client guarantees hold for events that arrive through the bus."""

    async def scenario() -> tuple[FastSocket, StuckSocket, Hub]:
        config = BusConfig(url=redis_server.url)
        hub_b = Hub(queue_size=8)
        sender = EventBus(config, lambda event: None, Metrics(), origin="a")
        receiver = EventBus(config, hub_b.publish, Metrics(), origin="b")
        fast, stuck = FastSocket(), StuckSocket()
        hub_b.add(fast)
        hub_b.add(stuck)
        for bus in (sender, receiver):
            bus.start()
        deadline = time.monotonic() + 10
        while not (sender.up and receiver.up) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for i in range(100):
            sender.publish({**{"type": "gesture", "gesture": "fist", "confidence": 1, "source": "t"}, "timestamp": i})
        deadline = time.monotonic() + 10
        while len(fast.received) < 100 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for bus in (sender, receiver):
            await bus.aclose()
        return fast, stuck, hub_b

    fast, stuck, hub = asyncio.run(scenario())
    assert len(fast.received) == 100, f"the fast client got {len(fast.received)} of 100"
    assert stuck.closed == SLOW_CLIENT_CLOSE_CODE, f"the stuck client was not dropped: {stuck.closed}"
    assert hub.stats.dropped_clients == 1 and hub.client_count == 1, hub.stats


def test_every_event_a_replica_publishes_is_one_the_others_accept(replicas: Replicas) -> None:
    """The schema in events.py and the events services.py builds never drift apart."""
    a, b = replicas(2)
    with ws(b) as on_b:
        post_gesture(a, gesture="peace", hand={"x": 0.5, "y": 0.25})
        response = httpx.post(a.url + "/api/ai/query", json={"prompt": "hello there"}, timeout=10)
        assert response.status_code == 200, response.text
        sent = [json.loads(line) for line in response.text.splitlines()]
        got = events(on_b, quiet=0.5)
    assert metric(b, "dixi_event_bus_malformed_total", reason="schema") == 0
    assert {e["type"] for e in got} == {"gesture", "ai_start", "ai_chunk", "ai_done"}, got
    assert all(e in got for e in sent), "an answer's events reached replica B changed or not at all"


def test_an_ai_error_crosses_the_bus_too(replicas: Replicas, ollama_server: ThreadedServer) -> None:
    a, b = replicas(2)
    ollama_server.stop()
    try:
        with ws(b) as on_b:
            assert httpx.post(a.url + "/api/ai/query", json={"prompt": "hi"}, timeout=10).status_code == 503
            got = events(on_b)
    finally:
        ollama_server.start()
    assert [e["type"] for e in got] == ["ai_error"], got


def test_a_stalled_peer_socket_is_noticed_by_ping(redis_server: RedisServer) -> None:
    """A server that stops answering (SIGSTOP: the TCP session stays open) turns the bus down."""
    import os
    import signal

    async def scenario() -> list[str]:
        bus = EventBus(BusConfig(url=redis_server.url), lambda event: None, Metrics(), origin="a")
        bus.start()
        states: list[str] = []
        deadline = time.monotonic() + 5
        while not bus.up and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        states.append(bus.status.state)
        pid = redis_server._proc.pid if redis_server._proc else 0
        os.kill(pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 15
            while bus.up and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            states.append(bus.status.state)
        finally:
            os.kill(pid, signal.SIGCONT)
        await bus.aclose()
        return states

    assert asyncio.run(scenario()) == ["up", "down"], "a silent server went unnoticed"


def test_a_tls_bus_signed_by_a_private_ca_works_with_its_ca_file(
    ollama_server: ThreadedServer, vision_server: ThreadedServer
) -> None:
    """rediss:// with EVENT_BUS_CA_FILE, as Memorystore needs; without the CA the bus stays down."""
    with RedisServer(tls=True) as server:
        common = {"event_bus_url": server.url, "event_bus_reconnect_max_seconds": 0.5}
        assert server.url.startswith("rediss://"), server.url
        trusting = backend_settings(ollama_server, vision_server, **common, event_bus_ca_file=server.ca_file)
        with (
            ThreadedServer(create_app(trusting)) as trusted,
            ThreadedServer(create_app(backend_settings(ollama_server, vision_server, **common))) as untrusted,
        ):
            wait_for_bus(trusted, "up")
            body = wait_for_bus(untrusted, "down")
            assert "certificate" in str(body["event_bus"]["detail"]).lower(), body


class _SwallowingPubSub:
    """A subscription whose timeout turns a cancellation into a TimeoutError, as a timeout inside
    redis-py can when the cancellation and the timeout land together."""

    swallow = True

    async def subscribe(self, channel: str) -> None:
        try:
            await asyncio.sleep(2)  # a connect that takes its time: where the cancellation lands
        except asyncio.CancelledError:
            if not _SwallowingPubSub.swallow:
                raise
            raise TimeoutError("connect timed out") from None
        raise TimeoutError("connect timed out")

    async def aclose(self) -> None:
        return None


class _SwallowingClient:
    def pubsub(self, **kwargs: Any) -> _SwallowingPubSub:
        return _SwallowingPubSub()

    async def aclose(self) -> None:
        return None


def test_closing_the_bus_ends_even_when_a_timeout_swallows_the_cancellation() -> None:
    """Once seen as a test run that never ended: the subscriber took the lost cancellation for a bus error."""

    async def scenario() -> bool:
        _SwallowingPubSub.swallow = True
        bus = EventBus(BusConfig(url="redis://127.0.0.1:1/0", reconnect_max_seconds=0.1), lambda event: None, Metrics(), origin="a")
        bus._client = _SwallowingClient()  # type: ignore[assignment]
        bus.start()
        await asyncio.sleep(0.3)  # inside a slow connect
        closing = asyncio.create_task(bus.aclose())
        done, _ = await asyncio.wait({closing}, timeout=8)
        # Stop swallowing and cancel again, so that a failing run still ends.
        _SwallowingPubSub.swallow = False
        for task in bus._tasks:
            task.cancel()
        await closing
        return bool(done) and all(task.done() for task in bus._tasks)

    assert asyncio.run(scenario()), "aclose did not end: a task outlived it"
