"""Reading a Dixi WebSocket in tests: events up to a given type, with a deadline."""

from __future__ import annotations

import json
import time
from typing import Any, Protocol


class Receiver(Protocol):
    def recv(self, timeout: float | None = None) -> str | bytes: ...


def next_event(ws: Receiver, kind: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """What `ws` receives up to and including the first event of type `kind`; fails after `timeout`."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        seen.append(event)
        if event["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} within {timeout}s; saw {seen}")
