"""Typed dependencies: what a route needs, read from the state the lifespan set up."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .metrics import Metrics
from .services import Vision


def get_vision(request: Request) -> Vision:
    vision: Vision = request.state.vision
    return vision


VisionDep = Annotated[Vision, Depends(get_vision)]


def get_metrics(vision: VisionDep) -> Metrics:
    return vision.metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]
