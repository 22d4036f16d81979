"""POST /api/frames: one JPEG or PNG frame in, the gesture in it out.

Recognition is CPU work in a thread, at most WORKERS at a time; the other
frames wait for a slot. A waiting frame is dropped rather than processed
for nobody once it has waited FRAME_QUEUE_SECONDS (the backend stops
listening after 2 s; the client gets 503) or as soon as its client leaves:
40 concurrent frames of which the backend answered 15 with 503 were all
processed (issue 8). Drops are counted in dixi_vision_frames_total
(outcome dropped_deadline or dropped_disconnected). Work already running in
a thread is not interrupted: it cannot be.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from dixi_common.errors import ErrorBody
from dixi_common.models import FRAME_BODY
from fastapi import APIRouter, Header, HTTPException, Request

from ..deps import VisionDep
from ..imaging import FrameError
from ..models import FrameResult
from ..services import Vision

router = APIRouter(prefix="/api", tags=["frames"])

ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "Frame too large (bytes or pixels)"},
    415: {"model": ErrorBody, "description": "Not image/jpeg or image/png"},
    422: {"model": ErrorBody, "description": "Not a decodable image, or too many JPEG scans"},
    503: {"model": ErrorBody, "description": "No worker free within FRAME_QUEUE_SECONDS"},
}
RETRY = {"Retry-After": "1"}


@router.post(
    "/frames",
    response_model=FrameResult,
    responses=ERRORS,
    openapi_extra=FRAME_BODY,
    summary="Recognize the gesture in one JPEG or PNG frame",
)
async def post_frame(
    request: Request,
    vision: VisionDep,
    content_type: Annotated[str | None, Header()] = None,
) -> FrameResult:
    data = await request.body()
    frames = vision.metrics.frames
    async with worker(request, vision):
        try:
            result = await anyio.to_thread.run_sync(vision.recognize, data, content_type)
        except FrameError as exc:
            frames.labels(outcome=f"rejected_{exc.status}").inc()
            raise HTTPException(exc.status, exc.message) from None
    frames.labels(outcome="hand" if result.hand_found else "no_hand").inc()
    if result.gesture:
        vision.metrics.gestures.labels(gesture=result.gesture).inc()
    return result


@asynccontextmanager
async def worker(request: Request, vision: Vision) -> AsyncIterator[None]:
    """Holds one of the WORKERS slots; HTTPException(503) for a frame nobody waits for any more."""
    wait = vision.settings.frame_queue_seconds
    frames = vision.metrics.frames
    acquired = gone = False
    # The client is watched while the frame waits, not asked once when a slot
    # frees: uvicorn stops reading a connection whose body it holds (past
    # 64 KiB), so a single `request.is_disconnected()` only restarts reading
    # and says "still there". That let 10 of 40 abandoned 1 MB frames through.
    async with anyio.create_task_group() as group:

        async def watch_client() -> None:
            nonlocal gone
            while (await request.receive())["type"] != "http.disconnect":
                pass
            gone = True
            group.cancel_scope.cancel()

        group.start_soon(watch_client)
        with anyio.move_on_after(wait):
            await vision.workers.acquire()
            acquired = True
        group.cancel_scope.cancel()
    if gone:
        if acquired:
            vision.workers.release()
        frames.labels(outcome="dropped_disconnected").inc()
        raise HTTPException(503, "the client left before its frame was processed")
    if not acquired:
        frames.labels(outcome="dropped_deadline").inc()
        raise HTTPException(
            503,
            f"vision is busy: no worker was free within {wait:g} s (FRAME_QUEUE_SECONDS)",
            headers=RETRY,
        )
    try:
        yield
    finally:
        vision.workers.release()
