"""WebSocket fan-out where one slow client never delays the others.

Publishing never awaits a socket: each client has a bounded queue drained
by its own sender task. A client whose queue is full is dropped with close
code 1013 (try again later); memory is bounded by queue size x clients.

Admission: at most `max_clients` connections, and at most
`max_per_address` from one client address (an IPv6 /64 counts as one
address: one host gets a whole /64). A connection counts from `add()` until
`remove()`, that is until its handler returns, dropped or not: a dropped
client whose socket is still closing holds its slot, so sockets that stopped
reading cannot pile up beyond the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("dixi.backend.ws")

SLOW_CLIENT_CLOSE_CODE = 1013
SLOW_CLIENT_REASON = "too slow: event queue full"
FULL_CLOSE_CODE = 1013
FULL_REASON = "too many clients"
ADDRESS_FULL_REASON = "too many connections from your address"


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


def address_key(host: str | None) -> str:
    """The address a client is counted under: its IP, or the /64 an IPv6 address is in."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(eq=False)
class Client:
    socket: Socket
    queue: asyncio.Queue[str]
    address: str = ""
    sender: asyncio.Task[None] | None = None
    dropped: bool = False
    sent: int = 0
    # Set when the hub stops sending to this client (dropped, or its socket
    # failed): its handler should stop waiting for messages and return.
    gone: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class HubStats:
    published: int = 0
    dropped_clients: int = 0


@dataclass
class Hub:
    queue_size: int = 256
    max_clients: int = 1000
    max_per_address: int = 1000
    close_timeout: float = 1.0
    on_change: Callable[[int], None] | None = None
    on_drop: Callable[[], None] | None = None
    stats: HubStats = field(default_factory=HubStats)
    # Clients that get events.
    _clients: set[Client] = field(default_factory=set)
    # Every connection from add() to remove(): what the limits count.
    _connections: set[Client] = field(default_factory=set)
    _per_address: Counter[str] = field(default_factory=Counter)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def client_count(self) -> int:
        """Clients that get events."""
        return len(self._clients)

    @property
    def connection_count(self) -> int:
        """Connections that count toward the limits, dropped ones still closing included."""
        return len(self._connections)

    def is_full(self) -> bool:
        return len(self._connections) >= self.max_clients

    def refusal(self, address: str = "") -> str | None:
        """Why a new connection from `address` may not be added now, or None."""
        if self.is_full():
            return FULL_REASON
        if self._per_address[address] >= self.max_per_address:
            return ADDRESS_FULL_REASON
        return None

    def add(self, socket: Socket, address: str = "") -> Client:
        client = Client(
            socket=socket, queue=asyncio.Queue(maxsize=self.queue_size), address=address
        )
        client.sender = asyncio.create_task(self._drain(client))
        self._clients.add(client)
        self._connections.add(client)
        self._per_address[address] += 1
        self._changed()
        return client

    async def remove(self, client: Client) -> None:
        self._clients.discard(client)
        if client in self._connections:
            self._connections.discard(client)
            self._per_address[client.address] -= 1
            if self._per_address[client.address] <= 0:
                del self._per_address[client.address]
        client.gone.set()
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
            # The peer went away; the handler returns and removes it.
            self._clients.discard(client)
            client.gone.set()

    def _drop(self, client: Client) -> None:
        client.dropped = True
        self._clients.discard(client)
        client.gone.set()
        self.stats.dropped_clients += 1
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
        # The server sends the close frame without waiting for the peer to make
        # room, and resets the socket if it still cannot deliver it
        # (dixi_common.server); the timeout is for servers that would wait.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                client.socket.close(code=SLOW_CLIENT_CLOSE_CODE, reason=SLOW_CLIENT_REASON),
                self.close_timeout,
            )

    async def close_all(self) -> None:
        for client in list(self._connections):
            await self.remove(client)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.socket.close(code=1001), self.close_timeout)

    def _changed(self) -> None:
        if self.on_change:
            self.on_change(len(self._connections))
