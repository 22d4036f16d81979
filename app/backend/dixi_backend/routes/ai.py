from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from ..deps import DependencyDown
from ..models import AiQuery
from .common import ServicesDep, errors

router = APIRouter(prefix="/api/ai", tags=["ai"])

NDJSON = "application/x-ndjson"


@router.post(
    "/query",
    responses={
        200: {
            "description": "NDJSON lines: ai_start, ai_chunk..., then ai_done or ai_error",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
        **errors(413, 422, 429, 503),
    },
    response_class=StreamingResponse,
    summary="Ask the AI; the answer streams back and to /ws",
)
async def query(body: AiQuery, services: ServicesDep) -> StreamingResponse:
    limit = services.settings.max_prompt_chars
    if len(body.prompt) > limit:
        raise HTTPException(422, f"prompt is {len(body.prompt)} characters; the limit is {limit}")
    if services.ai_slots.locked():
        raise HTTPException(429, "too many AI queries in flight; try again shortly")
    await services.ai_slots.acquire()
    events = services.answer(body.prompt, trigger="query")
    try:
        # Wait for the first chunk before answering so that an Ollama outage
        # is a clean 503 rather than a 200 with a broken stream.
        first = await anext(events)
    except DependencyDown as exc:
        services.ai_slots.release()
        raise HTTPException(503, exc.message) from None
    except BaseException:
        services.ai_slots.release()
        raise

    async def lines() -> AsyncIterator[bytes]:
        try:
            yield _line(first)
            async for event in events:
                yield _line(event)
        finally:
            services.ai_slots.release()

    return StreamingResponse(lines(), media_type=NDJSON)


def _line(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, separators=(",", ":")) + "\n").encode()
