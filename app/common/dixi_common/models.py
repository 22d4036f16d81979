"""Bodies the backend and vision both speak: where the hand is in a frame."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HandPosition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float = Field(ge=0, le=1, description="Palm centre, share of frame width")
    y: float = Field(ge=0, le=1, description="Palm centre, share of frame height")
