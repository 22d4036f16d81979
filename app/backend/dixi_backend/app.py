"""The backend HTTP/WebSocket API (port 3001).

Routes: /api/health/live, /api/health/ready, /api/gestures, /api/frames
(proxied to vision), /api/ai/query (streamed from Ollama), /ws, /metrics.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dixi_common import errors, logs, server
from dixi_common.bodylimit import BodySizeLimit
from fastapi import FastAPI
from pydantic import ValidationError

from .bus import BusConfigError
from .routes import ai, frames, gestures, health, metrics, ws
from .services import Services
from .settings import Settings

log = logging.getLogger("dixi.backend")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Services]]:
        services = Services.build(settings)
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
        # Every request and WebSocket reads it as state (deps.py).
        yield {"services": services}
        await services.aclose()

    app = FastAPI(
        title="Dixi backend",
        version="1.0.0",
        description="Gesture events and AI answers for the Dixi projection.",
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (health, gestures, frames, ai, ws, metrics):
        app.include_router(module.router)
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
    try:
        settings = Settings()
        settings.bus_config()
    except (ValidationError, BusConfigError) as exc:
        # One line that names the setting, not a traceback.
        sys.exit(
            f"dixi backend: bad setting: {exc}"
            if isinstance(exc, BusConfigError)
            else errors.bad_setting("backend", exc)
        )
    logs.configure(
        "backend",
        settings.log_level,
        settings.log_file,
        max_bytes=settings.log_file_max_bytes,
        backups=settings.log_file_backups,
    )
    server.serve(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )



if __name__ == "__main__":
    main()
