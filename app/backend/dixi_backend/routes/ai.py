from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..ai import Answer, Busy
from ..deps import AnswersDep, ClientAddress, SettingsDep
from ..models import AiQuery
from .common import errors

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
async def query(
    body: AiQuery, answers: AnswersDep, settings: SettingsDep, client: ClientAddress
) -> StreamingResponse:
    limit = settings.max_prompt_chars
    if len(body.prompt) > limit:
        raise HTTPException(422, f"prompt is {len(body.prompt)} characters; the limit is {limit}")
    try:
        answer = answers.start(body.prompt, "query", client)
    except Busy as exc:
        raise HTTPException(429, str(exc)) from None
    try:
        # Wait for the first chunk before answering so that an Ollama outage
        # is a clean 503 rather than a 200 with a broken stream.
        first = await answer.first()
    except BaseException:
        answer.cancel()
        raise
    if first["type"] == "ai_error":
        raise HTTPException(503, first["error"])
    return AnswerStream(answer, first)


class AnswerStream(StreamingResponse):
    """An answer's events as NDJSON lines.

    However the response ends (the answer finished, or the asker went away
    mid-stream), the answer is cancelled if it is still running, which ends
    it on /ws with ai_error rather than leaving viewers half an answer.
    """

    def __init__(self, answer: Answer, first: dict[str, Any]) -> None:
        super().__init__(_lines(answer, first), media_type=NDJSON)
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.answer.cancel()


async def _lines(answer: Answer, first: dict[str, Any]) -> AsyncIterator[bytes]:
    yield _line(first)
    async for event in answer:
        yield _line(event)


def _line(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, separators=(",", ":")) + "\n").encode()
