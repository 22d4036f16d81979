"""End to end through Debian's nginx with the project's server template."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
from dixi_devtools.handgen import draw_hand, encode
from websockets.sync.client import connect

from .conftest import (
    TOKEN,
    Proc,
    Stack,
    free_port,
    next_event,
    python_env,
    service_pythonpath,
    wait_http,
)


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
