"""The vision HTTP API: GET /health, POST /api/frames, GET /metrics."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
from dixi_common import logs
from dixi_common.bodylimit import BodySizeLimit
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .camera import CameraLoop, backend_sink
from .gestures import GESTURES, GestureRecognizer, SkinModel
from .imaging import FrameError, decode_frame
from .settings import Settings

log = logging.getLogger("dixi.vision")


class HandPosition(BaseModel):
    x: float = Field(ge=0, le=1, description="Palm centre, share of frame width")
    y: float = Field(ge=0, le=1, description="Palm centre, share of frame height")


class FrameResult(BaseModel):
    hand_found: bool
    gesture: str | None = Field(description=f"One of {', '.join(GESTURES)}; null with no hand")
    fingers: int | None
    confidence: float = Field(ge=0, le=1)
    hand: HandPosition | None
    width: int
    height: int
    processing_ms: float


class ErrorBody(BaseModel):
    error: str


class Health(BaseModel):
    status: str
    mode: str
    camera: dict[str, Any] | None
    skin_model: str


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


FRAME_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "Frame too large (bytes or pixels)"},
    415: {"model": ErrorBody, "description": "Not image/jpeg or image/png"},
    422: {"model": ErrorBody, "description": "Not a decodable image"},
}


def create_app(settings: Settings | None = None, *, start_camera: bool = True) -> FastAPI:
    settings = settings or Settings()
    skin, skin_source = load_skin_model(settings.models_dir)
    recognizer = GestureRecognizer(skin=skin)
    limiter = anyio.CapacityLimiter(settings.workers)
    registry = CollectorRegistry()
    frames_total = Counter(
        "dixi_vision_frames_total", "Frames processed", ["outcome"], registry=registry
    )
    gestures_total = Counter(
        "dixi_vision_gestures_total", "Gestures recognized", ["gesture"], registry=registry
    )
    latency = Histogram(
        "dixi_vision_processing_seconds",
        "Decode + recognition time per frame",
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        registry=registry,
    )
    camera: CameraLoop | None = None
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

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if camera and start_camera:
            camera.start()
        log.info("vision started", extra={"mode": "camera" if camera else "frame-upload"})
        yield
        if camera:
            camera.stop()

    app = FastAPI(
        title="Dixi vision",
        version="1.0.0",
        description="Hand gesture recognition on camera frames (OpenCV).",
        lifespan=lifespan,
    )
    app.state.camera = camera
    app.state.settings = settings

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {
                "error": "request is invalid",
                "detail": json.loads(json.dumps(exc.errors(), default=str)),
            },
            status_code=422,
        )

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(
            status="ok",
            mode="camera" if camera else "frame-upload",
            camera=vars(camera.status) if camera else None,
            skin_model=skin_source,
        )

    @app.post(
        "/api/frames",
        response_model=FrameResult,
        responses=ERRORS,
        openapi_extra=FRAME_BODY,
        summary="Recognize the gesture in one JPEG or PNG frame",
    )
    async def frames(
        request: Request,
        content_type: Annotated[str | None, Header()] = None,
    ) -> FrameResult | JSONResponse:
        data = await request.body()

        def work() -> FrameResult:
            with latency.time():
                img = decode_frame(
                    data, content_type, settings.max_frame_bytes, settings.max_frame_pixels
                )
                result = recognizer.recognize(img)
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

        try:
            out = await anyio.to_thread.run_sync(work, limiter=limiter)
        except FrameError as exc:
            frames_total.labels(outcome=f"rejected_{exc.status}").inc()
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        frames_total.labels(outcome="hand" if out.hand_found else "no_hand").inc()
        if out.gesture:
            gestures_total.labels(gesture=out.gesture).inc()
        return out

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # Headers and framing overhead on top of the frame itself.
    app.add_middleware(BodySizeLimit, limit=settings.max_frame_bytes + 1024)
    return app


def main() -> None:
    import uvicorn

    settings = Settings()
    logs.configure("vision", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "5000")),
        log_config=None,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
