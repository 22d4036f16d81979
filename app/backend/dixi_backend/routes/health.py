from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..models import Live, Ready
from .common import ServicesDep

router = APIRouter(prefix="/api/health", tags=["health"])


@router.get("/live", response_model=Live)
async def live() -> Live:
    return Live(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(services: ServicesDep) -> JSONResponse:
    results = await services.readiness()
    failed = [name for name, error in results.items() if error]
    body = Ready(
        status="not_ready" if failed else "ready",
        checks={name: error or "ok" for name, error in results.items()},
        failed=failed,
    )
    return JSONResponse(body.model_dump(), status_code=503 if failed else 200)
