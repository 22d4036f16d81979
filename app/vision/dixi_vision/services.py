"""What the vision routes work with, built once per app by its lifespan.

The recognizer and its skin thresholds, the worker slots that bound
concurrent CPU work, the metrics, and the optional camera loop.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import anyio
from dixi_common.models import HandPosition

from .camera import CameraLoop, backend_sink
from .gestures import GestureRecognizer, SkinModel
from .imaging import decode_frame
from .metrics import Metrics
from .models import FrameResult
from .settings import Settings

log = logging.getLogger("dixi.vision")


def load_skin_model(models_dir: str) -> tuple[SkinModel, str]:
    """Skin thresholds from MODELS_DIR/gestures.json if the volume carries one."""
    path = Path(models_dir) / "gestures.json"
    if not path.is_file():
        return SkinModel(), "default"
    try:
        data = json.loads(path.read_text())
        return SkinModel(**{k: int(v) for k, v in data.get("skin", {}).items()}), str(path)
    except (ValueError, TypeError) as exc:
        log.error("ignoring unreadable gestures.json", extra={"path": str(path), "error": str(exc)})
        return SkinModel(), "default (gestures.json unreadable)"


@dataclass
class Vision:
    settings: Settings
    recognizer: GestureRecognizer
    skin_source: str
    # One token per concurrent recognition (WORKERS); a frame waits here for one.
    workers: anyio.CapacityLimiter
    metrics: Metrics
    camera: CameraLoop | None

    @classmethod
    def build(cls, settings: Settings) -> Vision:
        skin, skin_source = load_skin_model(settings.models_dir)
        recognizer = GestureRecognizer(skin=skin)
        camera = None
        if settings.camera_source:
            token = settings.gesture_token.get_secret_value() if settings.gesture_token else None
            camera = CameraLoop(
                source=settings.camera_source,
                recognizer=recognizer,
                sink=backend_sink(settings.backend_url, token),
                fps=settings.camera_fps,
                retry_seconds=settings.camera_retry_seconds,
                repeat_seconds=settings.camera_repeat_seconds,
            )
        return cls(
            settings=settings,
            recognizer=recognizer,
            skin_source=skin_source,
            workers=anyio.CapacityLimiter(settings.workers),
            metrics=Metrics(),
            camera=camera,
        )

    @property
    def mode(self) -> str:
        return "camera" if self.camera else "frame-upload"

    def recognize(self, data: bytes, content_type: str | None) -> FrameResult:
        """Decode and recognize one frame (CPU work: run it in a worker thread); FrameError if refused."""
        settings = self.settings
        with self.metrics.latency.time():
            img = decode_frame(
                data,
                content_type,
                settings.max_frame_bytes,
                settings.max_frame_pixels,
                max_jpeg_scans=settings.max_jpeg_scans,
            )
            result = self.recognizer.recognize(img)
        hand = (
            HandPosition(x=result.hand_x, y=result.hand_y)
            if result.hand_x is not None and result.hand_y is not None
            else None
        )
        return FrameResult(
            hand_found=result.hand_found,
            gesture=result.gesture,
            fingers=result.fingers,
            confidence=result.confidence,
            hand=hand,
            width=result.width,
            height=result.height,
            processing_ms=result.processing_ms,
        )
