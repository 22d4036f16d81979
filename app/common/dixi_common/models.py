"""Bodies the backend and vision both speak: a frame upload, and where the hand is in it."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

# POST /api/frames takes the image itself as the body; FastAPI cannot infer
# that from the signature, so both services describe it for OpenAPI with this.
FRAME_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class HandPosition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float = Field(ge=0, le=1, description="Palm centre, share of frame width")
    y: float = Field(ge=0, le=1, description="Palm centre, share of frame height")
