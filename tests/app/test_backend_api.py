"""The backend API against a live Ollama double and a live vision service."""

from __future__ import annotations

import json
from typing import Any

from dixi_devtools.handgen import draw_hand, encode
from dixi_devtools.ollama_double import OllamaDouble
from dixi_devtools.serve import ThreadedServer
from fastapi.testclient import TestClient

from .conftest import TOKEN, BackendFactory

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PEACE = {"gesture": "peace", "confidence": 0.9, "hand": {"x": 0.4, "y": 0.5}, "source": "test"}


def receive_until(ws: Any, kind: str, limit: int = 50) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        event = ws.receive_json()
        seen.append(event)
        if event["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} event among {seen}")


def test_live_answers_200_while_the_process_serves(backend: BackendFactory) -> None:
    response = backend().get("/api/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}, response.text


def test_ready_is_200_when_vision_and_the_model_answer(backend: BackendFactory) -> None:
    response = backend().get("/api/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"vision": "ok", "ollama": "ok"}, response.json()


def test_ready_is_503_naming_ollama_when_it_is_down_and_live_stays_200(
    backend: BackendFactory,
) -> None:
    client = backend(ollama_base_url="http://127.0.0.1:9")
    response = client.get("/api/health/ready")
    assert response.status_code == 503, response.text
    assert response.json()["failed"] == ["ollama"], response.json()
    assert "unreachable" in response.json()["checks"]["ollama"], response.json()
    assert client.get("/api/health/live").status_code == 200, "live must not follow dependencies"


def test_ready_is_503_naming_vision_when_it_is_down(backend: BackendFactory) -> None:
    response = backend(vision_service_url="http://127.0.0.1:9").get("/api/health/ready")
    assert response.status_code == 503 and response.json()["failed"] == ["vision"], response.text


def test_ready_is_503_when_the_configured_model_is_missing(backend: BackendFactory) -> None:
    response = backend(ollama_model="mistral").get("/api/health/ready")
    assert response.status_code == 503, response.text
    assert "does not have the model 'mistral'" in response.json()["checks"]["ollama"], response.text


def test_ready_recovers_by_itself_when_ollama_comes_back(
    backend: BackendFactory, ollama_server: ThreadedServer
) -> None:
    client = backend()
    ollama_server.stop()
    assert client.get("/api/health/ready").status_code == 503, "ready ignored a stopped Ollama"
    ollama_server.start()
    assert client.get("/api/health/ready").status_code == 200, "ready did not recover"


def test_dependency_checks_are_cached(
    backend: BackendFactory, ollama_server: ThreadedServer
) -> None:
    client = backend(health_cache_seconds=60)
    assert client.get("/api/health/ready").status_code == 200
    ollama_server.stop()
    assert client.get("/api/health/ready").status_code == 200, "the check was not cached"


def test_gestures_are_refused_when_no_token_is_configured(backend: BackendFactory) -> None:
    response = backend(gesture_token=None).post("/api/gestures", json=PEACE, headers=AUTH)
    assert response.status_code == 403, response.text
    assert "GESTURE_TOKEN is not configured" in response.json()["error"], response.json()


def test_a_gesture_without_a_token_is_401(backend: BackendFactory) -> None:
    response = backend().post("/api/gestures", json=PEACE)
    assert response.status_code == 401 and response.json() == {"error": "missing bearer token"}


def test_a_gesture_with_a_wrong_token_is_401(backend: BackendFactory) -> None:
    response = backend().post("/api/gestures", json=PEACE, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json() == {"error": "invalid token"}


def test_malformed_gesture_events_are_422_with_a_clear_error(backend: BackendFactory) -> None:
    client = backend()
    cases = {
        "unknown gesture": {**PEACE, "gesture": "moonwalk"},
        "confidence above 1": {**PEACE, "confidence": 1.5},
        "extra field": {**PEACE, "admin": True},
        "hand outside frame": {**PEACE, "hand": {"x": 2, "y": 0}},
        "missing gesture": {"confidence": 0.5},
    }
    for name, body in cases.items():
        response = client.post("/api/gestures", json=body, headers=AUTH)
        assert response.status_code == 422, f"{name}: {response.status_code} {response.text}"
        assert response.json()["error"].startswith("invalid request"), f"{name}: {response.text}"
    response = client.post(
        "/api/gestures", content=b"{not json", headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 422, f"broken JSON: {response.text}"


def test_an_oversized_gesture_event_is_413(backend: BackendFactory) -> None:
    body = json.dumps({**PEACE, "source": "x" * 10_000})
    response = backend().post(
        "/api/gestures", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert "exceeds 4096 bytes" in response.json()["error"], response.json()


def test_a_gesture_reaches_every_websocket_client(backend: BackendFactory) -> None:
    client = backend(ai_gesture_prompts={})
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        assert a.receive_json()["type"] == "hello" and b.receive_json()["type"] == "hello"
        response = client.post("/api/gestures", json=PEACE, headers=AUTH)
        assert response.status_code == 202, response.text
        assert response.json()["clients"] == 2, response.json()
        for ws in (a, b):
            event = ws.receive_json()
            assert event["type"] == "gesture" and event["gesture"] == "peace", event
            assert event["timestamp"] > 0, "a missing timestamp must be filled in"


def test_an_ai_query_streams_from_ollama_to_the_caller_and_to_websockets(
    backend: BackendFactory, double: OllamaDouble
) -> None:
    client = backend()
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        response = client.post("/api/ai/query", json={"prompt": "what is dixi"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.text.splitlines()]
        pushed = receive_until(ws, "ai_done")
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "ai_start" and kinds[-1] == "ai_done", kinds
    assert kinds.count("ai_chunk") == 5, f"one chunk per word (5) expected: {kinds}"
    assert lines[-1]["text"] == "Dixi heard: what is dixi", lines[-1]
    assert [e["type"] for e in pushed] == kinds, "websocket clients must see the same stream"
    assert double.requests[-1]["model"] == "llama3.2", "the configured model must be asked"


def test_an_ai_query_is_503_with_a_message_when_ollama_is_down(backend: BackendFactory) -> None:
    response = backend(ollama_base_url="http://127.0.0.1:9").post(
        "/api/ai/query", json={"prompt": "hello"}
    )
    assert response.status_code == 503, response.text
    assert "Ollama is unreachable" in response.json()["error"], response.json()


def test_an_ai_query_is_503_when_the_model_is_missing(backend: BackendFactory) -> None:
    response = backend(ollama_model="mistral").post("/api/ai/query", json={"prompt": "hello"})
    assert response.status_code == 503, response.text
    assert "does not have the model 'mistral'" in response.json()["error"], response.json()


def test_an_over_long_or_empty_prompt_is_422(backend: BackendFactory) -> None:
    client = backend()
    long = client.post("/api/ai/query", json={"prompt": "x" * 2001})
    assert long.status_code == 422 and "prompt" in long.json()["error"], long.text
    empty = client.post("/api/ai/query", json={"prompt": ""})
    assert empty.status_code == 422, empty.text
    shorter = backend(max_prompt_chars=10).post("/api/ai/query", json={"prompt": "x" * 11})
    assert shorter.status_code == 422 and "limit is 10" in shorter.json()["error"], shorter.text
    longer = backend(max_prompt_chars=3000).post("/api/ai/query", json={"prompt": "x" * 2500})
    assert longer.status_code == 200, f"MAX_PROMPT_CHARS is the one limit; raising it must work: {longer.text}"


def test_a_trigger_gesture_starts_an_ai_answer_at_most_once_per_interval(
    backend: BackendFactory,
) -> None:
    client = backend(ai_auto_min_interval_seconds=3600)
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        first = client.post("/api/gestures", json=PEACE, headers=AUTH).json()
        second = client.post("/api/gestures", json=PEACE, headers=AUTH).json()
        events = receive_until(ws, "ai_done")
    assert first["ai_triggered"] is True, first
    assert second["ai_triggered"] is False, "the rate limit let a second automatic answer through"
    start = next(e for e in events if e["type"] == "ai_start")
    assert start["trigger"] == "gesture:peace", start
    assert "peace sign" in events[-1]["text"], events[-1]


def test_a_browser_frame_is_recognized_by_vision_and_fanned_out(backend: BackendFactory) -> None:
    client = backend(ai_gesture_prompts={})
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        response = client.post(
            "/api/frames", content=encode(draw_hand(3)), headers={"content-type": "image/jpeg"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["gesture"] == "three", response.json()
        event = ws.receive_json()
    assert event["type"] == "gesture" and event["gesture"] == "three", event
    assert event["source"] == "browser", event


def test_vision_errors_pass_through_and_vision_down_is_503(backend: BackendFactory) -> None:
    bad = backend().post("/api/frames", content=b"hi", headers={"content-type": "text/plain"})
    assert bad.status_code == 415 and "image/jpeg" in bad.json()["error"], bad.text
    down = backend(vision_service_url="http://127.0.0.1:9").post(
        "/api/frames", content=encode(draw_hand(1)), headers={"content-type": "image/jpeg"}
    )
    assert down.status_code == 503 and "vision is unreachable" in down.json()["error"], down.text


def test_a_busy_vision_is_passed_on_as_503_with_its_retry_after(backend: BackendFactory) -> None:
    """Vision answers 503 + Retry-After when a frame waited past its queue deadline; that is not a broken vision (502)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def busy(_: Request) -> JSONResponse:
        return JSONResponse({"error": "busy"}, status_code=503, headers={"Retry-After": "1"})

    async def broken(_: Request) -> JSONResponse:
        return JSONResponse(["not", "an", "object"], status_code=500)

    stub = Starlette(routes=[Route("/api/frames", busy, methods=["POST"]), Route("/broken/api/frames", broken, methods=["POST"])])
    with ThreadedServer(stub) as vision:
        frame = {"content": encode(draw_hand(1)), "headers": {"content-type": "image/jpeg"}}
        answer = backend(vision_service_url=vision.url).post("/api/frames", **frame)
        assert answer.status_code == 503 and answer.headers.get("retry-after") == "1", answer.text
        assert answer.json() == {"error": "busy"}, answer.text
        answer = backend(vision_service_url=vision.url + "/broken").post("/api/frames", **frame)
        assert answer.status_code == 502, answer.text


def test_an_oversized_frame_is_413_at_the_backend(backend: BackendFactory) -> None:
    response = backend(max_frame_bytes=1000).post(
        "/api/frames", content=b"\xff" * 5000, headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 413, response.text


def test_metrics_expose_gestures_queries_and_clients(backend: BackendFactory) -> None:
    client = backend(ai_gesture_prompts={})
    client.post("/api/gestures", json=PEACE, headers=AUTH)
    client.post("/api/ai/query", json={"prompt": "hi"})
    client.post("/api/gestures", json={**PEACE, "source": "camera"}, headers=AUTH)
    text = client.get("/metrics").text
    assert 'dixi_gesture_events_total{gesture="peace",source="camera"} 1.0' in text, text
    assert 'dixi_gesture_events_total{gesture="peace",source="other"} 1.0' in text, (
        "a source the backend does not know must be counted as other, not as a label of its own"
    )
    assert 'dixi_ai_queries_total{outcome="ok",trigger="query"} 1.0' in text, text
    assert "dixi_ws_clients 0.0" in text, text


def test_the_websocket_answers_ping_with_pong(backend: BackendFactory) -> None:
    with backend().websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_text("ping")
        assert ws.receive_json() == {"type": "pong"}


def test_websocket_clients_beyond_the_cap_are_closed(backend: BackendFactory) -> None:
    client: TestClient = backend(ws_max_clients=1)
    with client.websocket_connect("/ws") as first:
        first.receive_json()
        with client.websocket_connect("/ws") as second:
            message = second.receive()
    assert message["type"] == "websocket.close" and message["code"] == 1013, message
