"""The events the backend sends to WebSocket clients, as a schema.

Every event a replica accepts is built in `services.py`; events that arrive
from the event bus were built by another replica, or by anything else that
can publish on the channel (an old or newer backend, a stray client). Those
are checked against this schema before they reach a browser: a message that
does not match is dropped and counted, never forwarded.

A new event type must be added here, and the page (frontend/site/assets/app.js)
taught to show it; a replica that does not know a type yet drops it
(`dixi_event_bus_malformed_total{reason="schema"}`) rather than forward
something it cannot vouch for.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from dixi_common.models import HandPosition
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .models import Gesture

# An answer's text is whatever the model says; this bounds one event, far
# above a real answer (AI_MAX_TOKENS is at most 4096 tokens).
MAX_TEXT = 64 * 1024
_ID = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GestureSeen(_Event):
    type: Literal["gesture"]
    gesture: Gesture
    confidence: float = Field(ge=0, le=1)
    hand: HandPosition | None = None
    source: str = Field(min_length=1, max_length=64, pattern=r"^[\w.:/-]+$")
    timestamp: float = Field(ge=0)


class AiStart(_Event):
    type: Literal["ai_start"]
    id: str = _ID
    trigger: str = Field(min_length=1, max_length=64, pattern=r"^[\w:-]+$")
    prompt: str = Field(max_length=MAX_TEXT)


class AiChunk(_Event):
    type: Literal["ai_chunk"]
    id: str = _ID
    text: str = Field(max_length=MAX_TEXT)


class AiDone(_Event):
    type: Literal["ai_done"]
    id: str = _ID
    text: str = Field(max_length=MAX_TEXT)


class AiError(_Event):
    type: Literal["ai_error"]
    id: str = _ID
    error: str = Field(max_length=MAX_TEXT)


Event = Annotated[
    GestureSeen | AiStart | AiChunk | AiDone | AiError, Field(discriminator="type")
]
EVENT: TypeAdapter[GestureSeen | AiStart | AiChunk | AiDone | AiError] = TypeAdapter(Event)


def validated(event: Any) -> dict[str, Any]:
    """`event` as the schema reads it; raises pydantic.ValidationError when it does not match."""
    return EVENT.validate_python(event).model_dump(exclude_none=False)
