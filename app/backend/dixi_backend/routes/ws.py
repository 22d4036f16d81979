"""/ws: events out; in, only "ping" (answered with a pong).

A binary message is refused with close code 1003. The handler returns as
soon as the hub lets go of the client (dropped for being slow, or its socket
failed), not when the peer next sends something, so a dropped client's slot
is freed as its socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Depends, WebSocket
from starlette.status import WS_1003_UNSUPPORTED_DATA

from ..deps import ClientAddress, HubDep, MetricsDep, same_origin
from ..hub import FULL_CLOSE_CODE, FULL_REASON, Client

router = APIRouter()

HELLO = '{"type":"hello"}'
PONG = '{"type":"pong"}'


@router.websocket("/ws", dependencies=[Depends(same_origin)])
async def events(
    websocket: WebSocket, hub: HubDep, address: ClientAddress, metrics: MetricsDep
) -> None:
    await websocket.accept()
    # Checked and added with no await in between: concurrent handlers cannot
    # all pass the check before any of them is counted.
    refusal = hub.refusal(address)
    if refusal:
        metrics.ws_refused.labels(reason="full" if refusal == FULL_REASON else "address").inc()
        await websocket.close(code=FULL_CLOSE_CODE, reason=refusal)
        return
    client = hub.add(websocket, address)
    client.queue.put_nowait(HELLO)
    reader = asyncio.create_task(_read(websocket, client))
    try:
        await client.gone.wait()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await hub.remove(client)


async def _read(websocket: WebSocket, client: Client) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                with contextlib.suppress(RuntimeError):
                    await websocket.close(
                        WS_1003_UNSUPPORTED_DATA, "binary messages are not accepted"
                    )
                return
            if message.get("text") == "ping":
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.put_nowait(PONG)
    except (RuntimeError, OSError):
        return  # the socket was closed under us (a dropped slow client)
    finally:
        client.gone.set()
