"""End to end through Debian's nginx with the project's server template."""

from __future__ import annotations

import json
import re
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import cv2
import httpx
from dixi_common.server import PRIVATE_NETWORKS
from dixi_devtools.handgen import draw_hand, encode
from dixi_devtools.wsclient import next_event
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from .conftest import (
    APP,
    TOKEN,
    Proc,
    Stack,
    free_port,
    python_env,
    service_pythonpath,
    wait_http,
)

TEMPLATE = (APP / "frontend" / "nginx" / "default.conf.template").read_text()
# Loopback is 127.0.0.0/8: a second source address on the same machine is a second client.
OTHER_CLIENT = "127.0.0.2"


def ws_per_address_limit() -> int:
    """The per-address /ws limit the template sets (what nginx enforces, not a copy of it)."""
    found = re.search(r"location = /ws \{[^}]*?limit_conn (\w+) (\d+);", TEMPLATE)
    assert found, "the /ws location has no limit_conn"
    assert f"zone={found[1]}:" in TEMPLATE, f"no limit_conn_zone named {found[1]}"
    return int(found[2])


def csp_sources(csp: str, directive: str) -> list[str]:
    for part in csp.split(";"):
        name, *sources = part.split()
        if name == directive:
            return sources
    raise AssertionError(f"no {directive} in {csp!r}")


def open_ws(
    stack: Stack, held: ExitStack, count: int, **kwargs: Any
) -> tuple[list[ClientConnection], list[int]]:
    """Opens `count` /ws connections through nginx, closed with `held`; returns them and the refusals' statuses."""
    opened: list[ClientConnection] = []
    refused: list[int] = []
    for _ in range(count):
        try:
            ws = held.enter_context(connect(stack.ws_url, open_timeout=5, **kwargs))
        except InvalidStatus as exc:
            refused.append(exc.response.status_code)
            body = json.loads(exc.response.body or b"{}")
            assert "too many open connections" in body.get("error", ""), exc.response.body
            continue
        opened.append(ws)
        assert next_event(ws, "hello")[-1] == {"type": "hello"}
    return opened, refused


def wait_ws_slot_freed(stack: Stack, timeout: float = 5.0, **kwargs: Any) -> None:
    """Once its connections are closed, the address may connect again (the session's stack is shared)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect(stack.ws_url, open_timeout=5, **kwargs) as ws:
                next_event(ws, "hello")
            return
        except InvalidStatus:
            assert time.monotonic() < deadline, "nginx kept counting closed connections"
            time.sleep(0.1)


def test_the_page_is_served_with_security_headers_and_gzip(stack: Stack) -> None:
    page = httpx.get(stack.url + "/")
    assert page.status_code == 200 and "<title>Dixi</title>" in page.text, page.text[:200]
    for header in ("content-security-policy", "x-content-type-options", "x-frame-options"):
        assert header in page.headers, f"{header} missing: {dict(page.headers)}"
    assert "no-cache" in page.headers.get("cache-control", ""), page.headers
    script = httpx.get(stack.url + "/assets/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers.get("content-encoding") == "gzip", dict(script.headers)
    assert "max-age=604800" in script.headers.get("cache-control", ""), dict(script.headers)
    assert "content-security-policy" in script.headers, "assets lost the security headers"


def test_the_csp_lets_the_page_connect_only_to_its_own_origin(stack: Stack) -> None:
    # Before: `connect-src 'self' ws: wss:`, which allows a socket to any host.
    # CSP Level 3's 'self' also matches ws:/wss: to the page's own host.
    csp = httpx.get(stack.url + "/").headers["content-security-policy"]
    connect_src = csp_sources(csp, "connect-src")
    assert connect_src == ["'self'"], (
        f"connect-src allows more than the page's origin: {connect_src}"
    )
    for directive in ("default-src", "connect-src"):
        bare = {"ws:", "wss:", "*", "http:", "https:"} & set(csp_sources(csp, directive))
        assert not bare, f"{directive} allows every host of a scheme: {bare}"


def test_one_address_gets_at_most_the_per_address_limit_of_websockets(stack: Stack) -> None:
    # Before: nothing per address; one client opened as many sockets as it
    # liked, up to the backend's 1000-client cap.
    limit = ws_per_address_limit()
    with ExitStack() as held:
        opened, refused = open_ws(stack, held, limit + 5)
        assert len(opened) == limit, f"{len(opened)} sockets from one address (limit {limit})"
        assert refused == [429] * 5, refused
        # Another client still connects, and the saturated one still gets HTTP answers.
        with connect(stack.ws_url, open_timeout=5, source_address=(OTHER_CLIENT, 0)) as other:
            assert next_event(other, "hello")[-1] == {"type": "hello"}
        assert httpx.get(stack.url + "/api/health/live", timeout=5).status_code == 200
        with httpx.Client(transport=httpx.HTTPTransport(local_address=OTHER_CLIENT)) as client:
            assert client.get(stack.url + "/", timeout=5).status_code == 200
        print(f"one address: {len(opened)} of {limit + 5} sockets opened, {len(refused)} refused")
    wait_ws_slot_freed(stack)


def test_behind_a_proxy_the_limit_counts_the_client_the_proxy_names(stack: Stack) -> None:
    # The load balancer (a private address, here loopback) is the peer of
    # every request; the client is the right-most X-Forwarded-For entry it
    # did not add. What the client itself puts in front cannot buy it slots.
    limit = ws_per_address_limit()
    client, neighbour = "203.0.113.7", "203.0.113.8"
    with ExitStack() as held:
        sockets: list[ClientConnection] = []
        refused: list[int] = []
        for i in range(limit + 3):
            forged = f"198.51.100.{i + 1}, {client}"
            opened, statuses = open_ws(
                stack, held, 1, additional_headers={"X-Forwarded-For": forged}
            )
            sockets += opened
            refused += statuses
        assert len(sockets) == limit and refused == [429] * 3, (len(sockets), refused)
        with connect(
            stack.ws_url, open_timeout=5, additional_headers={"X-Forwarded-For": neighbour}
        ) as other:
            assert next_event(other, "hello")[-1] == {"type": "hello"}, "a neighbour was refused"
    wait_ws_slot_freed(stack, additional_headers={"X-Forwarded-For": client})


def test_nginx_trusts_forwarded_addresses_from_the_networks_the_services_trust() -> None:
    trusted = set(re.findall(r"set_real_ip_from ([^;]+);", TEMPLATE))
    assert trusted == set(PRIVATE_NETWORKS.split(",")), (
        "nginx and the backend must agree on which peers name the client"
    )
    assert re.search(r"real_ip_header X-Forwarded-For;\s+real_ip_recursive on;", TEMPLATE)


def test_a_frame_through_nginx_becomes_a_gesture_event_then_ai_chunks(stack: Stack) -> None:
    with connect(stack.ws_url, open_timeout=5) as ws:
        assert next_event(ws, "hello")[-1] == {"type": "hello"}
        response = httpx.post(
            stack.url + "/api/frames",
            content=encode(draw_hand(2)),
            headers={"content-type": "image/jpeg"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["gesture"] == "peace", response.json()
        gesture = next_event(ws, "gesture")[-1]
        assert gesture["gesture"] == "peace" and gesture["source"] == "browser", gesture
        answer = next_event(ws, "ai_done")
    chunks = [e for e in answer if e["type"] == "ai_chunk"]
    assert len(chunks) >= 3, f"the automatic answer did not stream in chunks: {answer}"
    assert "".join(c["text"] for c in chunks) == answer[-1]["text"], answer


def test_an_ai_query_streams_through_nginx_unbuffered(stack: Stack) -> None:
    lines: list[tuple[float, dict[str, Any]]] = []
    with httpx.stream(
        "POST",
        stack.url + "/api/ai/query",
        json={"prompt": "one two three four five six"},
        timeout=10,
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line:
                lines.append((time.monotonic(), json.loads(line)))
    kinds = [e["type"] for _, e in lines]
    assert kinds[0] == "ai_start" and kinds[-1] == "ai_done", kinds
    assert lines[-1][1]["text"] == "Dixi heard: one two three four five six", lines[-1]
    spread = lines[-1][0] - lines[1][0]
    assert spread > 0.03, f"chunks arrived together ({spread:.3f}s): nginx buffered the stream"


def test_ready_turns_503_without_ollama_and_200_when_it_is_back(stack: Stack) -> None:
    ready = stack.url + "/api/health/ready"
    assert httpx.get(ready).status_code == 200, httpx.get(ready).text
    stack.stop_ollama()
    try:
        wait_http(ready, timeout=10, ok=(503,))
        body = httpx.get(ready).json()
        assert body["failed"] == ["ollama"], body
        assert httpx.get(stack.url + "/api/health/live").status_code == 200, "live followed ollama"
        down = httpx.post(stack.url + "/api/ai/query", json={"prompt": "hi"})
        assert down.status_code == 503 and "Ollama" in down.json()["error"], down.text
    finally:
        stack.start_ollama()
    wait_http(ready, timeout=10, ok=(200,))
    again = httpx.post(stack.url + "/api/ai/query", json={"prompt": "back"}, timeout=10)
    assert again.status_code == 200, f"no recovery after Ollama came back: {again.text}"


def test_bad_input_through_nginx_gets_status_codes_and_json_errors(stack: Stack) -> None:
    huge = httpx.post(
        stack.url + "/api/frames",
        content=b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024),
        headers={"content-type": "image/jpeg"},
        timeout=10,
    )
    assert huge.status_code == 413 and "2 MiB" in huge.json()["error"], huge.text
    not_image = httpx.post(
        stack.url + "/api/frames", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert not_image.status_code == 415 and not_image.json()["error"], not_image.text
    garbage = httpx.post(
        stack.url + "/api/frames", content=b"\x89PNG nope", headers={"content-type": "image/png"}
    )
    assert garbage.status_code == 422 and garbage.json()["error"], garbage.text
    no_token = httpx.post(stack.url + "/api/gestures", json={"gesture": "fist", "confidence": 1})
    assert no_token.status_code == 401 and no_token.json()["error"], no_token.text
    malformed = httpx.post(
        stack.url + "/api/gestures",
        json={"gesture": "fist", "confidence": "high"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert malformed.status_code == 422 and malformed.json()["error"], malformed.text
    long_prompt = httpx.post(stack.url + "/api/ai/query", json={"prompt": "x" * 5000})
    assert long_prompt.status_code == 422 and long_prompt.json()["error"], long_prompt.text


def test_a_camera_on_vision_posts_gestures_to_the_backend_with_the_token(
    stack: Stack, tmp_path: Path
) -> None:
    video = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for _ in range(20):
        writer.write(draw_hand(4, width=320, height=240, palm_radius=30))
    writer.release()
    port = free_port()
    camera_vision = Proc(
        "camera-vision",
        [__import__("sys").executable, "-m", "dixi_vision.app"],
        python_env(
            PYTHONPATH=service_pythonpath("vision"),
            PORT=str(port),
            CAMERA_SOURCE=str(video),
            BACKEND_URL=stack.backend_url,
            GESTURE_TOKEN=TOKEN,
            MODELS_DIR=str(tmp_path),
            CAMERA_REPEAT_SECONDS="60",
        ),
        tmp_path / "camera-vision.log",
    )
    with connect(stack.ws_url, open_timeout=5) as ws:
        next_event(ws, "hello")
        camera_vision.start()
        try:
            events = next_event(ws, "gesture", timeout=15)
        finally:
            camera_vision.stop()
    gesture = events[-1]
    assert gesture["gesture"] == "four", gesture
    assert gesture["source"] == "camera", "the camera source (maybe a URL) must not leak"
