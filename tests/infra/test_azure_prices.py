"""Azure prices: how each resource of the `azure` stack kind is billed, and what the default costs against the seed.

The figures come from the price table, never restated here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from infra.azure import catalog
from infra.azure import prices as azure
from infra.cost.estimate import CostReport, estimate
from infra.cost.pricing import AS_OF
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.run import Plan

EAST_US = SimpleNamespace(region="eastus")
PlanOf = Callable[..., Plan]


def _res(type_: str, name: str, /, state: dict[str, Any] | None = None, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, name, True, None, inputs, id=f"{name}-id", state=state or {})


def _estimate(*resources: RecordedResource) -> CostReport:
    return estimate(RecordedPlan("dixi", "azure", EAST_US, list(resources)))


def _pool(min_count: int, max_count: int) -> RecordedResource:
    return _res(azure.AGENT_POOL, "gpu", vmSize=catalog.DEFAULT_GPU_VM_SIZE, enableAutoScaling=True, minCount=min_count, maxCount=max_count, osDiskSizeGB=128)


def test_every_price_names_a_source_and_a_date() -> None:
    for price in azure.PRICER.prices:
        assert price.source.startswith("https://") and price.as_of == AS_OF, price


def test_every_node_size_the_config_accepts_has_a_price_in_every_accepted_region() -> None:
    for region in catalog.LOCATIONS:
        for size in (*catalog.SYSTEM_VM_SIZES, *catalog.GPU_VM_SIZES):
            assert size in azure.VM_HOURLY[region], f"{size} in {region}"


def test_a_gpu_pool_allowed_to_scale_to_zero_is_billed_for_the_node_ollama_keeps_up() -> None:
    report = _estimate(_pool(0, 1))
    vm = [i for i in report.items if catalog.DEFAULT_GPU_VM_SIZE in i.sku]
    assert len(vm) == 1 and "x1" in vm[0].sku and "keep 1 up" in vm[0].sku
    assert vm[0].monthly == round(azure.VM_HOURLY["eastus"][catalog.DEFAULT_GPU_VM_SIZE].monthly(1), 2)
    assert report.gpus == 1


def test_the_gpu_pool_is_billed_for_every_gpu_the_workloads_ask_for_within_its_bounds(plan_of: PlanOf) -> None:
    both = plan_of("azure", **{"dixi:visionGpu": "true", "dixi:aksGpuMaxNodes": "2"})
    assert both.cost.gpus == 2, "Ollama and vision each hold a T4: two NC4as_T4_v3 nodes run"
    assert any(catalog.DEFAULT_GPU_VM_SIZE in i.sku and "x2" in i.sku for i in both.cost.items)
    assert both.cost.monthly > plan_of("azure").cost.monthly


def test_a_gpu_pool_with_a_minimum_is_billed_for_the_minimum() -> None:
    report = _estimate(_pool(2, 3))
    assert report.gpus == 2 and any("x2" in i.sku for i in report.items)


def test_the_standard_tier_adds_the_uptime_sla_and_free_adds_nothing() -> None:
    def cluster(tier: str) -> RecordedResource:
        return _res(azure.CLUSTER, tier, location="eastus", sku={"name": "Base", "tier": tier}, agentPoolProfiles=[])

    free, standard = _estimate(cluster("Free")), _estimate(cluster("Standard"))
    assert not any("tier" in i.sku for i in free.items)
    assert standard.monthly - free.monthly == pytest.approx(azure.AKS_STANDARD_HOUR.monthly(), abs=0.01)


def test_identities_role_assignments_and_containers_cost_nothing_by_themselves() -> None:
    report = _estimate(
        _res("azure-native:authorization:RoleAssignment", "r"),
        _res("azure-native:managedidentity:UserAssignedIdentity", "i"),
        _res("azure-native:managedidentity:FederatedIdentityCredential", "f"),
        _res("azure-native:storage:BlobContainer", "c"),
        _res("azure-native:resources:ResourceGroup", "g"),
        _res("azure-native:monitor:DataCollectionRuleAssociation", "a"),
    )
    assert report.items == [] and report.unpriced == []


def test_usage_priced_items_say_what_they_assume(plan_of: PlanOf) -> None:
    usage = [i.sku for i in plan_of("azure").cost.items if any(w in i.sku for w in ("GB/month", "GB (", "public IPv4"))]
    assert usage and all("assumed" in sku for sku in usage), usage


def test_the_default_azure_stack_prices_everything_and_costs_less_than_the_seeds_architecture(plan_of: PlanOf) -> None:
    cost = plan_of("azure").cost
    azure_unpriced = [k for k in cost.unpriced if k.type.startswith("azure-native:")]
    assert azure_unpriced == []
    assert cost.seed_monthly == azure.SEED_MONTHLY
    # The goal was half the seed's figure; on-demand it cannot be (see the report): the one GPU
    # node Ollama needs is ~41% of the seed by itself. What the stack does save is the second GPU VM.
    saved = azure.SEED_MONTHLY - cost.monthly
    assert saved >= azure.VM_HOURLY["eastus"][catalog.DEFAULT_GPU_VM_SIZE].monthly(1) * 0.75, (cost.monthly, azure.SEED_MONTHLY)
