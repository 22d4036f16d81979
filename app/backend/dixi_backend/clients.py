"""Clients for vision and Ollama, and the cached readiness check.

A failure is a DependencyDown whose `message` names the dependency and what
went wrong for anyone to read (it goes into public 503 bodies and to every
/ws client), and whose `detail` adds the address and the error for the logs
only: a public body once read "Ollama is unreachable at http://ollama:11434".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import ollama

log = logging.getLogger("dixi.backend")


class DependencyDown(Exception):
    """A dependency did not answer: `message` for anyone, `detail` (where, and the error) for the logs."""

    def __init__(self, dependency: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.message = message
        self.detail = detail or message


@dataclass
class CachedCheck:
    """Runs `check` at most once per `ttl` seconds; concurrent callers share one run.

    A change of result is logged once, with the detail the public answer leaves out.
    """

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
                error = None
            except DependencyDown as exc:
                error = exc.message
                if error != self._error:
                    log.warning(
                        "dependency check failed",
                        extra={
                            "dependency": exc.dependency,
                            "error": exc.message,
                            "detail": exc.detail,
                        },
                    )
            self._error = error
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

    def _unreachable(self, exc: BaseException) -> DependencyDown:
        return DependencyDown("ollama", "Ollama is unreachable", f"{self.base_url}: {exc!r}")

    def _answered(self, exc: ollama.ResponseError) -> DependencyDown:
        return DependencyDown(
            "ollama",
            f"Ollama answered an error (status {exc.status_code})",
            f"{self.base_url}: {exc.status_code} {exc.error}",
        )

    async def check(self) -> None:
        try:
            listing = await asyncio.wait_for(self.client.list(), self._check_timeout)
        except (ConnectionError, httpx.HTTPError, TimeoutError) as exc:
            raise self._unreachable(exc) from exc
        except ollama.ResponseError as exc:
            raise self._answered(exc) from exc
        if self.model not in model_names(listing):
            raise DependencyDown(
                "ollama",
                f"Ollama does not have the model {self.model!r}",
                f"{self.base_url} lists {sorted(model_names(listing))}",
            )

    async def stream(self, system: str, prompt: str, max_tokens: int) -> AsyncGenerator[str, None]:
        """Answer chunks (about one token each), at most `max_tokens` tokens as Ollama counts them.

        Raises DependencyDown if Ollama cannot answer. Closing this iterator
        closes the HTTP stream, which stops Ollama generating.
        """
        try:
            parts = await self.client.chat(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": prompt},
                ],
                stream=True,
                options={"num_predict": max_tokens},
            )
            async for part in parts:
                text = part.message.content or ""
                if text:
                    yield text
        except (ConnectionError, httpx.HTTPError, TimeoutError) as exc:
            raise self._unreachable(exc) from exc
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise DependencyDown(
                    "ollama",
                    f"Ollama does not have the model {self.model!r}",
                    f"{self.base_url}: {exc.error}",
                ) from exc
            raise self._answered(exc) from exc


class VisionClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def check(self) -> None:
        try:
            response = await self.client.get("/health")
        except httpx.HTTPError as exc:
            raise DependencyDown(
                "vision", "vision is unreachable", f"{self.base_url}: {exc!r}"
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
                "vision", "vision is unreachable", f"{self.base_url}: {exc!r}"
            ) from exc

    async def aclose(self) -> None:
        await self.client.aclose()
