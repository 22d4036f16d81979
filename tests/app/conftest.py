"""Fixtures for the app unit tests: the service packages on sys.path, the Ollama double."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT / "app", ROOT / "app" / "common", ROOT / "app" / "backend", ROOT / "app" / "vision"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from dixi_backend.app import create_app as create_backend  # noqa: E402
from dixi_backend.settings import Settings as BackendSettings  # noqa: E402
from dixi_devtools.ollama_double import OllamaDouble  # noqa: E402
from dixi_devtools.serve import ThreadedServer  # noqa: E402
from dixi_vision.app import create_app as create_vision  # noqa: E402
from dixi_vision.settings import Settings as VisionSettings  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

TOKEN = "test-gesture-token"


@pytest.fixture
def double() -> OllamaDouble:
    return OllamaDouble(models=["llama3.2"])


@pytest.fixture
def ollama_server(double: OllamaDouble) -> Iterator[ThreadedServer]:
    with ThreadedServer(double.app()) as server:
        yield server


@pytest.fixture
def vision_server(tmp_path: Path) -> Iterator[ThreadedServer]:
    app = create_vision(VisionSettings(models_dir=str(tmp_path)))
    with ThreadedServer(app) as server:
        yield server


@pytest.fixture
def vision_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_vision(VisionSettings(models_dir=str(tmp_path)))) as client:
        yield client


BackendFactory = Callable[..., TestClient]


def backend_settings(
    ollama_server: ThreadedServer, vision_server: ThreadedServer, **overrides: Any
) -> BackendSettings:
    """A test backend's settings: the live double and vision, the test token, no caching or throttling."""
    values: dict[str, Any] = {
        "vision_service_url": vision_server.url,
        "ollama_base_url": ollama_server.url,
        "gesture_token": TOKEN,
        "health_cache_seconds": 0,
        "ai_auto_min_interval_seconds": 0,
    }
    return BackendSettings(**{**values, **overrides})


@pytest.fixture
def backend(
    ollama_server: ThreadedServer, vision_server: ThreadedServer
) -> Iterator[BackendFactory]:
    """Builds a backend TestClient wired to the live double and vision; overrides via kwargs."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = backend_settings(ollama_server, vision_server, **overrides)
        client = TestClient(create_backend(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
