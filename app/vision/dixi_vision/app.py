"""The vision HTTP API: GET /health, POST /api/frames, GET /metrics.

Routers per area (`routes/`) read what the lifespan builds (`Vision`,
services.py) through typed dependencies (deps.py). Errors are JSON
`{"error": ...}` that never echo input (dixi_common.errors), and the server
runs with dixi_common.server's limits (headers, no `Server:` header).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dixi_common import errors, logs
from dixi_common.bodylimit import BodySizeLimit
from dixi_common.server import serve
from fastapi import FastAPI
from pydantic import ValidationError

from .routes import frames, health, metrics
from .services import Vision
from .settings import Settings

log = logging.getLogger("dixi.vision")


def create_app(settings: Settings | None = None, *, start_camera: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Vision]]:
        vision = Vision.build(settings)
        if vision.camera and start_camera:
            vision.camera.start()
        log.info("vision started", extra={"mode": vision.mode})
        try:
            yield {"vision": vision}
        finally:
            if vision.camera:
                vision.camera.stop()

    app = FastAPI(
        title="Dixi vision",
        version="1.0.0",
        description="Hand gesture recognition on camera frames (OpenCV).",
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (health, frames, metrics):
        app.include_router(module.router)
    # Headers and framing overhead on top of the frame itself.
    app.add_middleware(BodySizeLimit, limit=settings.max_frame_bytes + 1024)
    return app


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        # One line that names the setting, not a traceback.
        sys.exit(errors.bad_setting("vision", exc))
    logs.configure("vision", settings.log_level)
    serve(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
