from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import ServicesDep
from ..models import EventBusHealth, Live, Ready

router = APIRouter(prefix="/api/health", tags=["health"])


@router.get("/live", response_model=Live)
async def live() -> Live:
    return Live(status="ok")


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "A dependency failed; `failed` names it"}},
)
async def ready(services: ServicesDep, response: Response) -> Ready:
    results = await services.readiness()
    failed = [name for name, error in results.items() if error]
    # The event bus is reported but never fails readiness. Every replica
    # shares the one bus, so a bus outage would turn every replica 503 at
    # once and the load balancer would take them all out: a full outage
    # instead of a degraded one, where each replica still serves its own
    # clients (bus.py). Its state is in the body, in `dixi_event_bus_up`, and
    # in the logs; alert on those.
    bus = services.bus_status()
    response.status_code = 503 if failed else 200
    return Ready(
        status="not_ready" if failed else "ready",
        checks={name: error or "ok" for name, error in results.items()},
        failed=failed,
        event_bus=EventBusHealth(state=bus.state.value, detail=bus.detail),
    )
