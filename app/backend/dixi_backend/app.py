"""The backend HTTP/WebSocket API (port 3001).

Routes: /api/health/live, /api/health/ready, /api/gestures, /api/frames
(proxied to vision), /api/ai/query (streamed from Ollama), /ws, /metrics.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dixi_common import logs
from dixi_common.bodylimit import BodySizeLimit
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .bus import BusConfigError
from .routes import ai, frames, gestures, health, ws
from .services import Services
from .settings import Settings

log = logging.getLogger("dixi.backend")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings)
        app.state.services = services
        services.start()
        log.info(
            "backend started",
            extra={
                "vision": settings.vision_service_url,
                "ollama": settings.ollama_base_url,
                "model": settings.ollama_model,
                "gestures_enabled": settings.gesture_token is not None,
                "event_bus": services.bus.config.where if services.bus else None,
            },
        )
        yield
        await services.aclose()

    app = FastAPI(
        title="Dixi backend",
        version="1.0.0",
        description="Gesture events and AI answers for the Dixi projection.",
        lifespan=lifespan,
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = json.loads(json.dumps(exc.errors(), default=str))
        first = detail[0] if detail else {}
        where = ".".join(str(p) for p in first.get("loc", []))
        return JSONResponse(
            {"error": f"invalid request: {where}: {first.get('msg', 'invalid')}", "detail": detail},
            status_code=422,
        )

    for module in (health, gestures, frames, ai, ws):
        app.include_router(module.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        services: Services = request.app.state.services
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        BodySizeLimit,
        limit=64 * 1024,
        per_path={
            "/api/gestures": settings.max_gesture_bytes,
            "/api/frames": settings.max_frame_bytes + 1024,
        },
    )
    return app


def main() -> None:
    import uvicorn

    try:
        settings = Settings()
        settings.bus_config()
    except (ValidationError, BusConfigError) as exc:
        # One line that names the setting, not a traceback.
        sys.exit(f"dixi backend: bad setting: {one_line(exc)}")
    logs.configure("backend", settings.log_level, settings.log_file)
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "3001")),
        log_config=None,
        proxy_headers=True,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )


def one_line(exc: ValidationError | BusConfigError) -> str:
    if isinstance(exc, BusConfigError):
        return str(exc)
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first["loc"]).upper()
    return f"{name}: {first['msg']}"


if __name__ == "__main__":
    main()
