"""`replacement-order` and `replacement-cascade`: what a replacement takes down with it.

`replacement-order`: what routine updates replace, and holds something two
copies cannot share, goes first.

Pulumi replaces a resource by creating the new one before deleting the old
(unless `deleteBeforeReplace`). For a resource that routine updates replace
(a host whose user data carries the image digests, say) that means two at
once, which fails when the resource holds scarce quota (a GPU), a fixed name
or address, or a disk that attaches to one host at a time. Each cloud tells,
through `@replacement_risk`, when its types are replaced routinely and what
they hold; the rule asks for `deleteBeforeReplace` where both are true.

`replacement-cascade`: a resource replaced delete-first must not feed another
VM's user data. "DeleteBeforeCreate implies that we must immediately delete
the resource. For correctness, we must also eagerly delete all resources that
depend directly or indirectly on the resource being replaced and would be
replaced by a change to the relevant dependency" (pulumi/pulumi,
pkg/resource/deploy/step_generator.go). A VM's user data is fixed at creation
on every cloud here (a change replaces the VM, or its template), so a VM whose
user data holds an output of a delete-first resource (its address, its id) is
deleted before it, and is down until the new one exists: an outage of
everything on that VM on every such replacement. The rule reads each user
data the cloud adapters find and looks for the values of the outputs the
delete-first resource computes (its id and the state it was not given), by
value, as the mocks hand each out once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra.checks import Problem, problem, rule
from infra.checks.adapters import all_user_data
from infra.plan.model import RecordedPlan, RecordedResource, reveal

# Outputs shorter than this ("active", a region) say nothing about where they came from.
_MIN_OUTPUT_LENGTH = 7


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


def _computed_outputs(resource: RecordedResource) -> dict[str, str]:
    """The values the provider computed for `resource`: its id and every state field it was not given."""
    found = {"id": resource.id} if len(resource.id) >= _MIN_OUTPUT_LENGTH else {}
    for key, value in (reveal(resource.state) or {}).items():
        if key not in resource.inputs and isinstance(value, str) and len(value) >= _MIN_OUTPUT_LENGTH:
            found[key] = value
    return found


@rule("replacement-cascade")
def replacement_cascade(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    documents = all_user_data(plan)
    for first in plan.resources:
        if not (first.custom and first.delete_before_replace):
            continue
        outputs = _computed_outputs(first)
        for document in documents:
            other = document.resource
            if other.key == first.key:
                continue
            fed = sorted(name for name, value in outputs.items() if value in document.text)
            if fed:
                problems.append(
                    problem(
                        "replacement-cascade",
                        "error",
                        other,
                        f"its user data holds {', '.join(fed)} of {first.name}, which is replaced delete-first: Pulumi then deletes "
                        f"this VM before {first.name} (its user data would change) and it stays down until the new one exists; "
                        f"reach {first.name} through something that outlives it (a load balancer, a reserved address, a DNS name)",
                    )
                )
    return problems
