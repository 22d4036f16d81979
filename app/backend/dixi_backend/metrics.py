"""Prometheus metrics; one registry per app so tests can run several apps."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.ws_clients = Gauge("dixi_ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_dropped = Counter(
            "dixi_ws_dropped_clients_total", "Clients dropped for being too slow", registry=r
        )
        self.events = Counter(
            "dixi_events_published_total", "Events fanned out", ["type"], registry=r
        )
        self.gestures = Counter(
            "dixi_gesture_events_total",
            "Gesture events received",
            ["gesture", "source"],
            registry=r,
        )
        self.ai_queries = Counter(
            "dixi_ai_queries_total", "AI queries by outcome", ["trigger", "outcome"], registry=r
        )
        self.ai_first_chunk = Histogram(
            "dixi_ai_first_chunk_seconds",
            "Time from query to the first answer chunk",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.dependency_up = Gauge(
            "dixi_dependency_up",
            "1 if the dependency passed its last check",
            ["dependency"],
            registry=r,
        )
