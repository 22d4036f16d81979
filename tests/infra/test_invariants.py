"""What holds for every stack on every cloud, parametrized over every committed `Pulumi.<stack>.yaml`.

A new target is covered the day its stack file lands: no internet path to
vision or Ollama (with every entry point read by an adapter), every resource
under a `dixi:*` component and named after it, no secret in any user data,
nothing left unpriced, no lookup the mocks could not answer.
"""

from __future__ import annotations

import pytest

from infra import targets
from infra.checks.adapters import all_openings
from infra.plan import stackfiles
from infra.plan.run import ROOT, Plan, plan_stack

STACKS = stackfiles.stack_names(ROOT)


@pytest.fixture(scope="module", params=STACKS)
def plan(request: pytest.FixtureRequest) -> Plan:
    return plan_stack(request.param)


def _problems(plan: Plan, rule: str) -> list[str]:
    return [f"{p.resource}: {p.message}" for p in plan.problems if p.rule == rule]


def test_there_is_a_stack_file_for_every_stack_kind() -> None:
    kinds = {plan_stack(s).recorded.config.stack_kind for s in STACKS}  # type: ignore[union-attr]
    assert kinds == set(targets.KINDS), f"stack kinds without a committed stack file: {set(targets.KINDS) - kinds}"


def test_vision_and_ollama_have_no_path_from_the_internet(plan: Plan) -> None:
    assert _problems(plan, "checks-cover-entry-points") == [], "every firewall, load balancer and VM must be read by an adapter"
    assert _problems(plan, "private-ports-not-public") == []
    assert any(o.from_internet for o in all_openings(plan.recorded)), "the rule read the stack's public entry points (it has some)"


def test_every_resource_sits_under_a_dixi_component_named_after_it(plan: Plan) -> None:
    assert _problems(plan, "parented-by-component") == []


def test_no_secret_reaches_any_user_data(plan: Plan) -> None:
    assert _problems(plan, "secret-not-in-user-data") == []


def test_every_resource_is_priced_or_known_to_be_free(plan: Plan) -> None:
    assert plan.cost.unpriced == [], f"not priced: {plan.cost.unpriced}"
    if plan.cost.items:
        assert plan.cost.seed_monthly is not None, "the seed's figure for the stack's cloud is shown beside the estimate"
    else:
        # A stack that brings no machines (a cluster you already have) is sized by what it asks for.
        assert plan.cost.requests is not None and plan.cost.requests["pods"] > 0, "a stack without a bill shows the cluster requests instead"


def test_the_mocks_answer_every_lookup_the_program_makes(plan: Plan) -> None:
    assert plan.recorded.unanswered_invokes == []


def test_the_committed_stack_plans_without_any_problem(plan: Plan) -> None:
    assert plan.problems == [], [f"{p.rule}: {p.message}" for p in plan.problems]
