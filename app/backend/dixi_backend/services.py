"""Everything the routes share, built once per app from the settings (the lifespan's state)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from .ai import AUTOMATIC, Answers, Busy
from .bus import BusState, BusStatus, EventBus
from .clients import CachedCheck, OllamaGateway, VisionClient
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
    ai: Answers = field(init=False)
    bus: EventBus | None = None
    _last_auto_ai: float = field(default=-1e18, init=False)

    def __post_init__(self) -> None:
        self.ai = Answers(self.ollama, self.settings, self.metrics, self.publish)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Everything, wired; the event bus (if configured) is created but not started."""
        bus_config = settings.bus_config()
        metrics = Metrics()
        hub = Hub(
            queue_size=settings.ws_queue_size,
            max_clients=settings.ws_max_clients,
            max_per_address=settings.ws_max_clients_per_address,
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
        self.metrics.gesture(event.gesture, event.source)
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
        busy = not self.ai.slots.available(AUTOMATIC)
        if now - self._last_auto_ai < interval or busy:
            outcome = "busy" if busy else "rate_limited"
            self.metrics.ai_queries.labels(trigger="gesture", outcome=outcome).inc()
            return False
        # With several replicas the interval holds for all of them together: a
        # lease on the bus. Without a bus, or while it is down, each replica
        # keeps its own interval (at worst one answer per replica per interval).
        if self.bus and await self.bus.claim("auto-ai", interval) is False:
            self.metrics.ai_queries.labels(trigger="gesture", outcome="rate_limited").inc()
            return False
        try:
            # Taken while we waited for the lease?
            self.ai.start(prompt, f"gesture:{gesture}", AUTOMATIC, listen=False)
        except Busy:
            self.metrics.ai_queries.labels(trigger="gesture", outcome="busy").inc()
            return False
        self._last_auto_ai = now
        return True

    async def aclose(self) -> None:
        await self.ai.aclose()
        if self.bus:
            await self.bus.aclose()
        await self.hub.close_all()
        await self.vision.aclose()
