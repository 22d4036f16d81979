"""Vision's Prometheus metrics, one registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # outcome: hand, no_hand, rejected_<status>, or dropped_deadline /
        # dropped_disconnected for a frame nobody waits for any more.
        self.frames = Counter(
            "dixi_vision_frames_total", "Frames by outcome", ["outcome"], registry=self.registry
        )
        self.gestures = Counter(
            "dixi_vision_gestures_total", "Gestures recognized", ["gesture"], registry=self.registry
        )
        self.latency = Histogram(
            "dixi_vision_processing_seconds",
            "Decode + recognition time per frame",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
