"""AI answers: bounded, shared fairly, and always finished.

- Slots: at most `MAX_CONCURRENT_AI` answers at once, and at most
  `AI_MAX_PER_ADDRESS` (1) per client address, so one client cannot hold
  every slot; beyond either the caller gets `Busy` (the route's 429).
  Automatic, gesture-triggered answers are held by `AUTOMATIC`, which has no
  limit of its own: AI_AUTO_MIN_INTERVAL_SECONDS spaces them out instead.
- Bounds: each answer asks Ollama for at most `AI_MAX_TOKENS` tokens
  (`num_predict`) and is cut after as many chunks should a server ignore
  that; and it ends after `AI_ANSWER_TIMEOUT_SECONDS` of wall time, first
  chunk included. Ending it closes the stream to Ollama, which stops the
  generation. (The first-chunk timeout is the HTTP client's per-read
  timeout; alone it let a model that keeps talking run for ever.)
- Ending: every answer runs in its own task, and every answer that is
  started ends on /ws with `ai_done` or `ai_error`, also when the asker goes
  away mid-stream (`ai_error` "the answer was cancelled"): viewers used to
  be left with `ai_start` and a few chunks.

`ai_start` is published with the first chunk, so an answer that fails
before it (Ollama down) shows on /ws as a lone `ai_error`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from .clients import DependencyDown, OllamaGateway
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger("dixi.backend.ai")

AUTOMATIC = "automatic"
CANCELLED = "the answer was cancelled"
FAILED = "the answer failed"


class Busy(Exception):
    """No slot for this holder now; the message says why."""


@dataclass
class Slots:
    """At most `total` answers at once, at most `per_holder` for one holder (a client address) but AUTOMATIC."""

    total: int
    per_holder: int = 1
    _held: Counter[str] = field(default_factory=Counter)

    @property
    def in_use(self) -> int:
        return sum(self._held.values())

    def _limit(self, holder: str) -> int:
        return self.total if holder == AUTOMATIC else self.per_holder

    def available(self, holder: str) -> bool:
        return self.in_use < self.total and self._held[holder] < self._limit(holder)

    def take(self, holder: str) -> None:
        if self.in_use >= self.total:
            raise Busy("too many AI queries in flight; try again shortly")
        if self._held[holder] >= self._limit(holder):
            raise Busy("you already have an AI answer in flight; wait for it to finish")
        self._held[holder] += 1

    def give_back(self, holder: str) -> None:
        self._held[holder] -= 1
        if self._held[holder] <= 0:
            del self._held[holder]


class Answer:
    """One answer in flight: iterate it for its events; cancel() ends it with ai_error."""

    def __init__(self, listen: bool) -> None:
        self._listen = listen
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def emit(self, event: dict[str, Any] | None) -> None:
        if self._listen:
            self._events.put_nowait(event)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while (event := await self._events.get()) is not None:
            yield event

    async def first(self) -> dict[str, Any]:
        """The first event: ai_start, or the ai_error of an answer that never started."""
        event = await self._events.get()
        if event is None:  # pragma: no cover - every answer emits at least one event
            raise RuntimeError("the answer ended without an event")
        return event

    @property
    def finished(self) -> bool:
        return self.task is None or self.task.done()

    def cancel(self) -> None:
        if not self.finished and self.task is not None:
            self.task.cancel()


@dataclass
class Answers:
    """Starts answers within the slots and runs each within its bounds; `publish` sends an event to /ws."""

    gateway: OllamaGateway
    settings: Settings
    metrics: Metrics
    publish: Callable[[dict[str, Any]], None]
    slots: Slots = field(init=False)
    _running: set[Answer] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.slots = Slots(self.settings.max_concurrent_ai, self.settings.ai_max_per_address)

    def start(self, prompt: str, trigger: str, holder: str, listen: bool = True) -> Answer:
        """Takes a slot for `holder` (or raises Busy) and starts the answer; `listen` keeps its events for the caller."""
        self.slots.take(holder)
        answer = Answer(listen)
        answer.task = asyncio.create_task(self._run(answer, prompt, trigger, holder))
        self._running.add(answer)
        answer.task.add_done_callback(lambda _: self._running.discard(answer))
        return answer

    async def _run(self, answer: Answer, prompt: str, trigger: str, holder: str) -> None:
        query_id = uuid.uuid4().hex[:12]
        kind = "query" if trigger == "query" else "gesture"
        limit = self.settings.ai_max_tokens
        timeout = self.settings.ai_answer_timeout_seconds
        began = time.perf_counter()
        parts: list[str] = []
        started = False

        def send(event: dict[str, Any]) -> None:
            self.publish(event)
            answer.emit(event)

        def fail(outcome: str, error: str, detail: str | None = None) -> None:
            self.metrics.ai_queries.labels(trigger=kind, outcome=outcome).inc()
            log.warning(
                "AI answer ended without an answer",
                extra={
                    "outcome": outcome,
                    "error": error,
                    "detail": detail,
                    "trigger": trigger,
                    "id": query_id,
                },
            )
            send({"type": "ai_error", "id": query_id, "error": error})

        try:
            async with asyncio.timeout(timeout):
                chunks = self.gateway.stream(self.settings.ai_system_prompt, prompt, limit)
                try:
                    async for text in chunks:
                        if not started:
                            self.metrics.ai_first_chunk.observe(time.perf_counter() - began)
                            send(
                                {
                                    "type": "ai_start",
                                    "id": query_id,
                                    "trigger": trigger,
                                    "prompt": prompt,
                                }
                            )
                            started = True
                        parts.append(text)
                        send({"type": "ai_chunk", "id": query_id, "text": text})
                        if len(parts) >= limit:
                            break
                finally:
                    await chunks.aclose()
            if not started:  # the model said nothing at all
                send({"type": "ai_start", "id": query_id, "trigger": trigger, "prompt": prompt})
            outcome = "truncated" if len(parts) >= limit else "ok"
            self.metrics.ai_queries.labels(trigger=kind, outcome=outcome).inc()
            send({"type": "ai_done", "id": query_id, "text": "".join(parts)})
        except DependencyDown as exc:
            fail("interrupted" if started else "unavailable", exc.message, exc.detail)
        except TimeoutError:
            fail("timeout", f"the answer took longer than {timeout:g} s and was stopped")
        except asyncio.CancelledError:
            fail("cancelled", CANCELLED)
            raise
        except Exception:
            log.exception("AI answer failed", extra={"trigger": trigger, "id": query_id})
            self.metrics.ai_queries.labels(trigger=kind, outcome="failed").inc()
            send({"type": "ai_error", "id": query_id, "error": FAILED})
        finally:
            self.slots.give_back(holder)
            answer.emit(None)

    async def aclose(self) -> None:
        running = [a.task for a in self._running if a.task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
