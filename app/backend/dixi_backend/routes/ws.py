from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..hub import FULL_CLOSE_CODE
from ..services import Services

router = APIRouter()


@router.websocket("/ws")
async def events(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    if services.hub.is_full():
        await websocket.close(code=FULL_CLOSE_CODE, reason="too many clients")
        return
    client = services.hub.add(websocket)
    client.queue.put_nowait('{"type":"hello"}')
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while not client.dropped:
                message = await websocket.receive_text()
                if message == "ping":
                    with contextlib.suppress(Exception):
                        client.queue.put_nowait('{"type":"pong"}')
    except RuntimeError:
        pass  # the socket was closed under us (a dropped slow client)
    finally:
        await services.hub.remove(client)
