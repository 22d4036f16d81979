"""Rules run on a recorded plan: what a provider would only reject at `pulumi up`, and our own.

Each rule is a named function `(plan, root) -> list[Problem]`, registered with
`@rule`. Under mocks no provider checks anything, so these rules validate the
opaque blobs (user data, compose files) against their real upstream schemas,
enforce the cloud rules the APIs enforce, and our security rules. A rule whose
validator is not installed reports a warning that it was skipped, never a
crash.

`policy/` (a CrossGuard pack, later) wraps these same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infra.plan.engine import RecordedPlan, RecordedResource, ResourceKey

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


def rule(name: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        RULES[name] = fn
        return fn

    return register


def problem(name: str, severity: Severity, resource: RecordedResource | None, message: str) -> Problem:
    return Problem(name, severity, resource.key if resource else None, message)


def run_checks(plan: RecordedPlan, root: Path) -> list[Problem]:
    # Imported for their @rule registrations.
    from infra.checks import aws, iam, images, userdata  # noqa: F401

    problems: list[Problem] = []
    for fn in RULES.values():
        problems.extend(fn(plan, root))
    return problems
