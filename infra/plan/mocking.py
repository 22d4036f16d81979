"""What a cloud tells the offline engine: deterministic answers for its resources and invokes.

Each cloud's `mocks.py` exports `MOCKS`, a `MockAnswers`; the engine looks
the answer up by type token or invoke token (through `infra.targets`), so a
new cloud adds its answers without touching the engine. A resource type with
no answer of its own keeps its inputs as its state and gets `<name>-id`. An
invoke with no answer returns `{}` to the program and is listed in the plan's
`unanswered_invokes`, which the `mocks-answer-every-invoke` rule reports:
whatever the program computed from it is not what a real run would compute.

Nothing here imports Pulumi.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.config import DixiConfig

ACCOUNT_ID = "123456789012"


def digest(*parts: str) -> str:
    """A stable stand-in for what a cloud would generate (ids, hashes), from `parts`."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


@dataclass
class MockContext:
    """What an answer may read: the stack's validated config (None if it did not validate)."""

    config: DixiConfig | None
    account_id: str = ACCOUNT_ID


# (context, type token, resource name, state) -> the id, or None for `<name>-id`.
# The answer fills computed outputs into `state` (which starts as the inputs).
ResourceAnswer = Callable[[MockContext, str, str, dict[str, Any]], str | None]
# (context, invoke arguments) -> the invoke's result.
InvokeAnswer = Callable[[MockContext, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class MockAnswers:
    """A provider's answers: by type token, by invoke token, and one for its other types."""

    resources: Mapping[str, ResourceAnswer] = field(default_factory=lambda: MappingProxyType({}))
    invokes: Mapping[str, InvokeAnswer] = field(default_factory=lambda: MappingProxyType({}))
    every_resource: ResourceAnswer | None = None  # runs first, for every type of the provider
