from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from ..models import ErrorBody
from ..services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}
