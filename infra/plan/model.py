"""The recorded plan as plain data: what a stack registered, with no Pulumi runtime behind it.

The engine (`infra.plan.engine`) fills these from the mock monitor; checks,
cost and output read them. Nothing here imports Pulumi, so a rule or a
pricer can be built and tested from hand-made resources.

Resources are keyed by (type, name), never by URN: mock URNs differ from the
real engine's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.config import DixiConfig

SECRET_PLACEHOLDER = "[secret]"


class Secret:
    """An input the program marked secret; its value is kept for checks, never printed."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return SECRET_PLACEHOLDER


def reveal(value: Any) -> Any:
    """`value` with every `Secret` unwrapped (for checks that must read secret-wrapped inputs)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


_SECRET_FIELD = re.compile(r"password|secret|token|credential|private|key$", re.I)


def secret_values(value: Any) -> Iterator[Any]:
    """The values the program marked secret anywhere in `value`.

    A secret scalar is one value. A secret list or object is how Pulumi marks
    a container once any part of it is secret (docker-build's `registries`,
    say, for its password), so of those only the fields named like a secret
    (password, token, key, ...) count.
    """
    if isinstance(value, Secret):
        if isinstance(value.value, dict | list):
            yield from _named_secrets(value.value)
        else:
            yield from secret_values(value.value) if isinstance(value.value, Secret) else [value.value]
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from secret_values(item)


def _named_secrets(value: Any, field: str = "") -> Iterator[Any]:
    if isinstance(value, Secret):
        yield from _named_secrets(value.value, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _named_secrets(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _named_secrets(item, field)
    elif _SECRET_FIELD.search(field):
        yield value


def as_dict(value: Any) -> Mapping[str, Any]:
    """An input read as an object: `{}` when the plan holds something else (or nothing)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """An input read as a list: `[]` when the plan holds something else."""
    return list(value) if isinstance(value, list | tuple) else []


def as_number(value: Any, default: float = 0.0) -> float:
    """An input read as a number (the engine sends numbers as floats, some providers as strings), else `default`."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True, order=True)
class ResourceKey:
    type: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name}

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


@dataclass
class RecordedResource:
    """One `RegisterResource` request, as the engine received it, plus the mocks' answer.

    `depends_on` holds the dependencies that no input explains (the program's
    explicit `depends_on`, expanded to custom resources the way the SDK sends
    them); `dependencies` holds all of them.
    """

    type: str
    name: str
    custom: bool
    parent: ResourceKey | None
    inputs: dict[str, Any]
    dependencies: list[ResourceKey] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    depends_on: list[ResourceKey] = field(default_factory=list)
    # Resource hooks bound to it, by when they run (`before_update` -> hook names).
    hooks: dict[str, list[str]] = field(default_factory=dict)
    id: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    # The explicit provider resource it is created through, if any (the program passed one).
    provider: ResourceKey | None = None
    # For each top-level input, the resources its value came from (the SDK's `propertyDependencies`).
    property_dependencies: dict[str, list[ResourceKey]] = field(default_factory=dict)

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.type, self.name)

    @property
    def package(self) -> str:
        """The provider package of the type token (`aws`, `gcp`, `kubernetes`, `dixi`, ...)."""
        return self.type.split(":", 1)[0]

    @property
    def class_name(self) -> str:
        """The last part of the type token (`Instance` in `aws:ec2/instance:Instance`)."""
        return self.type.rsplit(":", 1)[-1]


@dataclass
class RecordedPlan:
    """Everything one stack registered under the mocks, with its validated config."""

    project: str
    stack: str
    config: DixiConfig | None
    resources: list[RecordedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Invoke tokens the mocks had no answer for: the program got `{}` back, so
    # whatever it computed from them is not what a real run would compute.
    unanswered_invokes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of_type(self, *types: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type in types]

    def one(self, type_: str, name: str) -> RecordedResource:
        for resource in self.resources:
            if resource.type == type_ and resource.name == name:
                return resource
        raise KeyError(f"no {type_} named {name!r} in the plan of {self.stack}")

    def get(self, key: ResourceKey) -> RecordedResource | None:
        for resource in self.resources:
            if resource.key == key:
                return resource
        return None

    def producer(self, value: Any, *types: str) -> RecordedResource | None:
        """The resource (of one of `types`, if given) whose id or an output equals `value`.

        Under the mocks each id, ARN and name is handed out once, so this is
        how a rule follows a reference such as an instance's `iamInstanceProfile`.
        """
        if not isinstance(value, str) or not value:
            return None
        candidates = [r for r in self.resources if r.custom and (not types or r.type in types)]
        for resource in candidates:
            if resource.id == value:
                return resource
        for resource in candidates:
            if any(v == value for v in resource.state.values() if isinstance(v, str)):
                return resource
        return None

    def children_of(self, parent: ResourceKey) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent]

    def ancestors(self, resource: RecordedResource) -> list[RecordedResource]:
        """The parent chain of `resource`, nearest first."""
        chain: list[RecordedResource] = []
        seen: set[ResourceKey] = set()
        current = resource.parent
        while current is not None and current not in seen:
            seen.add(current)
            parent = self.get(current)
            if parent is None:
                break
            chain.append(parent)
            current = parent.parent
        return chain

    def depends_transitively(self, resource: RecordedResource) -> set[ResourceKey]:
        """Every resource `resource` waits for, directly or through others."""
        by_key = {r.key: r for r in self.resources}
        seen: set[ResourceKey] = set()
        stack = list(resource.dependencies)
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            found = by_key.get(key)
            if found is not None:
                stack.extend(found.dependencies)
        return seen
