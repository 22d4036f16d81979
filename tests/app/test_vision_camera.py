"""The optional camera loop: frames to events, and a lost camera is retried."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
from dixi_devtools.handgen import draw_hand
from dixi_vision.camera import CameraLoop
from dixi_vision.gestures import GestureRecognizer


def write_video(path: Path, fingers: list[int]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for count in fingers:
        writer.write(draw_hand(count, width=320, height=240, palm_radius=30))
    writer.release()


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_camera_frames_become_gesture_events_sent_on_change(tmp_path: Path) -> None:
    video = tmp_path / "camera.avi"
    write_video(video, [5] * 5 + [2] * 5)
    events: list[dict[str, Any]] = []
    loop = CameraLoop(
        source=str(video),
        recognizer=GestureRecognizer(),
        sink=events.append,
        fps=200,
        retry_seconds=0.05,
        repeat_seconds=60,
    )
    loop.start()
    try:
        assert wait_for(lambda: len(events) >= 2), f"expected two events, got {events}"
    finally:
        loop.stop()
    gestures = [e["gesture"] for e in events]
    assert gestures[:2] == ["open_palm", "peace"], f"a change of gesture must emit once: {gestures}"
    assert events[0]["source"] == "camera", events[0]
    assert 0 <= events[0]["hand"]["x"] <= 1, events[0]


def test_a_camera_that_cannot_be_opened_is_retried_and_never_fatal(tmp_path: Path) -> None:
    loop = CameraLoop(
        source=str(tmp_path / "no-such-camera.avi"),
        recognizer=GestureRecognizer(),
        sink=lambda e: None,
        retry_seconds=0.02,
    )
    loop.start()
    try:
        assert wait_for(lambda: loop.status.open_attempts >= 3), "the camera was not retried"
        assert loop._thread is not None and loop._thread.is_alive(), "the loop died"
    finally:
        loop.stop()
    assert loop.status.connected is False and "cannot open" in (loop.status.last_error or "")


def test_a_failing_backend_does_not_stop_the_camera(tmp_path: Path) -> None:
    video = tmp_path / "camera.avi"
    write_video(video, [1] * 5 + [3] * 5)

    def failing(_: dict[str, Any]) -> None:
        raise ConnectionError("backend down")

    loop = CameraLoop(
        source=str(video),
        recognizer=GestureRecognizer(),
        sink=failing,
        fps=200,
        retry_seconds=0.05,
        repeat_seconds=60,
    )
    loop.start()
    try:
        assert wait_for(lambda: loop.status.send_failures >= 2), "send failures not counted"
        assert loop._thread is not None and loop._thread.is_alive(), "a send failure killed it"
    finally:
        loop.stop()
