"""WebSocket fan-out where one slow client never delays the others.

Publishing never awaits a socket: each client has a bounded queue drained
by its own sender task. A client whose queue is full is dropped with close
code 1013 (try again later); memory is bounded by queue size x clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("dixi.backend.ws")

SLOW_CLIENT_CLOSE_CODE = 1013
SLOW_CLIENT_REASON = "too slow: event queue full"
FULL_CLOSE_CODE = 1013


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(eq=False)
class Client:
    socket: Socket
    queue: asyncio.Queue[str]
    sender: asyncio.Task[None] | None = None
    dropped: bool = False
    sent: int = 0


@dataclass
class HubStats:
    published: int = 0
    dropped_clients: int = 0


@dataclass
class Hub:
    queue_size: int = 256
    max_clients: int = 1000
    close_timeout: float = 1.0
    on_change: Callable[[int], None] | None = None
    on_drop: Callable[[], None] | None = None
    stats: HubStats = field(default_factory=HubStats)
    _clients: set[Client] = field(default_factory=set)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def is_full(self) -> bool:
        return len(self._clients) >= self.max_clients

    def add(self, socket: Socket) -> Client:
        client = Client(socket=socket, queue=asyncio.Queue(maxsize=self.queue_size))
        client.sender = asyncio.create_task(self._drain(client))
        self._clients.add(client)
        self._changed()
        return client

    async def remove(self, client: Client) -> None:
        self._clients.discard(client)
        self._changed()
        if client.sender and client.sender is not asyncio.current_task():
            client.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await client.sender

    def publish(self, event: dict[str, Any]) -> None:
        text = json.dumps(event, separators=(",", ":"))
        self.stats.published += 1
        for client in list(self._clients):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(client)

    async def _drain(self, client: Client) -> None:
        try:
            while True:
                text = await client.queue.get()
                await client.socket.send_text(text)
                client.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # The peer went away; the receive side of the endpoint cleans up.
            self._clients.discard(client)
            self._changed()

    def _drop(self, client: Client) -> None:
        client.dropped = True
        self._clients.discard(client)
        self.stats.dropped_clients += 1
        self._changed()
        if self.on_drop:
            self.on_drop()
        log.warning("dropping slow websocket client", extra={"queued": client.queue.qsize()})
        task = asyncio.create_task(self._close(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, client: Client) -> None:
        if client.sender:
            client.sender.cancel()
        # Free the queued events now rather than when the socket finally closes.
        while not client.queue.empty():
            client.queue.get_nowait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                client.socket.close(code=SLOW_CLIENT_CLOSE_CODE, reason=SLOW_CLIENT_REASON),
                self.close_timeout,
            )

    async def close_all(self) -> None:
        for client in list(self._clients):
            await self.remove(client)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.socket.close(code=1001), self.close_timeout)

    def _changed(self) -> None:
        if self.on_change:
            self.on_change(len(self._clients))
