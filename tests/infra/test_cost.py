"""The monthly estimate: sourced prices, the plan's own resources, and what it leaves unpriced."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.cost import prices
from infra.cost.estimate import estimate
from infra.plan.engine import RecordedPlan, RecordedResource
from infra.plan.run import Plan

PlanOf = Callable[..., Plan]


def test_every_price_has_a_source_and_a_date() -> None:
    table = [p for region in prices.AWS_INSTANCE_HOURLY.values() for p in region.values()]
    table += [v for k, v in vars(prices).items() if k.startswith("AWS_") and isinstance(v, prices.Price)]
    assert table and all(p.source.startswith("https://") and p.as_of and p.amount > 0 for p in table)


def test_the_gpu_host_is_priced_at_730_hours_of_its_on_demand_rate(ec2_plan: Plan) -> None:
    (item,) = [i for i in ec2_plan.cost.items if i.sku == "g4dn.xlarge on-demand us-east-1"]
    assert item.monthly == round(0.526 * 730, 2)


def test_the_total_is_the_sum_of_the_items_as_printed(ec2_plan: Plan) -> None:
    assert ec2_plan.cost.monthly == round(sum(round(i.monthly, 2) for i in ec2_plan.cost.items), 2)
    assert all(i.monthly == round(i.monthly, 2) for i in ec2_plan.cost.items)


def test_the_default_stack_costs_less_than_half_the_seeds_aws_figure(ec2_plan: Plan) -> None:
    assert ec2_plan.cost.seed_monthly == 892.0
    assert 400 < ec2_plan.cost.monthly < 892 / 2, ec2_plan.cost.monthly
    assert ec2_plan.cost.unpriced == [], "every resource of the stack is priced or known to be free"


def test_a_bigger_instance_and_volume_cost_more(plan_of: PlanOf, ec2_plan: Plan) -> None:
    bigger = plan_of(**{"dixi:gpuInstanceType": "g5.xlarge", "dixi:rootVolumeGiB": "200"})
    assert bigger.cost.monthly - ec2_plan.cost.monthly == pytest.approx((1.006 - 0.526) * 730 + 100 * 0.08, abs=0.02)


def test_a_resource_type_without_a_price_is_listed_as_unpriced_not_guessed() -> None:
    nat = RecordedResource("aws:ec2/natGateway:NatGateway", "nat", True, None, {}, [], False, False)
    plan = RecordedPlan("dixi", "t", None, [nat], {}, [], [])
    report = estimate(plan)
    assert report.monthly == 0 and [k.name for k in report.unpriced] == ["nat"]
