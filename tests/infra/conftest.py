"""Shared fixtures: plans of the real program under the recording mocks, cached per config."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.plan.run import Plan, plan_stack

PlanOf = Callable[..., Plan]


@pytest.fixture(scope="session")
def plan_of() -> PlanOf:
    """`plan_of(stack="aws-ec2", **{"dixi:domain": "x"})` plans the stack with those overrides."""
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], Plan] = {}

    def make(stack: str = "aws-ec2", **overrides: str) -> Plan:
        key = (stack, tuple(sorted(overrides.items())))
        if key not in cache:
            cache[key] = plan_stack(stack, overrides=overrides)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def ec2_plan(plan_of: PlanOf) -> Plan:
    return plan_of("aws-ec2")


@pytest.fixture(scope="session")
def ecs_plan(plan_of: PlanOf) -> Plan:
    return plan_of("aws")


@pytest.fixture(scope="session")
def gcp_plan(plan_of: PlanOf) -> Plan:
    return plan_of("gcp")
