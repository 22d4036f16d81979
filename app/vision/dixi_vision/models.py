"""Vision's response bodies; HandPosition and ErrorBody are shared with the backend (dixi_common)."""

from __future__ import annotations

from typing import Any

from dixi_common.models import HandPosition
from pydantic import BaseModel, Field

from .gestures import GESTURES


class FrameResult(BaseModel):
    hand_found: bool
    gesture: str | None = Field(description=f"One of {', '.join(GESTURES)}; null with no hand")
    fingers: int | None
    confidence: float = Field(ge=0, le=1)
    hand: HandPosition | None
    width: int
    height: int
    processing_ms: float


class Health(BaseModel):
    status: str
    mode: str
    camera: dict[str, Any] | None
    skin_model: str
