"""The monthly estimate: each cloud's dated prices, how the plan's own resources are billed, what is left out.

These tests hold the estimator to its decisions (which row it bills, what it
assumes, what it refuses to guess); they do not restate the price table.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra import targets
from infra.aws import catalog
from infra.aws import prices as aws_prices
from infra.cost.estimate import estimate, pricers
from infra.cost.pricing import HOURS_PER_MONTH, Price
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.run import Plan

PlanOf = Callable[..., Plan]


def _items(plan: Plan, resource_type: str) -> dict[str, float]:
    return {i.sku: i.monthly for i in plan.cost.items if i.resource.type == resource_type}


def test_every_price_of_every_cloud_has_a_source_and_a_date() -> None:
    table = [price for pricer in set(pricers().values()) for price in pricer.prices]
    assert table, "the registered clouds price something"
    for price in table:
        assert price.source.startswith("https://") and price.as_of and price.amount > 0, price


def test_every_gpu_type_the_config_accepts_has_a_price_in_every_region_it_accepts() -> None:
    for region in catalog.REGIONS:
        missing = set(catalog.GPU_TYPES) - set(aws_prices.INSTANCE_HOURLY.get(region, {}))
        assert not missing, f"{region}: accepted but not priced: {missing}"


def test_hourly_prices_are_billed_for_730_hours_and_monthly_ones_as_they_are() -> None:
    assert Price(1.0, "hour", "https://x").monthly(2) == 2 * HOURS_PER_MONTH
    assert Price(1.0, "GB-month", "https://x").monthly(2) == 2


def test_the_host_is_billed_as_its_own_type_in_its_own_region(plan_of: PlanOf) -> None:
    plan = plan_of(**{"aws:region": "us-west-2"})
    skus = _items(plan, "aws:ec2/instance:Instance")
    assert "g4dn.xlarge on-demand us-west-2" in skus, skus
    assert "EBS gp3 100 GB (root volume)" in skus and "public IPv4 address (host)" in skus


def test_a_bigger_instance_changes_only_the_hosts_instance_item(plan_of: PlanOf, ec2_plan: Plan) -> None:
    bigger = plan_of(**{"dixi:gpuInstanceType": "g5.xlarge"})
    before = {(i.resource, i.sku): i.monthly for i in ec2_plan.cost.items}
    after = {(i.resource, i.sku): i.monthly for i in bigger.cost.items}
    changed = {k[1] for k in set(before) ^ set(after)} | {k[1] for k in set(before) & set(after) if before[k] != after[k]}
    assert changed == {"g4dn.xlarge on-demand us-east-1", "g5.xlarge on-demand us-east-1"}, changed
    assert bigger.cost.monthly > ec2_plan.cost.monthly


def test_a_bigger_data_volume_costs_more(plan_of: PlanOf, ec2_plan: Plan) -> None:
    bigger = plan_of(**{"dixi:dataVolumeGiB": "500"})
    assert _items(bigger, "aws:ebs/volume:Volume") == {"EBS gp3 500 GB (data volume)": aws_prices.EBS_GP3_GB_MONTH.monthly(500)}
    assert bigger.cost.monthly > ec2_plan.cost.monthly


def test_usage_priced_items_say_the_usage_they_assume(ec2_plan: Plan) -> None:
    for resource_type in ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"):
        assert all("(assumed)" in sku for sku in _items(ec2_plan, resource_type)), resource_type
    logs = _items(ec2_plan, "aws:cloudwatch/logGroup:LogGroup")
    assert any("ingest" in sku and "(assumed)" in sku for sku in logs) and any("30-day retention" in sku for sku in logs)


def test_the_estimate_is_the_same_every_run(plan_of: PlanOf, ec2_plan: Plan) -> None:
    from infra.plan.run import plan_stack

    again = plan_stack("aws-ec2")
    assert [(i.resource, i.sku, i.monthly) for i in again.cost.items] == [(i.resource, i.sku, i.monthly) for i in ec2_plan.cost.items]
    assert again.cost.monthly == ec2_plan.cost.monthly


def test_the_default_stack_costs_less_than_half_the_seeds_aws_figure(ec2_plan: Plan) -> None:
    assert ec2_plan.cost.seed_monthly == aws_prices.SEED_MONTHLY
    assert ec2_plan.cost.monthly < ec2_plan.cost.seed_monthly / 2, ec2_plan.cost.monthly
    assert ec2_plan.cost.gpus == 1


def test_a_resource_type_without_a_price_is_listed_as_unpriced_not_guessed() -> None:
    nat = RecordedResource("aws:ec2/natGateway:NatGateway", "nat", True, None, {})
    unknown_cloud = RecordedResource("linode:index/instance:Instance", "vm", True, None, {})
    report = estimate(RecordedPlan("dixi", "t", None, [nat, unknown_cloud]))
    assert report.monthly == 0 and [k.name for k in report.unpriced] == ["nat", "vm"]


@pytest.mark.parametrize("cloud", sorted(c for c in targets.CLOUDS.values() if c.module("prices")), ids=lambda c: c.name)
def test_each_cloud_with_prices_names_the_seeds_figure_when_the_seed_has_one(cloud: targets.Cloud) -> None:
    module = cloud.module("prices")
    assert module is not None and module.PRICER.seed_monthly is not None, f"{cloud.name}: the seed gives a monthly figure for it"
