"""Prometheus metrics; one registry per app so tests can run several apps.

Every label value comes from a fixed set: a value a client chooses (a
gesture's `source`) is counted as "other" unless it is one the code knows,
because each new value is a new time series (20,000 sources once made
/metrics 5 MB, and every scrape blocked the event loop for 0.7 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# What vision (its camera loop, or a frame from the page) and its default say.
GESTURE_SOURCES = frozenset({"vision", "camera", "browser"})


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.ws_clients = Gauge("dixi_ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_dropped = Counter(
            "dixi_ws_dropped_clients_total", "Clients dropped for being too slow", registry=r
        )
        self.ws_refused = Counter(
            "dixi_ws_refused_total",
            "WebSocket connections refused (reason: full, address, origin)",
            ["reason"],
            registry=r,
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
            "dixi_ai_queries_total",
            "AI queries by outcome (ok, truncated, timeout, cancelled, unavailable, interrupted, failed,"
            " busy, rate_limited)",
            ["trigger", "outcome"],
            registry=r,
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
        # The event bus between replicas (bus.py); bus_up stays 0 when there is none.
        self.bus_up = Gauge(
            "dixi_event_bus_up", "1 while subscribed to the event bus", registry=r
        )
        self.bus_reconnects = Counter(
            "dixi_event_bus_reconnects_total", "Times the event bus came back", registry=r
        )
        self.bus_published = Counter(
            "dixi_event_bus_published_total", "Events published to the other replicas", registry=r
        )
        self.bus_publish_failures = Counter(
            "dixi_event_bus_publish_failures_total",
            "Events the other replicas did not get (reason: down, backlog, error)",
            ["reason"],
            registry=r,
        )
        self.bus_received = Counter(
            "dixi_event_bus_received_total", "Messages read from the event bus channel", registry=r
        )
        self.bus_malformed = Counter(
            "dixi_event_bus_malformed_total",
            "Bus messages dropped unread (reason: too_large, envelope, version, schema)",
            ["reason"],
            registry=r,
        )

    def gesture(self, gesture: str, source: str) -> None:
        known = source if source in GESTURE_SOURCES else "other"
        self.gestures.labels(gesture=gesture, source=known).inc()
