from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from ..deps import VisionDep
from ..models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(vision: VisionDep) -> Health:
    return Health(
        status="ok",
        mode=vision.mode,
        camera=asdict(vision.camera.status) if vision.camera else None,
        skin_model=vision.skin_source,
    )
