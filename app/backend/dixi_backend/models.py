"""Request and response bodies."""

from __future__ import annotations

from typing import Literal

from dixi_common.models import HandPosition
from pydantic import BaseModel, ConfigDict, Field

Gesture = Literal["fist", "point", "peace", "three", "four", "open_palm"]


class GestureEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gesture: Gesture
    confidence: float = Field(ge=0, le=1)
    hand: HandPosition | None = None
    source: str = Field(default="vision", min_length=1, max_length=64, pattern=r"^[\w.:/-]+$")
    timestamp: float | None = Field(default=None, ge=0)


class Accepted(BaseModel):
    accepted: bool
    clients: int
    ai_triggered: bool


class AiQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Its length limit is MAX_PROMPT_CHARS, checked by the route: one limit, a setting.
    prompt: str = Field(min_length=1, description="At most MAX_PROMPT_CHARS (2000) characters")


class Live(BaseModel):
    status: Literal["ok"]


class EventBusHealth(BaseModel):
    state: Literal["disabled", "connecting", "up", "down"]
    detail: str | None = None


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
    failed: list[str]
    # Reported, never a reason for 503: see routes/health.py.
    event_bus: EventBusHealth
