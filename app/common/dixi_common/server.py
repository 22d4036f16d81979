"""How Dixi's Python services listen: uvicorn with limits one anonymous client cannot blow through.

Both the backend and vision run through `serve()`, and the tests start their
servers with the same `limits()`, so what the tests attack is what runs.

- Headers: uvicorn's default parser (httptools) has no limit on the size of
  a request's headers, and its cost grows with the square of their size
  (a 200 MiB header took 61 s of the event loop). The h11 parser buffers at
  most `MAX_HEADER_BYTES` of an incomplete request head and then refuses
  it; nginx's own default is 4 x 8 KiB (large_client_header_buffers).
- WebSocket messages: uvicorn accepts 16 MiB messages with permessage-deflate
  by default, so a 16 KiB compressed frame inflates to 16 MiB on the event
  loop. Compression is off, and a service says how large a message it
  expects (`ws_max_size`; the backend's /ws only ever receives "ping").
- WebSocket peers that stop reading: uvicorn waits for room in the send
  buffer before it sends anything, the close frame included, and asyncio
  closes a socket only once its buffer has drained, so a peer that never
  reads kept its socket, its handler and up to a megabyte of kernel buffers
  for as long as it liked (800 such sockets held 683 MB).
  `BoundedWebSocketProtocol` caps a WebSocket's kernel send buffer
  (`WS_SEND_BUFFER_BYTES`), sends the close frame without waiting, and
  every close is over within seconds (`CLOSE_FLUSH_SECONDS` after the
  socket is closed, `CLOSE_HANDSHAKE_SECONDS` after a close frame is sent):
  what the peer has not acknowledged by then is dropped with a reset, which
  frees the buffers.
- No `Server:` header: it only tells a scanner what to try.

Left out: request rate limits (nginx and the load balancers in front are the
place for those) and TLS (terminated in front of the services).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
from typing import Any, Final, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

MAX_HEADER_BYTES: Final = 64 * 1024
# What a service that takes no WebSocket messages of substance accepts.
DEFAULT_WS_MAX_SIZE: Final = 4096
# How long a closing WebSocket may take to hand the peer what is still
# buffered, and how long the peer has to answer a close frame (uvicorn: 10 s).
CLOSE_FLUSH_SECONDS: Final = 2.0
CLOSE_HANDSHAKE_SECONDS: Final = 3.0
# The kernel's send buffer of a WebSocket (Linux doubles it). Left to
# autotuning it grows to megabytes for a peer that reads nothing; events are
# small and few, and a full buffer is how a peer that stopped reading shows.
WS_SEND_BUFFER_BYTES: Final = 64 * 1024
# Where the proxies in front of a service run: their X-Forwarded-For names the
# client (per-address limits count it). Loopback and the private ranges hold
# nginx and the load balancers on every target; a target that knows its
# proxy's exact subnet should name it (FORWARDED_ALLOW_IPS).
PRIVATE_NETWORKS: Final = "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
_FLUSH_POLL_SECONDS: Final = 0.05


def limits(*, ws_max_size: int = DEFAULT_WS_MAX_SIZE) -> dict[str, Any]:
    """uvicorn.Config keyword arguments that bound the work one client can cause."""
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "ws": BoundedWebSocketProtocol,
        "ws_max_size": ws_max_size,
        "ws_per_message_deflate": False,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "server_header": False,
    }


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    ws_max_size: int = DEFAULT_WS_MAX_SIZE,
    forwarded_allow_ips: str = PRIVATE_NETWORKS,
) -> None:
    """Run `app` in the foreground on host:port, with `limits()`; logging is the caller's (dixi_common.logs)."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        **limits(ws_max_size=ws_max_size),
    )


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, except that a peer which stops reading cannot keep its socket.

    It builds on uvicorn's websockets-sansio protocol (uvicorn 0.54, pinned in
    each service's requirements.txt) and its attributes; the attacks in
    tests/app/test_hostile_backend.py are what tell whether an upgrade kept
    them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = CLOSE_HANDSHAKE_SECONDS

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, WS_SEND_BUFFER_BYTES)
        bounded = BoundedClose(cast(asyncio.Transport, transport), CLOSE_FLUSH_SECONDS)
        super().connection_made(cast(asyncio.Transport, bounded))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        cast(BoundedClose, self.transport).forget()

    async def send(self, message: ASGISendEvent) -> None:
        if (
            message["type"] == "websocket.close"
            and not self.writable.is_set()
            and self.handshake_complete
            and self.initial_response is None
            and not (self.close_sent or self.disconnected)
        ):
            # uvicorn would first wait for room in the send buffer, which a
            # peer that stopped reading never makes.
            self._close_now(message.get("code", 1000), message.get("reason") or "")
            return
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_sent:
            # The peer has until the close handshake times out to read what
            # is buffered and answer; then the socket goes, flushed or not.
            cast(BoundedClose, self.transport).close_by(self.loop.time() + self.close_timeout)

    def _close_now(self, code: int, reason: str) -> None:
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        with contextlib.suppress(InvalidState):
            self.conn.send_close(code, reason)
            self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.transport.close()


class BoundedClose:
    """A transport whose close() is over within `flush_seconds`, whether or not the peer reads.

    close() waits until the peer has acknowledged everything sent (asyncio's
    buffer is empty and so is the kernel's), then closes as usual. If that
    has not happened within `flush_seconds`, the connection is reset
    (SO_LINGER 0): the kernel drops what it still holds at once, where a
    plain close would leave it an orphan holding its buffers until the peer
    reads or TCP gives up.
    """

    def __init__(self, transport: asyncio.Transport, flush_seconds: float) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._flush_seconds = flush_seconds
        self._closing = False
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._transport.write(data)

    def close_by(self, deadline: float) -> None:
        """When close() comes, the peer has had until `deadline` to take what is buffered."""
        self._deadline = deadline if self._deadline is None else min(self._deadline, deadline)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.close_by(self._loop.time() + self._flush_seconds)
        self._flush()

    def abort(self) -> None:
        self._closing = True
        self.forget()
        self._transport.abort()

    def forget(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self) -> None:
        self._timer = None
        transport = self._transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() == 0 and unacknowledged_bytes(transport) == 0:
            transport.close()
        elif self._deadline is None or self._loop.time() >= self._deadline:
            reset(transport)
        else:
            self._timer = self._loop.call_later(_FLUSH_POLL_SECONDS, self._flush)


def unacknowledged_bytes(transport: asyncio.BaseTransport) -> int:
    """Bytes the kernel sent or holds for this TCP socket that the peer has not acknowledged (Linux), else 0."""
    sock = transport.get_extra_info("socket")
    request = getattr(termios, "TIOCOUTQ", None)  # SIOCOUTQ for a TCP socket
    if sock is None or request is None:
        return 0
    try:
        answer = fcntl.ioctl(sock.fileno(), request, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return int(struct.unpack("i", answer)[0])


def reset(transport: asyncio.Transport) -> None:
    """Drops the connection with a TCP reset, discarding what the kernel still holds for it."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
