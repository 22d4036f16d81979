"""DigitalOcean prices: how each resource of the `do` stack kind is billed, on hand-made plans.

One decision each (what is billed, how many times, for how long, what is refused);
the figures come from the price tables, never restated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest

from infra.cost.estimate import CostReport, estimate, pricers
from infra.cost.pricing import AS_OF, HOURS_PER_MONTH, Price
from infra.digitalocean import catalog
from infra.digitalocean import prices as do
from infra.plan.model import RecordedPlan, RecordedResource

TOR1 = SimpleNamespace(region="tor1")
P = "digitalocean:index/"


def _res(type_: str, name: str, /, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, name, True, None, inputs, id=f"{name}-id")


def _estimate(*resources: RecordedResource) -> CostReport:
    return estimate(RecordedPlan("dixi", "do", TOR1, list(resources)))


def _droplet(name: str, size: str, **inputs: Any) -> RecordedResource:
    return _res(do.DROPLET, name, region="tor1", size=size, image="ubuntu-24-04-x64", **inputs)


def _bucket(name: str) -> RecordedResource:
    return _res(do.SPACES_BUCKET, name, name=name, region="tor1", acl="private")


def _plan() -> list[RecordedResource]:
    """The stack's shape: two app Droplets, the GPU Droplet, the models volume, one balancer, two buckets, the registry."""
    return [
        _droplet("dixi-app-0", catalog.DEFAULT_APP_SIZE),
        _droplet("dixi-app-1", catalog.DEFAULT_APP_SIZE),
        _droplet("dixi-gpu", catalog.DEFAULT_GPU_SIZE),
        _res(do.VOLUME, "models", region="tor1", size=100),
        _res(do.LOAD_BALANCER, "dixi", region="tor1", sizeUnit=1),
        _bucket("dixi-models"),
        _bucket("dixi-uploads"),
        _res(do.CONTAINER_REGISTRY, "dixi", subscriptionTierSlug="basic"),
    ]


def test_every_price_names_a_source_and_a_date() -> None:
    for price in do.PRICER.prices:
        assert price.source.startswith("https://") and price.as_of == AS_OF, price


def test_the_estimator_prices_digitalocean_resources_with_this_pricer() -> None:
    assert pricers()["digitalocean"] is do.PRICER


def test_every_resource_type_the_stack_creates_is_priced_or_free() -> None:
    billed = [
        *_plan(),
        _res(
            do.DATABASE_CLUSTER,
            "bus",
            engine="valkey",
            version="8",
            size="db-s-1vcpu-1gb",
            nodeCount=1,
            region="tor1",
        ),
    ]
    free = [
        _res(f"{P}{kind}", kind)
        for kind in (
            "vpc:Vpc",
            "firewall:Firewall",
            "certificate:Certificate",
            "domain:Domain",
            "dnsRecord:DnsRecord",
            "volumeAttachment:VolumeAttachment",
            "monitorAlert:MonitorAlert",
            "spacesKey:SpacesKey",
            "containerRegistryDockerCredentials:ContainerRegistryDockerCredentials",
            "databaseFirewall:DatabaseFirewall",
            "databaseUser:DatabaseUser",
            "project:Project",
            "projectResources:ProjectResources",
        )
    ]
    report = _estimate(*billed, *free)
    assert report.unpriced == []
    assert {i.resource.name for i in report.items} == {r.name for r in billed}


def test_a_nat_gateway_is_not_taken_for_a_free_vpc() -> None:
    report = _estimate(_res(f"{P}vpcNatGateway:VpcNatGateway", "nat"))
    assert [k.name for k in report.unpriced] == ["nat"]


def test_the_stacks_shape_is_billed_once_per_resource_and_the_gpu_droplet_dominates() -> None:
    report = _estimate(*_plan())
    assert len(report.items) == 8, [i.sku for i in report.items]
    largest = max(report.items, key=lambda i: i.monthly)
    assert largest.resource.name == "dixi-gpu" and "GPU droplet" in largest.sku
    assert report.gpus == catalog.SIZES[catalog.DEFAULT_GPU_SIZE].gpus
    assert report.monthly == pytest.approx(sum(i.monthly for i in report.items))


def test_spaces_is_billed_once_however_many_buckets_and_the_others_say_where() -> None:
    report = _estimate(*_plan())
    spaces = [i for i in report.items if i.resource.type == do.SPACES_BUCKET]
    assert len(spaces) == 2
    assert sum(i.monthly for i in spaces) == pytest.approx(do.SPACES_MONTH.monthly())
    free = [i for i in spaces if i.monthly == 0]
    assert len(free) == 1 and "billed on dixi-models" in free[0].sku


def test_the_spaces_subscription_lands_on_the_same_bucket_whatever_the_registration_order() -> None:
    forward, backward = _estimate(*_plan()), _estimate(*reversed(_plan()))
    charged = {
        i.resource.name for i in forward.items if i.resource.type == do.SPACES_BUCKET and i.monthly
    }
    assert (
        charged
        == {
            i.resource.name
            for i in backward.items
            if i.resource.type == do.SPACES_BUCKET and i.monthly
        }
        == {"dixi-models"}
    )


def test_a_gpu_droplet_is_billed_every_hour_of_the_month_and_an_app_droplet_at_its_monthly_cap() -> (
    None
):
    gpu, app = catalog.SIZES[catalog.DEFAULT_GPU_SIZE], catalog.SIZES[catalog.DEFAULT_APP_SIZE]
    report = _estimate(_droplet("gpu", gpu.slug), _droplet("app", app.slug))
    billed = {i.resource.name: i.monthly for i in report.items}
    assert billed["gpu"] == pytest.approx(gpu.hourly_usd * HOURS_PER_MONTH, abs=0.01)
    assert (
        billed["app"] == pytest.approx(app.monthly_usd)
        and billed["app"] < app.hourly_usd * HOURS_PER_MONTH
    )


def test_the_gpu_droplets_sku_names_its_gpus_and_region() -> None:
    gpu = catalog.SIZES[catalog.DEFAULT_GPU_SIZE]
    (item,) = _estimate(_droplet("gpu", gpu.slug)).items
    assert item.sku == f"{gpu.slug} GPU droplet (1 x {gpu.gpu_model}) tor1"


def test_every_gpu_of_every_gpu_droplet_is_counted() -> None:
    eight = next(s for s in catalog.SIZES.values() if s.gpus == 8)
    report = _estimate(
        _droplet("big", eight.slug),
        _droplet("small", catalog.DEFAULT_GPU_SIZE),
        _droplet("app", catalog.DEFAULT_APP_SIZE),
    )
    assert report.gpus == 9


def test_a_droplet_of_a_size_outside_the_catalog_or_with_backups_is_not_guessed_at() -> None:
    report = _estimate(
        _droplet("odd", "s-64vcpu-1tb"),
        _droplet("backed-up", catalog.DEFAULT_APP_SIZE, backups=True),
    )
    assert report.items == [] and sorted(k.name for k in report.unpriced) == ["backed-up", "odd"]


def test_a_volume_is_billed_by_its_size_and_one_from_a_snapshot_of_unknown_size_is_not() -> None:
    small, large = (
        _estimate(_res(do.VOLUME, "v", size=10)),
        _estimate(_res(do.VOLUME, "v", size=40)),
    )
    assert large.monthly == pytest.approx(4 * small.monthly)
    assert [k.name for k in _estimate(_res(do.VOLUME, "snap", snapshotId="123")).unpriced] == [
        "snap"
    ]


def test_a_load_balancer_is_billed_per_node_and_has_one_unless_told() -> None:
    one, unset, three = (
        _estimate(_res(do.LOAD_BALANCER, "lb", **extra))
        for extra in ({"sizeUnit": 1}, {}, {"sizeUnit": 3})
    )
    assert one.monthly == unset.monthly == do.LB_NODE_MONTH.monthly()
    assert three.monthly == pytest.approx(3 * one.monthly) and "3 nodes" in three.items[0].sku


def test_network_and_global_load_balancers_have_prices_of_their_own_and_legacy_sizes_none() -> None:
    network = _estimate(_res(do.LOAD_BALANCER, "nlb", type="REGIONAL_NETWORK", sizeUnit=2))
    assert network.monthly == pytest.approx(do.LB_NETWORK_NODE_MONTH.monthly(2))
    assert (
        _estimate(_res(do.LOAD_BALANCER, "glb", type="GLOBAL")).monthly
        == do.LB_GLOBAL_MONTH.monthly()
    )
    assert [k.name for k in _estimate(_res(do.LOAD_BALANCER, "old", size="lb-small")).unpriced] == [
        "old"
    ]


def test_managed_valkey_is_billed_per_node_and_other_engines_are_not_guessed_at() -> None:
    def cluster(engine: str, nodes: int) -> CostReport:
        return _estimate(
            _res(
                do.DATABASE_CLUSTER,
                "db",
                engine=engine,
                size="db-s-1vcpu-2gb",
                nodeCount=nodes,
                region="tor1",
            )
        )

    assert cluster("valkey", 2).monthly == pytest.approx(2 * cluster("valkey", 1).monthly)
    assert cluster("valkey", 1).monthly == do.VALKEY_NODE_MONTH["db-s-1vcpu-2gb"].monthly()
    assert [k.name for k in cluster("pg", 1).unpriced] == ["db"]


def test_the_registry_is_billed_by_its_tier() -> None:
    def tier(slug: str) -> CostReport:
        return _estimate(_res(do.CONTAINER_REGISTRY, "r", subscriptionTierSlug=slug))

    assert tier("starter").monthly == 0 < tier("basic").monthly < tier("professional").monthly
    assert "5 repositories" in tier("basic").items[0].sku
    assert [k.name for k in tier("enterprise").unpriced] == ["r"]


def test_the_seeds_shape_is_priced_from_the_tables_near_the_issues_figure() -> None:
    assert do.SEED_SHAPE_MONTHLY == pytest.approx(1175, abs=5)
    assert do.PRICER.seed_monthly == do.SEED_MONTHLY < do.SEED_SHAPE_MONTHLY


def test_the_seeds_shape_follows_the_gpu_price_in_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpu = catalog.cheapest_gpu_size().slug
    dearer: Mapping[str, Price] = MappingProxyType(
        {
            **do.DROPLET_PRICES,
            gpu: Price(do.DROPLET_PRICES[gpu].amount + 1, "hour", "https://example.test"),
        }
    )
    monkeypatch.setattr(do, "DROPLET_PRICES", dearer)
    assert do._seed_shape_monthly() == pytest.approx(do.SEED_SHAPE_MONTHLY + 2 * HOURS_PER_MONTH)
