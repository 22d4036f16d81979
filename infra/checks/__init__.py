"""Rules run on a recorded plan: what a provider would only reject at `pulumi up`, and our own.

Each rule is a named function `(plan, root) -> list[Problem]`, registered with
`@rule`. Under mocks no provider checks anything, so these rules validate the
opaque blobs (user data, compose files, policies) against their real upstream
schemas, enforce the rules the cloud APIs enforce, and our security rules.

Rules that must understand many clouds (is Ollama reachable from the
internet? what user data does this VM boot with? how many backend replicas
can run?) read the plan through adapters, registered per type token by each
cloud's `checks.py` (`infra.checks.adapters`). A rule never says "clean"
about something it could not read: a validator that is not installed is a
warning that the check was skipped, a VM, firewall or load balancer type that
no adapter covers is an error of its own (`checks-cover-entry-points`), and a
plan that runs containers in which no workload adapter finds the backend is a
warning that `event-bus-for-replicas` could not judge it.

`policy/` (a CrossGuard pack, later) wraps these same rules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infra import targets
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    rule: str
    severity: Severity
    resource: ResourceKey | None
    message: str

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "resource": self.resource.as_json() if self.resource else None,
            "message": self.message,
        }


RuleFn = Callable[[RecordedPlan, Path], list[Problem]]
RULES: dict[str, RuleFn] = {}
# The shared rule modules; each cloud's `checks.py` is found through `infra.targets`.
_SHARED = ("adapters", "structure", "userdata", "images", "exposure", "replacement", "replicas")


def rule(name: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        RULES[name] = fn
        return fn

    return register


def problem(name: str, severity: Severity, resource: RecordedResource | None, message: str) -> Problem:
    return Problem(name, severity, resource.key if resource else None, message)


def load_rules() -> dict[str, RuleFn]:
    """Import every rule and adapter module (their decorators register them) and return the rules."""
    for name in _SHARED:
        importlib.import_module(f"{__name__}.{name}")
    targets.modules("checks")
    return RULES


def run_checks(plan: RecordedPlan, root: Path, skip: frozenset[str] = frozenset()) -> list[Problem]:
    """Every rule's problems, except the rules named in `skip` (`dixi scan` runs k8s-checkov's checks itself)."""
    problems: list[Problem] = []
    for name, fn in load_rules().items():
        if name not in skip:
            problems.extend(fn(plan, root))
    return problems
