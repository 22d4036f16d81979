from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from ..deps import DependencyDown
from ..models import GestureEvent
from .common import ServicesDep, errors

router = APIRouter(prefix="/api", tags=["frames"])

FRAME_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/frames",
    openapi_extra=FRAME_BODY,
    responses=errors(413, 415, 422, 502, 503),
    summary="A browser frame, recognized by vision; a found gesture goes to /ws",
)
async def post_frame(
    request: Request,
    services: ServicesDep,
    content_type: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    data = await request.body()
    try:
        response = await services.vision.frame(data, content_type or "application/octet-stream")
    except DependencyDown as exc:
        raise HTTPException(503, exc.message) from None
    try:
        body = response.json()
    except ValueError:
        body = None
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
