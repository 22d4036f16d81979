"""Errors as JSON `{"error": "..."}` with the right status, for every Dixi service.

`install(app)` replaces FastAPI's handlers for HTTP errors and request
validation. A validation error names the first field at fault and what is
wrong with it; the rejected value itself is never echoed back: a value JSON
cannot encode (NaN, Infinity, a lone surrogate) made the old handler answer
500 with a traceback, and echoing input helps nobody but a prober.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    error: str


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Each error's location, message and type: plain strings, whatever the input was."""
    details = []
    for error in errors:
        details.append(
            {
                "loc": [p if isinstance(p, int) else _text(p) for p in error.get("loc", ())],
                "msg": _text(error.get("msg", "invalid")),
                "type": _text(error.get("type", "invalid")),
            }
        )
    return details


def bad_setting(service: str, exc: ValidationError) -> str:
    """A settings error as the one line a service prints before it exits: the env name and what is wrong."""
    first = exc.errors()[0] if exc.errors() else None
    if first is None:
        return f"dixi {service}: bad setting"
    name = ".".join(str(p) for p in first["loc"]).upper()
    return f"dixi {service}: bad setting: {name}: {_text(first['msg'])}"


def _text(value: object) -> str:
    # A lone surrogate in a key or message cannot be encoded as UTF-8.
    return str(value).encode("utf-8", "replace").decode("utf-8")


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = validation_details(exc.errors())
        first = detail[0] if detail else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(
            {"error": f"invalid request: {where}: {first['msg']}", "detail": detail},
            status_code=422,
        )
