"""Schemathesis over both OpenAPI schemas, against live servers: no 5xx, ever."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from dixi_backend.app import create_app as create_backend
from dixi_backend.settings import Settings as BackendSettings
from dixi_devtools.ollama_double import OllamaDouble
from dixi_devtools.serve import ThreadedServer
from dixi_vision.app import create_app as create_vision
from dixi_vision.settings import Settings as VisionSettings
from hypothesis import HealthCheck, given, settings

from .conftest import TOKEN

FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    models = Path(tmp_path_factory.mktemp("models"))
    with (
        ThreadedServer(OllamaDouble().app()) as ollama,
        ThreadedServer(create_vision(VisionSettings(models_dir=str(models)))) as vision,
    ):
        backend_app = create_backend(
            BackendSettings(
                vision_service_url=vision.url,
                ollama_base_url=ollama.url,
                gesture_token=TOKEN,
                health_cache_seconds=1,
                ai_auto_min_interval_seconds=0,
            )
        )
        with ThreadedServer(backend_app) as backend:
            yield {"backend": backend.url, "vision": vision.url}


def fuzz(schema_url: str, token: str | None = None) -> list[str]:
    """Runs hypothesis over every operation; returns the problems found."""
    schema = schemathesis.openapi.from_url(schema_url)
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{schema_url} has no operations"
    for operation in operations:
        calls = 0

        @given(case=operation.as_strategy())
        @FUZZ
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            if token and case.operation.path == "/api/gestures" and hash(str(case.body)) % 2:
                # Half the cases carry the real token so that bodies get past auth.
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call(timeout=15)
            where = f"{case.method} {case.formatted_path} -> {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.text[:300]}")
            elif response.status_code >= 400:
                try:
                    has_error = "error" in response.json()
                except ValueError:
                    has_error = False
                if not has_error:
                    problems.append(f"{where} without a JSON error: {response.text[:300]}")

        run()
        if calls < (5 if operation.method.upper() == "POST" else 1):
            problems.append(f"{operation.label}: only {calls} requests were generated")
    return problems


def test_fuzzed_backend_requests_never_get_a_5xx(servers: dict[str, str]) -> None:
    problems = fuzz(servers["backend"] + "/openapi.json", TOKEN)
    assert not problems, "\n".join(problems[:10])


def test_fuzzed_vision_requests_never_get_a_5xx(servers: dict[str, str]) -> None:
    problems = fuzz(servers["vision"] + "/openapi.json")
    assert not problems, "\n".join(problems[:10])
