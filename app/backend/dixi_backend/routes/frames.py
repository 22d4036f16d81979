from __future__ import annotations

import logging
from typing import Annotated

from dixi_common.models import FRAME_BODY
from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from ..clients import DependencyDown
from ..deps import ServicesDep, VisionDep
from ..models import GestureEvent
from .common import errors

log = logging.getLogger("dixi.backend")

router = APIRouter(prefix="/api", tags=["frames"])



@router.post(
    "/frames",
    openapi_extra=FRAME_BODY,
    responses=errors(413, 415, 422, 502, 503),
    summary="A browser frame, recognized by vision; a found gesture goes to /ws",
)
async def post_frame(
    request: Request,
    vision: VisionDep,
    services: ServicesDep,
    content_type: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    data = await request.body()
    try:
        response = await vision.frame(data, content_type or "application/octet-stream")
    except DependencyDown as exc:
        log.warning("frame not recognized", extra={"error": exc.message, "detail": exc.detail})
        raise HTTPException(503, exc.message) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 503 and isinstance(body, dict):
        # Vision is busy (its queue deadline): the browser may retry, as it says.
        retry = response.headers.get("retry-after")
        return JSONResponse(body, status_code=503, headers={"Retry-After": retry} if retry else None)
    if response.status_code >= 500 or not isinstance(body, dict):
        raise HTTPException(502, f"vision answered {response.status_code} without a JSON result")
    if response.status_code != 200:
        return JSONResponse(body, status_code=response.status_code)
    if body.get("hand_found") and body.get("gesture"):
        event = GestureEvent.model_validate(
            {
                "gesture": body["gesture"],
                "confidence": body.get("confidence", 0.0),
                "hand": body.get("hand"),
                "source": "browser",
            }
        )
        body["ai_triggered"] = await services.gesture(event)
    return JSONResponse(body)
