"""An Ollama API test double: what the backend uses, over real HTTP.

Implements GET /, GET /api/version, GET /api/tags, POST /api/chat and
POST /api/generate (streamed as NDJSON, like Ollama). The answer is
deterministic: "Dixi heard: <last user message>", one word per chunk, so
tests know what to expect. Unknown models get Ollama's 404.

For a test in another process, two routes that are not Ollama's:
GET /_double/stats answers how many chat and generate requests the double
answered (a known model; not a 400 or 404) as {"chat": n, "generate": n},
and POST /_double/reset sets both counts to 0 and empties `requests`.

Run standalone: python -m dixi_devtools.ollama_double --port 11434
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

VERSION = "0.9.6"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def canonical(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


@dataclass
class OllamaDouble:
    models: list[str] = field(default_factory=lambda: ["llama3.2"])
    first_chunk_delay: float = 0.0
    chunk_delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=lambda: {"chat": 0, "generate": 0})

    def answer_for(self, prompt: str) -> list[str]:
        words = f"Dixi heard: {prompt[:200]}".split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    def has(self, model: str) -> bool:
        return canonical(model) in {canonical(m) for m in self.models}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.root, methods=["GET", "HEAD"]),
                Route("/api/version", self.version),
                Route("/api/tags", self.tags),
                Route("/api/chat", self.chat, methods=["POST"]),
                Route("/api/generate", self.generate, methods=["POST"]),
                Route("/_double/stats", self.stats),
                Route("/_double/reset", self.reset, methods=["POST"]),
            ]
        )

    async def root(self, _: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def version(self, _: Request) -> Response:
        return JSONResponse({"version": VERSION})

    async def tags(self, _: Request) -> Response:
        return JSONResponse(
            {
                "models": [
                    {
                        "name": canonical(m),
                        "model": canonical(m),
                        "modified_at": _now(),
                        "size": 2019393189,
                        "digest": "a80c4f17acd5" + "0" * 52,
                        "details": {
                            "format": "gguf",
                            "family": "llama",
                            "families": ["llama"],
                            "parameter_size": "3.2B",
                            "quantization_level": "Q4_K_M",
                        },
                    }
                    for m in self.models
                ]
            }
        )

    async def stats(self, _: Request) -> Response:
        return JSONResponse(dict(self.answered))

    async def reset(self, _: Request) -> Response:
        self.requests.clear()
        for kind in self.answered:
            self.answered[kind] = 0
        return JSONResponse(dict(self.answered))

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "invalid JSON"}, status_code=400)
        if not isinstance(body, dict) or not body.get("model"):
            return JSONResponse({"error": "model is required"}, status_code=400)
        self.requests.append(body)
        if not self.has(str(body["model"])):
            return JSONResponse(
                {"error": f'model "{body["model"]}" not found, try pulling it first'},
                status_code=404,
            )
        return body

    async def chat(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        self.answered["chat"] += 1
        users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
        words = self.answer_for(users[-1] if users else "")

        def part(text: str, done: bool) -> dict[str, Any]:
            out: dict[str, Any] = {
                "model": body["model"],
                "created_at": _now(),
                "message": {"role": "assistant", "content": text},
                "done": done,
            }
            if done:
                out |= {"done_reason": "stop", "total_duration": 1, "eval_count": len(words)}
            return out

        return await self._respond(body, words, part)

    async def generate(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        self.answered["generate"] += 1
        words = self.answer_for(str(body.get("prompt", "")))

        def part(text: str, done: bool) -> dict[str, Any]:
            out: dict[str, Any] = {
                "model": body["model"],
                "created_at": _now(),
                "response": text,
                "done": done,
            }
            if done:
                out |= {"done_reason": "stop", "total_duration": 1, "eval_count": len(words)}
            return out

        return await self._respond(body, words, part)

    async def _respond(self, body: dict[str, Any], words: list[str], part: Any) -> Response:
        if not body.get("stream", True):
            await asyncio.sleep(self.first_chunk_delay)
            return JSONResponse(part("".join(words), True))

        async def lines() -> AsyncIterator[bytes]:
            await asyncio.sleep(self.first_chunk_delay)
            for i, word in enumerate(words):
                if i and self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
                yield (json.dumps(part(word, False)) + "\n").encode()
            yield (json.dumps(part("", True)) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--models", default="llama3.2", help="comma-separated")
    parser.add_argument("--chunk-delay", type=float, default=0.02)
    args = parser.parse_args()
    double = OllamaDouble(models=args.models.split(","), chunk_delay=args.chunk_delay)
    uvicorn.run(double.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
