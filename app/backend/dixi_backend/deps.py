"""The routes' typed dependencies.

Each takes an HTTPConnection, so the same dependency serves HTTP routes and
/ws alike: one way to reach the services, which the lifespan yields as state
(`Services`, built once per app). A route asks for the narrowest one it needs.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, WebSocketException
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from .ai import Answers
from .clients import VisionClient
from .hub import Hub, address_key
from .metrics import Metrics
from .services import Services
from .settings import Settings


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_hub(services: ServicesDep) -> Hub:
    return services.hub


def get_answers(services: ServicesDep) -> Answers:
    return services.ai


def get_vision(services: ServicesDep) -> VisionClient:
    return services.vision


def get_metrics(services: ServicesDep) -> Metrics:
    return services.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
HubDep = Annotated[Hub, Depends(get_hub)]
AnswersDep = Annotated[Answers, Depends(get_answers)]
VisionDep = Annotated[VisionClient, Depends(get_vision)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def client_address(conn: HTTPConnection) -> str:
    """The client's address as per-address limits count it.

    uvicorn's proxy_headers has already put the client named by a trusted
    proxy's X-Forwarded-For into the scope (FORWARDED_ALLOW_IPS).
    """
    return address_key(conn.client.host if conn.client else None)


ClientAddress = Annotated[str, Depends(client_address)]


def same_origin(conn: HTTPConnection, settings: SettingsDep, metrics: MetricsDep) -> None:
    """Refuses a browser whose page is on another site (cross-site WebSocket hijacking).

    A browser always sends Origin; other clients need not, and pass. The
    origin's host must be the one the request was made to (Host, or
    X-Forwarded-Host from a proxy that rewrote Host), or the origin one of
    WS_ALLOWED_ORIGINS. Ports are not compared: nginx forwards `Host: $host`,
    which has none. A page cannot set Host or X-Forwarded-Host on a
    WebSocket, so neither helps a foreign page.
    """
    origin = conn.headers.get("origin")
    if origin is None or origin.rstrip("/") in {o.rstrip("/") for o in settings.ws_allowed_origins}:
        return
    origin_host = _hostname(origin)
    served = {
        _hostname(f"//{value.strip()}")
        for header in ("host", "x-forwarded-host")
        for value in conn.headers.get(header, "").split(",")
        if value.strip()
    }
    if origin_host is not None and origin_host in served:
        return
    metrics.ws_refused.labels(reason="origin").inc()
    if conn.scope["type"] == "websocket":
        raise WebSocketException(WS_1008_POLICY_VIOLATION, "cross-origin WebSocket refused")
    raise HTTPException(403, "cross-origin request refused")


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None
