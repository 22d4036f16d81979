"""The DigitalOcean catalog's decisions (defaults, nearest regions, images, reserved ranges) and the offline engine's answers.

The catalog's figures are its sources' and are not restated here; what is held is
what the code decides from them.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from pathlib import Path

import pytest

from infra.digitalocean import catalog
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

ROOT = Path(__file__).resolve().parents[2]
P = "digitalocean:index/"
# Importing pulumi_digitalocean warns about deprecated classes these tests never use.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_digitalocean.*")


# --- Catalog ----------------------------------------------------------------------------------


def test_the_default_gpu_size_is_the_cheapest_single_gpu_size_and_offered_in_the_default_region() -> (
    None
):
    cheapest = catalog.cheapest_gpu_size()
    assert catalog.DEFAULT_GPU_SIZE == cheapest.slug and cheapest.gpus == 1
    assert all(s.monthly_usd >= cheapest.monthly_usd for s in catalog.SIZES.values() if s.gpus == 1)
    assert catalog.DEFAULT_REGION in catalog.GPU_REGIONS[catalog.DEFAULT_GPU_SIZE]


def test_the_default_region_has_what_the_stack_puts_there() -> None:
    region = catalog.DEFAULT_REGION
    assert (
        region in catalog.REGIONS
        and region in catalog.SPACES_REGIONS
        and region in catalog.VALKEY_REGIONS
    )


def test_the_default_app_size_is_a_cpu_size() -> None:
    assert catalog.SIZES[catalog.DEFAULT_APP_SIZE].gpus == 0


def test_every_gpu_size_is_offered_somewhere_the_stack_knows_and_every_cpu_size_nowhere_in_gpu_regions() -> (
    None
):
    gpu_sizes = {s.slug for s in catalog.SIZES.values() if s.gpus}
    assert set(catalog.GPU_REGIONS) == gpu_sizes
    for slug, regions in catalog.GPU_REGIONS.items():
        assert regions and set(regions) <= set(catalog.REGIONS), slug


def test_every_size_says_where_its_price_was_read_and_gpu_sizes_bill_every_hour_of_the_month() -> (
    None
):
    for s in catalog.SIZES.values():
        assert s.source.startswith("https://") and s.monthly_usd > 0, s.slug
        if s.gpus:
            assert s.monthly_usd == pytest.approx(s.hourly_usd * 730, abs=0.01), s.slug
        else:
            assert s.monthly_usd < s.hourly_usd * 730, (
                f"{s.slug}: a CPU Droplet's monthly cap is below 730 hours"
            )


def test_spaces_region_maps_every_droplet_region_to_a_spaces_region() -> None:
    for region in catalog.REGIONS:
        found = catalog.spaces_region(region)
        assert found in catalog.SPACES_REGIONS, region
        assert found == region or region not in catalog.SPACES_REGIONS


def test_registry_region_maps_every_droplet_region_to_a_registry_region() -> None:
    assert {catalog.registry_region(r) for r in catalog.REGIONS} <= set(catalog.REGISTRY_REGIONS)


def test_an_unknown_region_has_no_spaces_region_and_the_error_says_which_regions_exist() -> None:
    with pytest.raises(ValueError, match=r"'mars1'.*nyc3"):
        catalog.spaces_region("mars1")


def test_gpu_images_follow_the_gpu_vendor_and_count() -> None:
    assert catalog.gpu_image(catalog.DEFAULT_GPU_SIZE) == catalog.GPU_IMAGE
    assert catalog.gpu_image("gpu-h100x8-640gb") == catalog.GPU_IMAGE_MULTI
    assert catalog.gpu_image("gpu-mi300x1-192gb") == catalog.AMD_GPU_IMAGE
    assert catalog.gpu_image("gpu-mi355x1-288gb") == catalog.AMD_GPU_IMAGE, (
        "a size the catalog does not list is read from its slug"
    )
    with pytest.raises(ValueError, match="not a GPU"):
        catalog.gpu_image(catalog.DEFAULT_APP_SIZE)


def test_a_vpc_range_is_refused_where_digitalocean_reserves_it() -> None:
    nyc1 = [ipaddress.ip_network(r) for r in catalog.reserved_vpc_ranges("nyc1")]
    assert any(ipaddress.ip_network("10.10.0.0/20").overlaps(r) for r in nyc1)
    tor1 = [ipaddress.ip_network(r) for r in catalog.reserved_vpc_ranges("tor1")]
    assert not any(ipaddress.ip_network("10.10.0.0/20").overlaps(r) for r in tor1)
    assert set(catalog.RESERVED_VPC_RANGES) <= set(catalog.reserved_vpc_ranges("ric1"))


def test_the_limits_are_the_narrower_of_the_sources() -> None:
    assert catalog.VPC_PREFIX_LENGTHS == range(16, 25)
    assert catalog.LB_SIZE_UNITS.stop - 1 == 100
    assert catalog.LB_IDLE_TIMEOUT_DEFAULT in catalog.LB_IDLE_TIMEOUT_SECONDS


# --- Mocks: the offline engine's answers --------------------------------------------------------


def _program() -> None:
    import pulumi
    import pulumi_digitalocean as do

    vpc = do.Vpc("vpc", region="tor1", ip_range="10.60.0.0/24")
    bare = do.Vpc("bare", region="tor1")
    app = do.Droplet(
        "app",
        region="tor1",
        size=catalog.DEFAULT_APP_SIZE,
        image=catalog.APP_IMAGE,
        vpc_uuid=vpc.id,
    )
    do.Droplet(
        "loose",
        region="tor1",
        size=catalog.DEFAULT_APP_SIZE,
        image=catalog.APP_IMAGE,
        vpc_uuid=bare.id,
    )
    do.Droplet("gpu", region="tor1", size=catalog.DEFAULT_GPU_SIZE, image=catalog.GPU_IMAGE)
    do.LoadBalancer(
        "lb",
        region="tor1",
        droplet_tag="dixi-app",
        forwarding_rules=[
            do.LoadBalancerForwardingRuleArgs(
                entry_port=80, entry_protocol="http", target_port=80, target_protocol="http"
            )
        ],
    )
    do.SpacesBucket("models", region="tor1")
    do.SpacesKey("reader", name="reader")
    registry = do.ContainerRegistry("registry", subscription_tier_slug="basic")
    do.ContainerRegistryDockerCredentials("pull", registry_name=registry.name, write=False)
    do.DatabaseCluster(
        "bus",
        engine="valkey",
        version=catalog.VALKEY_VERSION,
        size="db-s-1vcpu-1gb",
        node_count=1,
        region="tor1",
    )
    do.Certificate("cert", type="lets_encrypt", domains=["dixi.example.com"])
    volume = do.Volume("models-volume", region="tor1", size=20, initial_filesystem_type="ext4")
    do.VolumeAttachment("attach", droplet_id=app.id.apply(int), volume_id=volume.id)
    zone = do.get_domain_output(name="example.com")
    pulumi.export("zone", zone.name)


@pytest.fixture(scope="module")
def mocked() -> RecordedPlan:
    return record("dixi", "test", None, {}, [], _program, ROOT)


def _one(plan: RecordedPlan, kind: str, name: str) -> RecordedResource:
    return plan.one(f"{P}{kind}", name)


def test_the_mocks_answer_every_invoke_and_the_zone_lookup_names_the_zone(
    mocked: RecordedPlan,
) -> None:
    assert mocked.unanswered_invokes == []
    assert mocked.outputs["zone"] == "example.com"


def test_a_droplet_gets_a_numeric_id_and_a_private_address_inside_its_vpc(
    mocked: RecordedPlan,
) -> None:
    app = _one(mocked, "droplet:Droplet", "app")
    assert app.id.isdigit() and app.state["dropletUrn"] == f"do:droplet:{app.id}"
    assert ipaddress.ip_address(app.state["ipv4AddressPrivate"]) in ipaddress.ip_network(
        "10.60.0.0/24"
    )
    loose = _one(mocked, "droplet:Droplet", "loose")
    bare = _one(mocked, "vpc:Vpc", "bare")
    assert ipaddress.ip_address(loose.state["ipv4AddressPrivate"]) in ipaddress.ip_network(
        bare.state["ipRange"]
    )
    assert ipaddress.ip_address(
        _one(mocked, "droplet:Droplet", "gpu").state["ipv4AddressPrivate"]
    ) in ipaddress.ip_network("10.10.0.0/16")


def test_a_vpc_the_program_gives_no_range_gets_one_digitalocean_does_not_reserve(
    mocked: RecordedPlan,
) -> None:
    network = ipaddress.ip_network(_one(mocked, "vpc:Vpc", "bare").state["ipRange"])
    assert not any(
        network.overlaps(ipaddress.ip_network(r)) for r in catalog.reserved_vpc_ranges("tor1")
    )


def test_buckets_registries_and_certificates_are_known_by_name(mocked: RecordedPlan) -> None:
    bucket = _one(mocked, "spacesBucket:SpacesBucket", "models")
    assert (
        bucket.id == bucket.state["name"]
        and bucket.state["bucketDomainName"] == f"{bucket.id}.tor1.digitaloceanspaces.com"
    )
    registry = _one(mocked, "containerRegistry:ContainerRegistry", "registry")
    assert registry.state["endpoint"] == f"registry.digitalocean.com/{registry.id}"
    cert = _one(mocked, "certificate:Certificate", "cert")
    assert cert.id == cert.state["name"] and cert.state["uuid"]


def test_registry_credentials_are_a_docker_config_for_docr(mocked: RecordedPlan) -> None:
    creds = _one(
        mocked, "containerRegistryDockerCredentials:ContainerRegistryDockerCredentials", "pull"
    )
    assert isinstance(creds.state["dockerCredentials"], Secret), "the SDK marks the credentials secret"
    config = json.loads(reveal(creds.state["dockerCredentials"]))
    user, _, password = (
        base64.b64decode(config["auths"]["registry.digitalocean.com"]["auth"])
        .decode()
        .partition(":")
    )
    assert user and password


def test_the_valkey_cluster_answers_with_a_tls_uri_on_its_port(mocked: RecordedPlan) -> None:
    bus = _one(mocked, "databaseCluster:DatabaseCluster", "bus")
    assert bus.state["port"] == catalog.VALKEY_PORT and bus.state["user"] == "default"
    assert reveal(bus.state["uri"]).startswith("rediss://") and reveal(bus.state["privateUri"]).startswith(
        "rediss://default:"
    )
    assert bus.state["privateHost"] != bus.state["host"]


def test_every_answer_is_the_same_on_a_second_run(mocked: RecordedPlan) -> None:
    again = record("dixi", "test", None, {}, [], _program, ROOT)
    assert {(r.type, r.name): (r.id, reveal(r.state)) for r in again.resources} == {
        (r.type, r.name): (r.id, reveal(r.state)) for r in mocked.resources
    }


def test_no_two_resources_share_an_id(mocked: RecordedPlan) -> None:
    ids = [r.id for r in mocked.resources if r.custom and r.type.startswith(P)]
    assert len(ids) == len(set(ids))
