"""The vision HTTP API: results, bounds and errors."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from dixi_devtools.handgen import draw_hand, encode
from dixi_vision.app import create_app
from dixi_vision.settings import Settings
from fastapi.testclient import TestClient


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be width x height (one compressed black row repeated)."""
    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def test_health_reports_frame_upload_mode_without_a_camera(vision_client: TestClient) -> None:
    response = vision_client.get("/health")
    assert response.status_code == 200, response.text
    assert response.json()["mode"] == "frame-upload", response.json()


def test_a_jpeg_frame_returns_gesture_confidence_position_and_time(
    vision_client: TestClient,
) -> None:
    response = vision_client.post(
        "/api/frames", content=encode(draw_hand(2)), headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hand_found"] is True and body["gesture"] == "peace", body
    assert 0 < body["confidence"] <= 1, body
    assert abs(body["hand"]["x"] - 0.5) < 0.05 and abs(body["hand"]["y"] - 0.6) < 0.05, body
    assert body["processing_ms"] > 0 and (body["width"], body["height"]) == (640, 480), body


def test_a_png_frame_without_a_hand_says_so(vision_client: TestClient) -> None:
    empty = np.full((240, 320, 3), (60, 50, 40), np.uint8)
    response = vision_client.post(
        "/api/frames", content=encode(empty, ".png"), headers={"content-type": "image/png"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hand_found"] is False and body["gesture"] is None and body["hand"] is None, body


def test_a_non_image_content_type_is_refused_with_415(vision_client: TestClient) -> None:
    response = vision_client.post(
        "/api/frames", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415, response.text
    assert "image/jpeg or image/png" in response.json()["error"], response.json()


def test_bytes_that_are_not_an_image_are_refused_with_422(vision_client: TestClient) -> None:
    response = vision_client.post(
        "/api/frames", content=b"GIF89a not really", headers={"content-type": "image/png"}
    )
    assert response.status_code == 422, response.text
    assert "not a JPEG or PNG" in response.json()["error"], response.json()


def test_a_truncated_jpeg_is_refused_with_422(vision_client: TestClient) -> None:
    data = encode(draw_hand(1))[:40]
    response = vision_client.post(
        "/api/frames", content=data, headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"], "a 422 must say what is wrong"


def test_a_png_labelled_as_jpeg_is_refused_with_422(vision_client: TestClient) -> None:
    data = encode(draw_hand(1), ".png")
    response = vision_client.post(
        "/api/frames", content=data, headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 422, response.text
    assert "body is image/png" in response.json()["error"], response.json()


def test_an_oversized_frame_is_refused_with_413_before_decoding(tmp_path: Path) -> None:
    app = create_app(Settings(models_dir=str(tmp_path), max_frame_bytes=10_000))
    with TestClient(app) as client:
        response = client.post(
            "/api/frames",
            content=b"\xff\xd8\xff" + b"\0" * 20_000,
            headers={"content-type": "image/jpeg"},
        )
    assert response.status_code == 413, response.text
    assert "exceeds" in response.json()["error"], response.json()


def test_a_small_file_with_too_many_pixels_is_refused_with_413(vision_client: TestClient) -> None:
    bomb = png_header_only(4000, 3000)  # 12 MP in a few kB
    assert len(bomb) < 100_000, "the test image should be small on the wire"
    response = vision_client.post(
        "/api/frames", content=bomb, headers={"content-type": "image/png"}
    )
    assert response.status_code == 413, response.text
    assert "4000x3000" in response.json()["error"], response.json()


def test_metrics_count_frames_by_outcome(vision_client: TestClient) -> None:
    vision_client.post(
        "/api/frames", content=encode(draw_hand(5)), headers={"content-type": "image/jpeg"}
    )
    vision_client.post("/api/frames", content=b"x", headers={"content-type": "text/plain"})
    text = vision_client.get("/metrics").text
    assert 'dixi_vision_frames_total{outcome="hand"} 1.0' in text, text
    assert 'dixi_vision_frames_total{outcome="rejected_415"} 1.0' in text, text
    assert 'dixi_vision_gestures_total{gesture="open_palm"} 1.0' in text, text


def test_skin_thresholds_are_read_from_the_models_volume(tmp_path: Path) -> None:
    (tmp_path / "gestures.json").write_text(json.dumps({"skin": {"cr_min": 250, "cr_max": 255}}))
    with TestClient(create_app(Settings(models_dir=str(tmp_path)))) as client:
        health = client.get("/health").json()
        body = client.post(
            "/api/frames", content=encode(draw_hand(3)), headers={"content-type": "image/jpeg"}
        ).json()
    assert health["skin_model"].endswith("gestures.json"), health
    assert body["hand_found"] is False, "an impossible Cr range must find no skin at all"


def test_png_dimensions_are_read_without_decoding() -> None:
    from dixi_vision.imaging import dimensions

    assert dimensions(png_header_only(7, 3)) == (7, 3), "PNG IHDR size misread"
    img = np.zeros((33, 47, 3), np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok and dimensions(buf.tobytes()) == (47, 33), "JPEG SOF size misread"
