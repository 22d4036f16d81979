"""Rules on the plan as a whole: where resources sit, what the mocks could not answer, what is not priced.

- `parented-by-component`: every cloud resource sits under a `dixi:*` component
  and is named after it, so two components never collide and a stray
  resource cannot hide at the top of the stack.
- `mocks-answer-every-invoke`: a lookup the offline mocks had no answer for
  gave the program `{}`; whatever it computed from that is not what a real
  run computes (a warning, naming the invoke).
- `everything-priced`: a resource the estimator has no price for is left out
  of the monthly figure (a warning, so the total is never silently low).
"""

from __future__ import annotations

from pathlib import Path

from infra.checks import Problem, problem, rule
from infra.plan.model import RecordedPlan

COMPONENT_PREFIX = "dixi:"


@rule("parented-by-component")
def parented_by_component(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for resource in plan.resources:
        if resource.type == "pulumi:pulumi:Stack" or resource.type.startswith("pulumi:providers:"):
            continue
        parents = plan.ancestors(resource)
        parent = parents[0] if parents else None
        if resource.type.startswith(COMPONENT_PREFIX) and (parent is None or parent.type == "pulumi:pulumi:Stack"):
            continue  # a top-level component of the program
        if parent is None or not parent.type.startswith(COMPONENT_PREFIX):
            where = f"under {parent.type} {parent.name}" if parent else "at the top of the stack"
            problems.append(problem("parented-by-component", "error", resource, f"sits {where}, not under a dixi:* component; create it with ResourceOptions(parent=<component>)"))
        elif not resource.name.startswith(parent.name):
            problems.append(problem("parented-by-component", "error", resource, f"is not named after its component {parent.name!r}; name children f\"{{name}}-...\" so two components never collide"))
    return problems


@rule("mocks-answer-every-invoke")
def mocks_answer_every_invoke(plan: RecordedPlan, root: Path) -> list[Problem]:
    return [
        problem("mocks-answer-every-invoke", "warning", None, f"the offline mocks have no answer for the invoke {token}, so the program got {{}}; add one to the cloud's infra/<cloud>/mocks.py")
        for token in plan.unanswered_invokes
    ]


@rule("everything-priced")
def everything_priced(plan: RecordedPlan, root: Path) -> list[Problem]:
    from infra.cost.estimate import estimate

    return [
        problem("everything-priced", "warning", plan.get(key), "has no price, so the monthly figure leaves it out; price it (or list it as free) in the cloud's infra/<cloud>/prices.py")
        for key in estimate(plan).unpriced
    ]
