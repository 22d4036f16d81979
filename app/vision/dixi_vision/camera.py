"""Optional camera loop: frames -> gestures -> POST BACKEND_URL/api/gestures.

A camera that cannot be opened or stops delivering frames is retried after
a pause; it never stops the service. Runs in a daemon thread because
OpenCV's capture API blocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import httpx
import numpy as np

from .gestures import GestureRecognizer, Recognition

log = logging.getLogger("dixi.vision.camera")

Sink = Callable[[dict[str, Any]], None]


@dataclass
class CameraStatus:
    source: str
    connected: bool = False
    frames: int = 0
    events_sent: int = 0
    send_failures: int = 0
    open_attempts: int = 0
    last_error: str | None = None


def event_from(result: Recognition, source: str) -> dict[str, Any]:
    return {
        "gesture": result.gesture,
        "confidence": result.confidence,
        "hand": {"x": result.hand_x, "y": result.hand_y},
        "source": source,
        "timestamp": time.time(),
    }


def backend_sink(backend_url: str, token: str | None, timeout: float = 2.0) -> Sink:
    client = httpx.Client(base_url=backend_url, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def send(event: dict[str, Any]) -> None:
        response = client.post("/api/gestures", json=event, headers=headers)
        response.raise_for_status()

    return send


@dataclass
class CameraLoop:
    source: str
    recognizer: GestureRecognizer
    sink: Sink
    fps: float = 10.0
    retry_seconds: float = 2.0
    repeat_seconds: float = 1.0
    status: CameraStatus = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.status = CameraStatus(source=self.source)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="camera", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _open(self) -> cv2.VideoCapture:
        target: int | str = int(self.source) if self.source.isdigit() else self.source
        return cv2.VideoCapture(target)

    def run(self) -> None:
        interval = 1.0 / self.fps
        while not self._stop.is_set():
            self.status.open_attempts += 1
            capture = self._open()
            if not capture.isOpened():
                self._lost(f"cannot open camera source {self.source!r}")
                continue
            self.status.connected = True
            self.status.last_error = None
            log.info("camera opened", extra={"source": self.source})
            last_gesture: str | None = None
            last_sent = 0.0
            try:
                while not self._stop.is_set():
                    started = time.monotonic()
                    ok, frame = capture.read()
                    if not ok or frame is None:
                        self._lost("camera stopped delivering frames")
                        break
                    self.status.frames += 1
                    result = self.recognizer.recognize(np.asarray(frame, dtype=np.uint8))
                    now = time.monotonic()
                    if result.hand_found and (
                        result.gesture != last_gesture or now - last_sent >= self.repeat_seconds
                    ):
                        # The source may be a URL with credentials: never forward it.
                        self._send(event_from(result, "camera"))
                        last_gesture, last_sent = result.gesture, now
                    elif not result.hand_found:
                        last_gesture = None
                    self._stop.wait(max(0.0, interval - (time.monotonic() - started)))
            finally:
                capture.release()

    def _send(self, event: dict[str, Any]) -> None:
        try:
            self.sink(event)
            self.status.events_sent += 1
        except Exception as exc:  # the backend being down must not stop the camera
            self.status.send_failures += 1
            log.warning("gesture event not delivered", extra={"error": str(exc)})

    def _lost(self, message: str) -> None:
        self.status.connected = False
        self.status.last_error = message
        log.warning(message + "; retrying", extra={"retry_seconds": self.retry_seconds})
        self._stop.wait(self.retry_seconds)
