"""The event bus: backend replicas share WebSocket events through Redis-compatible pub/sub.

With `EVENT_BUS_URL` set, every event a replica accepts is delivered to its
own WebSocket clients at once (by the caller, through the hub) and published
here, once, on one channel; every other replica receives it from its
subscription and delivers it to its clients. A replica skips its own
messages when they come back, so each client gets each event once. One
sender task publishes in order over one connection and one subscription
reads in order, so events keep their publish order per publisher. Without
the setting none of this exists and the in-process hub works alone (one
replica: local development, `aws-ec2`).

Only PUBLISH, SUBSCRIBE, PING and SET (with NX and PX: the lease that lets one
replica, not each, start an automatic AI answer per interval) are used, through the official `redis`
client's asyncio API, so any Redis-compatible server works: Valkey, Redis,
ElastiCache, Memorystore, Azure's and DigitalOcean's managed ones.

When the bus fails, each replica keeps delivering what it accepts to its own
clients; what it accepts meanwhile is not queued for later (a gesture is
stale within a second) but counted as not published. The subscription is
retried with exponential backoff and jitter, capped by
`EVENT_BUS_RECONNECT_MAX_SECONDS`. Each change of state is logged once,
exported as `dixi_event_bus_up`, and shown in `/api/health/ready`'s body
(without the server's address, which only the log has).

Messages on the channel are an envelope `{"v": 1, "origin": <replica>,
"event": {...}}`. Anything else (not JSON, another version, an event the
schema in `events.py` does not know, more than `MAX_MESSAGE_BYTES`) is
dropped and counted in `dixi_event_bus_malformed_total{reason}`.

Left out: persistence or replay (pub/sub is fire-and-forget: a replica that
was disconnected misses what was published meanwhile), and sharded pub/sub
(SSUBSCRIBE); one channel carries a few hundred small messages a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .events import validated
from .metrics import Metrics

log = logging.getLogger("dixi.backend.bus")
T = TypeVar("T")

ENVELOPE_VERSION = 1
# Far above any event (an AI answer's text is capped at 64 KiB in events.py).
MAX_MESSAGE_BYTES = 256 * 1024
# A silent connection (a half-open TCP session after a network fault) is only
# found by asking: PING every PING_INTERVAL seconds of silence, and treat no
# answer within PING_TIMEOUT as a failure.
PING_INTERVAL = 5.0
PING_TIMEOUT = 3.0
CONNECT_TIMEOUT = 3.0
# A lease is asked for on a request's path: never make the request wait long for it.
CLAIM_TIMEOUT = 0.5
# How long `aclose` waits for the bus's tasks, cancelling again, before it gives up on them.
CLOSE_TIMEOUT = 5.0


class BusState(StrEnum):
    DISABLED = "disabled"
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"


class BusStatus(BaseModel):
    state: BusState
    detail: str | None = None


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1]
    origin: str = Field(min_length=1, max_length=128)
    event: dict[str, Any]


class BusConfigError(ValueError):
    """EVENT_BUS_URL or EVENT_BUS_PASSWORD cannot work; the message says why."""


@dataclass(frozen=True)
class BusConfig:
    url: str
    password: str | None = None
    # A CA bundle for rediss:// servers whose certificate a private CA signed
    # (Memorystore's per-instance CA); others use the system's CAs.
    ca_file: str | None = None
    channel: str = "dixi:events"
    outbox_size: int = 1024
    reconnect_initial_seconds: float = 0.2
    reconnect_max_seconds: float = 5.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("redis", "rediss"):
            raise BusConfigError(
                f"EVENT_BUS_URL must start with redis:// or rediss:// (TLS); got {parts.scheme or 'no'} scheme"
            )
        if not parts.hostname:
            raise BusConfigError("EVENT_BUS_URL has no host: expected redis[s]://[:password@]host:port/db")
        if self.ca_file and parts.scheme != "rediss":
            raise BusConfigError("EVENT_BUS_CA_FILE is only used with TLS: EVENT_BUS_URL must start with rediss://")
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise BusConfigError(f"EVENT_BUS_CA_FILE {self.ca_file} is not a readable file")
        if parts.password and self.password:
            raise BusConfigError(
                "the event bus password is given twice, in EVENT_BUS_URL and EVENT_BUS_PASSWORD; keep one"
            )

    @property
    def where(self) -> str:
        """The URL without its password, for logs and the health body."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def replica_name() -> str:
    """This process on the bus: the host (a pod or task name) and a random suffix."""
    return f"{socket.gethostname()[:48]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class EventBus:
    """Publishes accepted events to the channel, and hands other replicas' events to `deliver`."""

    def __init__(
        self,
        config: BusConfig,
        deliver: Callable[[dict[str, Any]], None],
        metrics: Metrics,
        origin: str | None = None,
    ) -> None:
        self.config = config
        self.deliver = deliver
        self.metrics = metrics
        self.origin = origin or replica_name()
        self.status = BusStatus(state=BusState.CONNECTING)
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=config.outbox_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        # No retries inside the client: this class owns reconnection, so that
        # it can say when the bus is down and keep local delivery going.
        tls: dict[str, Any] = {"ssl_ca_certs": config.ca_file} if config.ca_file else {}
        self._client = aioredis.Redis.from_url(
            config.url,
            password=config.password,
            **tls,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=PING_INTERVAL + PING_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            client_name=f"dixi-backend:{self.origin}"[:128],
        )
        metrics.bus_up.set(0)

    @property
    def up(self) -> bool:
        return self.status.state is BusState.UP

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._subscribe_forever(), name="event-bus-subscriber"),
            asyncio.create_task(self._send_forever(), name="event-bus-sender"),
        ]

    async def claim(self, name: str, seconds: float) -> bool | None:
        """Takes the cluster-wide lease `name` for `seconds`: True if this replica got it,
        False if another holds it, None when the bus cannot say (down or slow).

        One SET NX PX: Redis expires the key itself, so a replica that dies
        holding a lease never blocks the others for longer than `seconds`.
        """
        if not self.up or seconds <= 0:
            return None
        try:
            got = await asyncio.wait_for(
                _once_more_on_a_closed_connection(
                    lambda: self._client.set(
                        f"{self.config.channel}:lease:{name}",
                        self.origin,
                        nx=True,
                        px=int(seconds * 1000),
                    )
                ),
                CLAIM_TIMEOUT,
            )
        except (RedisError, OSError, TimeoutError) as exc:
            log.debug("event bus lease failed", extra={"lease": name, "error": describe(exc)})
            return None
        return bool(got)

    def publish(self, event: dict[str, Any]) -> None:
        """Queue `event` for the other replicas; never waits. Counted as failed when the bus is down."""
        if not self.up:
            self.metrics.bus_publish_failures.labels(reason="down").inc()
            return
        text = json.dumps(
            {"v": ENVELOPE_VERSION, "origin": self.origin, "event": event}, separators=(",", ":")
        )
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            # The server stopped taking messages faster than we make them.
            self.metrics.bus_publish_failures.labels(reason="backlog").inc()

    async def _send_forever(self) -> None:
        while not self._closing:
            text = await self._outbox.get()
            try:
                await _once_more_on_a_closed_connection(
                    functools.partial(self._client.publish, self.config.channel, text)
                )
                self.metrics.bus_published.inc()
            except (RedisError, OSError, TimeoutError) as exc:
                _raise_if_cancelled(exc)
                self.metrics.bus_publish_failures.labels(reason="error").inc()
                log.debug("event bus publish failed", extra={"error": describe(exc)})

    async def _subscribe_forever(self) -> None:
        initial = min(self.config.reconnect_initial_seconds, self.config.reconnect_max_seconds)
        delay = initial
        while not self._closing:
            # _confirmed reads the reply to SUBSCRIBE; _read skips such replies.
            pubsub = self._client.pubsub(ignore_subscribe_messages=False)
            try:
                await pubsub.subscribe(self.config.channel)
                await self._confirmed(pubsub)
                self._set(BusState.UP, None)
                delay = initial
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                _raise_if_cancelled(exc)
                self._set(BusState.DOWN, describe(exc))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            self._drain_outbox()
            # Full jitter: replicas that lost the same server do not return in step.
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self.config.reconnect_max_seconds)

    async def _confirmed(self, pubsub: Any) -> None:
        """Waits until the server confirms the subscription, so a refused one (an ACL without the channel) is never "up".

        A refusal arrives as the reply to SUBSCRIBE and raises here; silence
        past the PING timeout counts as a dead server.
        """
        deadline = time.monotonic() + PING_TIMEOUT
        while time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=False, timeout=0.5)
            if message is None:
                continue
            if message.get("type") == "subscribe":
                return
            if message.get("type") == "message":
                self._receive(message["data"])
        raise TimeoutError(f"no reply to SUBSCRIBE within {PING_TIMEOUT:.0f} s")

    async def _read(self, pubsub: Any) -> None:
        last_heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            now = time.monotonic()
            if message is not None:
                last_heard, pinged = now, False
                if message.get("type") == "message":
                    self._receive(message["data"])
                continue
            silent = now - last_heard
            if pinged and silent > PING_INTERVAL + PING_TIMEOUT:
                raise TimeoutError(f"no answer to PING within {PING_TIMEOUT:.0f} s")
            if not pinged and silent > PING_INTERVAL:
                await pubsub.ping()
                pinged = True

    def _receive(self, data: bytes | str) -> None:
        self.metrics.bus_received.inc()
        size = len(data)
        if size > MAX_MESSAGE_BYTES:
            self._malformed("too_large", f"{size} bytes")
            return
        try:
            envelope = Envelope.model_validate_json(data)
        except ValidationError as exc:
            version_skew = any(e["loc"] == ("v",) for e in exc.errors())
            self._malformed("version" if version_skew else "envelope", _first_error(exc))
            return
        if envelope.origin == self.origin:
            return  # our own message: its clients here already have it
        try:
            event = validated(envelope.event)
        except ValidationError as exc:
            self._malformed("schema", _first_error(exc))
            return
        self.deliver(event)

    def _malformed(self, reason: str, detail: str) -> None:
        self.metrics.bus_malformed.labels(reason=reason).inc()
        log.warning(
            "dropped a malformed event bus message",
            extra={"reason": reason, "detail": detail[:200], "channel": self.config.channel},
        )

    def _drain_outbox(self) -> None:
        # What was queued while the connection died is not sent later.
        while not self._outbox.empty():
            self._outbox.get_nowait()
            self.metrics.bus_publish_failures.labels(reason="down").inc()

    def _set(self, state: BusState, detail: str | None) -> None:
        previous = self.status
        public = self._without_address(detail)
        if previous.state is state and previous.detail == public:
            return
        # The status is in /api/health/ready's public body; the log keeps the address.
        self.status = BusStatus(state=state, detail=public)
        self.metrics.bus_up.set(1 if state is BusState.UP else 0)
        if state is BusState.UP:
            if previous.state is BusState.DOWN:
                self.metrics.bus_reconnects.inc()
            log.info(
                "event bus up",
                extra={"bus": self.config.where, "channel": self.config.channel, "origin": self.origin},
            )
        elif previous.state is not BusState.DOWN:
            # Logged once per outage, not once per retry.
            log.warning(
                "event bus down: delivering to this replica's clients only, reconnecting",
                extra={"bus": self.config.where, "error": detail},
            )

    def _without_address(self, detail: str | None) -> str | None:
        parts = urlsplit(self.config.url)
        if detail is None or not parts.hostname:
            return detail
        if parts.port:
            detail = detail.replace(f"{parts.hostname}:{parts.port}", "the bus")
        return detail.replace(parts.hostname, "the bus")

    async def aclose(self) -> None:
        """Stops the bus's tasks and closes the client; returns within CLOSE_TIMEOUT.

        A cancellation can be lost: when it lands as a timeout inside the
        client fires, the timeout may turn it into a TimeoutError, which the
        loops take for a bus error and reconnect (a shutdown that never ended,
        seen in the test suite). So the loops also stop at their next turn
        (`_closing`), check for a pending cancellation themselves
        (`_raise_if_cancelled`), and a task still running is cancelled again.
        """
        self._closing = True
        pending = {task for task in self._tasks if not task.done()}
        deadline = asyncio.get_running_loop().time() + CLOSE_TIMEOUT
        while pending and asyncio.get_running_loop().time() < deadline:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
        if pending:
            log.warning("event bus tasks did not stop", extra={"tasks": sorted(t.get_name() for t in pending)})
        for task in self._tasks:
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.result()
        with contextlib.suppress(Exception):
            await self._client.aclose()
        self.metrics.bus_up.set(0)


def _raise_if_cancelled(exc: BaseException) -> None:
    """Re-raise a cancellation that a timeout inside the client turned into an error (Task.cancelling, 3.11+)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc


async def _once_more_on_a_closed_connection(command: Callable[[], Awaitable[T]]) -> T:
    """Runs `command`, and once more if the pooled connection it used had been closed.

    After the server restarts (or closes an idle connection) the pool still
    holds the dead connection; the first command on it fails with
    ConnectionError and the client drops it, so a second try gets a new one.
    The client's own retries are off (see EventBus), so this is the one retry.
    """
    try:
        return await command()
    except RedisConnectionError:
        return await command()


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid"
    where = ".".join(str(p) for p in errors[0]["loc"]) or "message"
    return f"{where}: {errors[0]['msg']}"
