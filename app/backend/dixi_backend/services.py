"""Everything the routes share, built once per app from the settings."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .bus import BusState, BusStatus, EventBus
from .deps import CachedCheck, DependencyDown, OllamaGateway, VisionClient
from .hub import Hub
from .metrics import Metrics
from .models import GestureEvent
from .settings import Settings

log = logging.getLogger("dixi.backend")


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    hub: Hub
    vision: VisionClient
    ollama: OllamaGateway
    checks: dict[str, CachedCheck]
    ai_slots: asyncio.Semaphore
    bus: EventBus | None = None
    _last_auto_ai: float = field(default=-1e18, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Everything, wired; the event bus (if configured) is created but not started."""
        bus_config = settings.bus_config()
        metrics = Metrics()
        hub = Hub(
            queue_size=settings.ws_queue_size,
            max_clients=settings.ws_max_clients,
            on_change=metrics.ws_clients.set,
            on_drop=metrics.ws_dropped.inc,
        )
        vision = VisionClient(settings.vision_service_url, settings.dependency_timeout_seconds)
        gateway = OllamaGateway(
            settings.ollama_base_url,
            settings.ollama_model,
            settings.dependency_timeout_seconds,
            settings.ai_first_chunk_timeout_seconds,
        )
        checks = {
            "vision": CachedCheck(vision.check, settings.health_cache_seconds),
            "ollama": CachedCheck(gateway.check, settings.health_cache_seconds),
        }
        bus = EventBus(bus_config, hub.publish, metrics) if bus_config else None
        return cls(
            settings=settings,
            metrics=metrics,
            hub=hub,
            vision=vision,
            ollama=gateway,
            checks=checks,
            ai_slots=asyncio.Semaphore(settings.max_concurrent_ai),
            bus=bus,
        )

    def start(self) -> None:
        if self.bus:
            self.bus.start()

    def publish(self, event: dict[str, Any]) -> None:
        """An event this replica accepted: to its own clients now, and to the other replicas' through the bus."""
        self.metrics.events.labels(type=str(event.get("type"))).inc()
        self.hub.publish(event)
        if self.bus:
            self.bus.publish(event)

    def bus_status(self) -> BusStatus:
        return self.bus.status if self.bus else BusStatus(state=BusState.DISABLED)

    async def readiness(self) -> dict[str, str | None]:
        names = list(self.checks)
        results = await asyncio.gather(*(self.checks[n]() for n in names))
        for name, error in zip(names, results, strict=True):
            self.metrics.dependency_up.labels(dependency=name).set(0 if error else 1)
        return dict(zip(names, results, strict=True))

    async def gesture(self, event: GestureEvent) -> bool:
        """Fan a gesture out; returns True if it also started an automatic AI answer.

        The answer runs here, on the replica that accepted the gesture; the
        others only relay its events.
        """
        self.metrics.gestures.labels(gesture=event.gesture, source=event.source).inc()
        payload = event.model_dump()
        payload["timestamp"] = payload["timestamp"] or time.time()
        self.publish({"type": "gesture", **payload})
        return await self._maybe_auto_ai(event.gesture)

    async def _maybe_auto_ai(self, gesture: str) -> bool:
        prompt = self.settings.ai_gesture_prompts.get(gesture)
        now = time.monotonic()
        interval = self.settings.ai_auto_min_interval_seconds
        if prompt is None:
            return False
        if now - self._last_auto_ai < interval or self.ai_slots.locked():
            outcome = "busy" if self.ai_slots.locked() else "rate_limited"
            self.metrics.ai_queries.labels(trigger="gesture", outcome=outcome).inc()
            return False
        # With several replicas the interval holds for all of them together: a
        # lease on the bus. Without a bus, or while it is down, each replica
        # keeps its own interval (at worst one answer per replica per interval).
        if self.bus and await self.bus.claim("auto-ai", interval) is False:
            self.metrics.ai_queries.labels(trigger="gesture", outcome="rate_limited").inc()
            return False
        if self.ai_slots.locked():  # taken while we waited for the lease
            self.metrics.ai_queries.labels(trigger="gesture", outcome="busy").inc()
            return False
        self._last_auto_ai = now
        task = asyncio.create_task(self._auto_ai(gesture, prompt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _auto_ai(self, gesture: str, prompt: str) -> None:
        async with self.ai_slots:
            try:
                async for _ in self.answer(prompt, trigger=f"gesture:{gesture}"):
                    pass
            except DependencyDown:
                pass  # already published as ai_error and logged

    async def answer(self, prompt: str, trigger: str) -> AsyncIterator[dict[str, Any]]:
        """Streams one answer; every event also goes to /ws. The caller holds an AI slot.

        DependencyDown raised before the first chunk means nothing was sent yet.
        """
        query_id = uuid.uuid4().hex[:12]
        kind = "query" if trigger == "query" else "gesture"
        started = time.perf_counter()
        chunks = self.ollama.stream(self.settings.ai_system_prompt, prompt)
        try:
            first = await anext(chunks, None)
        except DependencyDown as exc:
            self.metrics.ai_queries.labels(trigger=kind, outcome="unavailable").inc()
            log.warning("AI answer failed", extra={"error": exc.message, "trigger": trigger})
            self.publish({"type": "ai_error", "id": query_id, "error": exc.message})
            raise
        self.metrics.ai_first_chunk.observe(time.perf_counter() - started)
        start = {"type": "ai_start", "id": query_id, "trigger": trigger, "prompt": prompt}
        self.publish(start)
        yield start
        text_parts: list[str] = []
        try:
            if first is not None:
                text_parts.append(first)
                event = {"type": "ai_chunk", "id": query_id, "text": first}
                self.publish(event)
                yield event
            async for text in chunks:
                text_parts.append(text)
                event = {"type": "ai_chunk", "id": query_id, "text": text}
                self.publish(event)
                yield event
        except DependencyDown as exc:
            self.metrics.ai_queries.labels(trigger=kind, outcome="interrupted").inc()
            error = {"type": "ai_error", "id": query_id, "error": exc.message}
            self.publish(error)
            yield error
            return
        self.metrics.ai_queries.labels(trigger=kind, outcome="ok").inc()
        done = {"type": "ai_done", "id": query_id, "text": "".join(text_parts)}
        self.publish(done)
        yield done

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.bus:
            await self.bus.aclose()
        await self.hub.close_all()
        await self.vision.aclose()
