"""The offline engine's answers for the providers every cloud uses: random and docker-build."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from infra.plan.mocking import MockAnswers, MockContext, digest


def _password(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state["result"] = "mock-" + digest("password", name)[:24]
    return None


def _image(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    tags = state.get("tags") or [name]
    repo = str(tags[0]).rsplit(":", 1)[0]
    image_digest = "sha256:" + digest("image", name)
    state.update(digest=image_digest, ref=f"{repo}@{image_digest}")
    return None


def _string(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    length = int(state.get("length") or 16)
    state["result"] = digest("string", name)[:length]
    return None


PROVIDER_MOCKS = MappingProxyType(
    {
        "random": MockAnswers(
            resources=MappingProxyType({"random:index/randomPassword:RandomPassword": _password, "random:index/randomString:RandomString": _string})
        ),
        "docker-build": MockAnswers(resources=MappingProxyType({"docker-build:index:Image": _image})),
    }
)
