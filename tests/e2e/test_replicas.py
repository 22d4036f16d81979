"""Two backend replicas behind nginx, sharing events through the Redis event bus.

Clients are connected to each replica's own port (so which replica serves
them is known) and one through nginx. An event accepted by one replica must
reach every client exactly once; when the bus is down each replica keeps
serving its own clients, and cross-replica delivery comes back with the bus.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import redis
from dixi_devtools.handgen import draw_hand, encode
from dixi_devtools.wsclient import next_event
from websockets.sync.client import ClientConnection, connect

from .conftest import (
    TOKEN,
    ReplicatedStack,
    bus_state,
    metric,
    wait_bus_state,
)

CHANNEL = "dixi:events"
FRAMES = 3

Event = dict[str, Any]


@contextmanager
def ws_clients(urls: Sequence[str]) -> Iterator[list[ClientConnection]]:
    """One WebSocket client per URL, each past its `hello`."""
    with ExitStack() as stack:
        clients = [stack.enter_context(connect(url, open_timeout=5)) for url in urls]
        for ws in clients:
            next_event(ws, "hello", timeout=5)
        yield clients


def receive(
    ws: ClientConnection, until: Callable[[list[Event]], bool], what: str, timeout: float = 10.0
) -> list[Event]:
    """Events as they arrive until `until(all so far)` holds; fails after `timeout`."""
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while not until(seen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{what}: not within {timeout}s; the client saw {seen}")
        try:
            seen.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            continue
    return seen


def quiet(ws: ClientConnection, seconds: float) -> list[Event]:
    """Whatever else arrives within `seconds` (late duplicates would show up here)."""
    seen: list[Event] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            break
    return seen


def has_gesture_from(source: str) -> Callable[[list[Event]], bool]:
    return lambda seen: any(e["type"] == "gesture" and e.get("source") == source for e in seen)


def post_gesture(base_url: str, source: str) -> httpx.Response:
    # `fist` asks the AI nothing, so only the gesture itself is fanned out.
    return httpx.post(
        base_url + "/api/gestures",
        json={"gesture": "fist", "confidence": 0.9, "source": source},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )


def assert_replicas_alive(s: ReplicatedStack) -> None:
    for proc, url in zip(s.replicas, s.replica_urls, strict=True):
        assert proc.alive, f"{proc.name} exited:\n{s.logs()}"
        live = httpx.get(url + "/api/health/live", timeout=5)
        assert live.status_code == 200, f"{proc.name} is not live: {live.text}"


def all_bus_up(s: ReplicatedStack) -> None:
    for url in s.replica_urls:
        wait_bus_state(url, "up", timeout=15)


def test_frames_through_nginx_reach_every_replicas_clients_once_with_one_ai_answer_each(
    replicated_stack: ReplicatedStack,
) -> None:
    s = replicated_stack
    all_bus_up(s)
    httpx.post(s.ollama_url + "/_double/reset", timeout=5).raise_for_status()
    assert httpx.get(s.ollama_url + "/_double/stats", timeout=5).json()["chat"] == 0
    answered_before = [metric(url, "dixi_ai_queries_total") for url in s.replica_urls]
    names = ["replica 0 (direct)", "replica 1 (direct)", "through nginx"]
    with ws_clients([*s.replica_ws_urls, s.ws_url]) as clients:
        for n in range(FRAMES):
            response = httpx.post(
                s.url + "/api/frames",
                content=encode(draw_hand(2)),
                headers={"content-type": "image/jpeg"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["gesture"] == "peace", f"frame {n} was not recognized as peace: {body}"
            assert body["ai_triggered"] is True, f"peace must start an AI answer: {body}"
        seen = {
            name: receive(
                ws,
                lambda evs: sum(e["type"] == "ai_done" for e in evs) >= FRAMES,
                f"{name}: {FRAMES} answers",
                timeout=15,
            )
            + quiet(ws, 0.5)
            for name, ws in zip(names, clients, strict=True)
        }

    answered = [
        metric(url, "dixi_ai_queries_total") - before
        for url, before in zip(s.replica_urls, answered_before, strict=True)
    ]
    assert sum(answered) == FRAMES, (
        f"each gesture must be answered once, by the replica that took it; per replica: {answered}"
    )
    assert all(answered), (
        f"nginx should spread the frames over both replicas (so some events cross the bus): {answered}"
    )
    stats = httpx.get(s.ollama_url + "/_double/stats", timeout=5).json()
    assert stats["chat"] == FRAMES, (
        f"Ollama must be asked once per gesture, not once per replica: {stats} for {FRAMES} gestures"
    )

    for name, events in seen.items():
        gestures = [e for e in events if e["type"] == "gesture"]
        assert len(gestures) == FRAMES, f"{name} got {len(gestures)} gesture events: {gestures}"
        assert all(g["gesture"] == "peace" and g["source"] == "browser" for g in gestures), gestures
        distinct = {json.dumps(g, sort_keys=True) for g in gestures}
        assert len(distinct) == FRAMES, f"{name} got a gesture twice: {gestures}"
        others = [e for e in events if not e["type"].startswith("ai_") and e["type"] != "gesture"]
        assert not others, f"{name} got unexpected events: {others}"
        answers: dict[str, list[Event]] = {}
        for e in events:
            if e["type"].startswith("ai_"):
                answers.setdefault(e["id"], []).append(e)
        assert len(answers) == FRAMES, f"{name} saw {len(answers)} answers, not {FRAMES}: {answers}"
        for query_id, answer in answers.items():
            kinds = [e["type"] for e in answer]
            assert kinds[0] == "ai_start" and kinds[-1] == "ai_done", f"{name} {query_id}: {kinds}"
            assert set(kinds[1:-1]) == {"ai_chunk"}, f"{name} {query_id} out of order: {kinds}"
            text = "".join(e["text"] for e in answer[1:-1])
            assert text == answer[-1]["text"], (
                f"{name} {query_id}: the chunks (duplicated or lost?) do not add up to the answer: "
                f"{text!r} vs {answer[-1]['text']!r}"
            )
            assert text.startswith("Dixi heard: Someone showed a peace sign"), text
    assert_replicas_alive(s)


def test_malformed_bus_messages_reach_no_client_and_are_counted_by_each_replica(
    replicated_stack: ReplicatedStack,
) -> None:
    s = replicated_stack
    all_bus_up(s)
    messages = [
        b"not json",
        b"[1, 2, 3]",
        json.dumps(
            {"v": 1, "origin": "x", "event": {"type": "gesture", "gesture": "<script>"}}
        ).encode(),
    ]
    before = [metric(url, "dixi_event_bus_malformed_total") for url in s.replica_urls]
    with ws_clients([*s.replica_ws_urls, s.ws_url]) as clients:
        client = redis.Redis.from_url(s.redis.url, socket_timeout=5)
        try:
            for message in messages:
                receivers = client.publish(CHANNEL, message)
                assert receivers == 2, f"both replicas should be subscribed once each: {receivers}"
        finally:
            client.close()
        counted: list[float] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            counted = [
                metric(url, "dixi_event_bus_malformed_total") - b
                for url, b in zip(s.replica_urls, before, strict=True)
            ]
            if all(c >= len(messages) for c in counted):
                break
            time.sleep(0.1)
        assert counted == [len(messages)] * 2, (
            f"each replica should count each of the {len(messages)} malformed messages once: {counted}"
        )
        # Now everything published before it has been read: a real event, then nothing else.
        assert post_gesture(s.replica_urls[0], "after-malformed").status_code == 202
        for ws in clients:
            events = receive(ws, has_gesture_from("after-malformed"), "the next real event", 5)
            events += quiet(ws, 0.3)
            assert [e.get("source") for e in events] == ["after-malformed"], (
                f"a malformed bus message (or a duplicate) reached a client: {events}"
            )
    assert_replicas_alive(s)
    for url in s.replica_urls:
        assert bus_state(url)[1].get("state") == "up", "malformed messages must not break the bus"


def test_with_the_bus_down_each_replica_serves_its_own_clients_and_recovers_when_it_is_back(
    replicated_stack: ReplicatedStack,
) -> None:
    s = replicated_stack
    all_bus_up(s)
    seen: list[list[Event]] = [[], []]
    with ws_clients(s.replica_ws_urls) as clients:
        s.redis.stop()
        try:
            for url in s.replica_urls:
                polls = wait_bus_state(url, "down", timeout=15)
                assert {code for code, _ in polls} == {200}, (
                    f"the bus must never change the ready status code: {polls}"
                )
                assert metric(url, "dixi_event_bus_up") == 0, "dixi_event_bus_up while down"
            for i, (url, ws) in enumerate(zip(s.replica_urls, clients, strict=True)):
                response = post_gesture(url, f"outage-{i}")
                assert response.status_code == 202, (
                    f"replica {i} must accept gestures with the bus down: {response.text}"
                )
                seen[i] += receive(
                    ws, has_gesture_from(f"outage-{i}"), f"replica {i}'s own client, bus down", 5
                )
            assert_replicas_alive(s)
        finally:
            if not s.redis.running:
                s.redis.start()

        for url in s.replica_urls:
            polls = wait_bus_state(url, "up", timeout=15)
            assert {code for code, _ in polls} == {200}, f"ready status changed: {polls}"
            assert metric(url, "dixi_event_bus_up") == 1, "dixi_event_bus_up after reconnecting"
        for i, url in enumerate(s.replica_urls):
            assert post_gesture(url, f"back-{i}").status_code == 202
            for j, ws in enumerate(clients):
                seen[j] += receive(
                    ws,
                    has_gesture_from(f"back-{i}"),
                    f"replica {j}'s client, a gesture sent to replica {i} after the bus came back",
                    5,
                )
        for j, ws in enumerate(clients):
            seen[j] += quiet(ws, 0.3)

    for j, events in enumerate(seen):
        sources = [e["source"] for e in events if e["type"] == "gesture"]
        assert len(sources) == len(set(sources)), f"replica {j}'s client got a duplicate: {sources}"
    assert_replicas_alive(s)
