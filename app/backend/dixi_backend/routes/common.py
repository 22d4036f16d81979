"""What every router's OpenAPI description shares."""

from __future__ import annotations

from typing import Any

from dixi_common.errors import ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for error statuses: each is `{"error": "..."}`."""
    return {code: {"model": ErrorBody} for code in codes}
