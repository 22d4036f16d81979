"""`replacement-order`: what routine updates replace, and holds something two copies cannot share, goes first.

Pulumi replaces a resource by creating the new one before deleting the old
(unless `deleteBeforeReplace`). For a resource that routine updates replace
(a host whose user data carries the image digests, say) that means two at
once, which fails when the resource holds scarce quota (a GPU), a fixed name
or address, or a disk that attaches to one host at a time. Each cloud tells,
through `@replacement_risk`, when its types are replaced routinely and what
they hold; the rule asks for `deleteBeforeReplace` where both are true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra.checks import Problem, problem, rule
from infra.plan.model import RecordedPlan, RecordedResource


@dataclass(frozen=True)
class ReplacementRisk:
    routinely_replaced_by: str | None  # what replaces it on routine updates, None if nothing does
    holds: list[str] = field(default_factory=list)  # what two copies could not share


RiskFn = Callable[[RecordedResource, RecordedPlan], ReplacementRisk]
RISKS: dict[str, RiskFn] = {}


def replacement_risk(*types: str) -> Callable[[RiskFn], RiskFn]:
    def register(fn: RiskFn) -> RiskFn:
        for type_ in types:
            RISKS[type_] = fn
        return fn

    return register


def routine_by_option(resource: RecordedResource) -> str | None:
    """`replaceOnChanges` makes every change to those inputs a replacement."""
    if resource.replace_on_changes:
        return f"replaceOnChanges {resource.replace_on_changes}"
    return None


@rule("replacement-order")
def replacement_order(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for resource in plan.resources:
        assess = RISKS.get(resource.type)
        if assess is None or resource.delete_before_replace:
            continue
        risk = assess(resource, plan)
        if risk.routinely_replaced_by and risk.holds:
            problems.append(
                problem(
                    "replacement-order",
                    "error",
                    resource,
                    f"is replaced on routine updates ({risk.routinely_replaced_by}) and holds {'; '.join(risk.holds)}, "
                    "so creating the new one before deleting the old fails; set deleteBeforeReplace",
                )
            )
    return problems
