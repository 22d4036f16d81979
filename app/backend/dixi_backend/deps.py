"""Clients for vision and Ollama, and the cached readiness check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import ollama


class DependencyDown(Exception):
    """A dependency did not answer; the message says which and why."""

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.message = message


@dataclass
class CachedCheck:
    """Runs `check` at most once per `ttl` seconds; concurrent callers share one run."""

    check: Callable[[], Awaitable[None]]
    ttl: float
    _at: float = field(default=-1e18, init=False)
    _error: str | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def __call__(self) -> str | None:
        if time.monotonic() - self._at < self.ttl:
            return self._error
        async with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._error
            try:
                await self.check()
                self._error = None
            except DependencyDown as exc:
                self._error = exc.message
            self._at = time.monotonic()
            return self._error


def model_names(listing: ollama.ListResponse) -> set[str]:
    names: set[str] = set()
    for entry in listing.models:
        if entry.model:
            names.add(entry.model)
            if entry.model.endswith(":latest"):
                names.add(entry.model.removesuffix(":latest"))
    return names


class OllamaGateway:
    """The official `ollama` client, with errors turned into DependencyDown."""

    def __init__(self, base_url: str, model: str, timeout: float, first_chunk_timeout: float):
        self.base_url = base_url
        self.model = model
        self.first_chunk_timeout = first_chunk_timeout
        self.client = ollama.AsyncClient(
            host=base_url,
            timeout=httpx.Timeout(first_chunk_timeout, connect=timeout),
        )
        self._check_timeout = timeout

    async def check(self) -> None:
        try:
            listing = await asyncio.wait_for(self.client.list(), self._check_timeout)
        except (ConnectionError, httpx.HTTPError, TimeoutError) as exc:
            raise DependencyDown(
                "ollama", f"Ollama is unreachable at {self.base_url}: {exc}"
            ) from exc
        except ollama.ResponseError as exc:
            raise DependencyDown("ollama", f"Ollama answered an error: {exc.error}") from exc
        if self.model not in model_names(listing):
            raise DependencyDown(
                "ollama", f"Ollama at {self.base_url} does not have the model {self.model!r}"
            )

    async def stream(self, system: str, prompt: str) -> AsyncIterator[str]:
        """Answer chunks; raises DependencyDown if Ollama cannot answer."""
        try:
            parts = await self.client.chat(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": prompt},
                ],
                stream=True,
            )
            async for part in parts:
                text = part.message.content or ""
                if text:
                    yield text
        except (ConnectionError, httpx.HTTPError, TimeoutError) as exc:
            raise DependencyDown(
                "ollama", f"Ollama is unreachable at {self.base_url}: {exc}"
            ) from exc
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise DependencyDown(
                    "ollama", f"Ollama does not have the model {self.model!r}"
                ) from exc
            raise DependencyDown("ollama", f"Ollama answered an error: {exc.error}") from exc


class VisionClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def check(self) -> None:
        try:
            response = await self.client.get("/health")
        except httpx.HTTPError as exc:
            raise DependencyDown(
                "vision", f"vision is unreachable at {self.base_url}: {exc!r}"
            ) from exc
        if response.status_code != 200:
            raise DependencyDown("vision", f"vision /health answered {response.status_code}")

    async def frame(self, data: bytes, content_type: str) -> httpx.Response:
        try:
            return await self.client.post(
                "/api/frames", content=data, headers={"content-type": content_type}
            )
        except httpx.HTTPError as exc:
            raise DependencyDown(
                "vision", f"vision is unreachable at {self.base_url}: {exc!r}"
            ) from exc

    async def aclose(self) -> None:
        await self.client.aclose()
