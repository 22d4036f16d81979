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
- No `Server:` header: it only tells a scanner what to try.

Left out: request rate limits (nginx and the load balancers in front are the
place for those) and TLS (terminated in front of the services).
"""

from __future__ import annotations

from typing import Any, Final

MAX_HEADER_BYTES: Final = 64 * 1024
# What a service that takes no WebSocket messages of substance accepts.
DEFAULT_WS_MAX_SIZE: Final = 4096


def limits(*, ws_max_size: int = DEFAULT_WS_MAX_SIZE) -> dict[str, Any]:
    """uvicorn.Config keyword arguments that bound the work one client can cause."""
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "ws_max_size": ws_max_size,
        "ws_per_message_deflate": False,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "server_header": False,
    }


def serve(app: Any, *, host: str, port: int, ws_max_size: int = DEFAULT_WS_MAX_SIZE) -> None:
    """Run `app` in the foreground on host:port, with `limits()`; logging is the caller's (dixi_common.logs)."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        **limits(ws_max_size=ws_max_size),
    )
