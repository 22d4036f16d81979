from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..deps import HubDep, ServicesDep, SettingsDep
from ..models import Accepted, GestureEvent
from .common import errors

router = APIRouter(prefix="/api", tags=["gestures"])
bearer = HTTPBearer(auto_error=False, description="The shared GESTURE_TOKEN")


def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    expected = settings.gesture_token
    if expected is None or not expected.get_secret_value():
        # Never run open: without a configured token nobody may post events.
        raise HTTPException(403, "gesture ingestion is disabled: GESTURE_TOKEN is not configured")
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(
        credentials.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})


@router.post(
    "/gestures",
    response_model=Accepted,
    status_code=202,
    dependencies=[Depends(require_token)],
    responses=errors(401, 403, 413, 422),
    summary="A gesture event from vision; fanned out to /ws",
)
async def post_gesture(event: GestureEvent, services: ServicesDep, hub: HubDep) -> Accepted:
    triggered = await services.gesture(event)
    return Accepted(accepted=True, clients=hub.client_count, ai_triggered=triggered)
