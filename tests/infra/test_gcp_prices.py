"""Google Cloud prices: how each resource of the `gcp` stack kind is billed, on hand-made plans.

One decision each (what is billed, for how long, what is assumed, what is
refused); the figures come from the price table, never restated here.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from infra.cost.estimate import CostReport, estimate, pricers
from infra.cost.pricing import HOURS_PER_MONTH
from infra.gcp import prices as gcp
from infra.plan.model import RecordedPlan, RecordedResource

US_CENTRAL1 = SimpleNamespace(region="us-central1")
SECONDS = HOURS_PER_MONTH * 3600
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"


def _res(type_: str, key: str, /, id_: str = "", state: dict[str, Any] | None = None, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, key, True, None, inputs, id=id_ or f"{key}-id", state=state or {})


def _estimate(*resources: RecordedResource, config: Any = US_CENTRAL1) -> CostReport:
    return estimate(RecordedPlan("dixi", "gcp", config, list(resources)))


def _skus(report: CostReport, name: str) -> dict[str, float]:
    return {i.sku: i.monthly for i in report.items if i.resource.name == name}


def _service(name: str, least: int, most: int | None, cpu: str = "1", memory: str = "512Mi", idle: bool | None = None, **extra: Any) -> RecordedResource:
    resources: dict[str, Any] = {"limits": {"cpu": cpu, "memory": memory, **extra.pop("limits", {})}}
    if idle is not None:
        resources["cpuIdle"] = idle
    scaling: dict[str, Any] = {"minInstanceCount": least, **({"maxInstanceCount": most} if most is not None else {})}
    template = {"containers": [{"image": "x", "resources": resources}], "scaling": scaling, **extra}
    return _res(gcp.SERVICE, name, location="us-central1", template=template)


# --- Cloud Run --------------------------------------------------------------------


def test_a_service_with_one_minimum_instance_is_billed_always_on_for_the_month() -> None:
    report = _estimate(_service("backend", 1, 1, cpu="1000m", memory="1Gi", idle=False))
    skus = _skus(report, "backend")
    (sku, monthly), = skus.items()
    expected = (gcp.RUN_INSTANCE_VCPU_SECOND.amount + gcp.RUN_INSTANCE_GIB_SECOND.amount) * SECONDS
    assert "1 min instances x 1 vCPU / 1 GiB, always on (instance-based billing)" in sku
    assert monthly == round(expected, 2)


def test_a_service_with_no_minimum_is_billed_only_its_assumed_busy_time_and_requests() -> None:
    report = _estimate(_service("frontend", 0, 3))
    skus = _skus(report, "frontend")
    assert not any("always on" in sku for sku in skus)
    busy = next(sku for sku in skus if "above the minimum" in sku)
    assert f"{gcp.ASSUMED_BUSY_HOURS:g} instance-hours/month" in busy and "assumed" in busy and "request-based" in busy
    per_second = gcp.RUN_REQUEST_VCPU_SECOND.amount + 0.5 * gcp.RUN_REQUEST_GIB_SECOND.amount
    assert skus[busy] == round(per_second * gcp.ASSUMED_BUSY_HOURS * 3600, 2)
    assert any("requests" in sku and "(assumed)" in sku for sku in skus)  # request-based: per-request fees too


def test_instance_based_billing_pays_no_request_fees() -> None:
    report = _estimate(_service("vision", 1, 2, idle=False))
    assert not any("requests" in sku for sku in _skus(report, "vision"))


def test_a_gpu_service_bills_its_gpu_seconds_at_the_rate_its_zonal_redundancy_sets() -> None:
    def ollama(name: str, redundancy_off: bool) -> RecordedResource:
        return _service(name, 1, 1, cpu="4", memory="16Gi", limits={"nvidia.com/gpu": "1"},
                        nodeSelector={"accelerator": "nvidia-l4"}, gpuZonalRedundancyDisabled=redundancy_off)  # fmt: skip

    report = _estimate(ollama("cheap", True), ollama("redundant", False))
    (cheap_sku, cheap), = _skus(report, "cheap").items()
    (_, redundant), = _skus(report, "redundant").items()
    cpu_mem = 4 * gcp.RUN_INSTANCE_VCPU_SECOND.amount + 16 * gcp.RUN_INSTANCE_GIB_SECOND.amount
    assert cheap == round((cpu_mem + gcp.RUN_L4_SECOND.amount) * SECONDS, 2)
    assert redundant == round((cpu_mem + gcp.RUN_L4_REDUNDANT_SECOND.amount) * SECONDS, 2)
    assert "instance-based" in cheap_sku and "L4" in cheap_sku  # a GPU forces instance-based billing
    assert report.gpus == 2


def test_a_gpu_service_that_scales_to_zero_counts_one_gpu_and_bills_only_busy_time() -> None:
    service = _service("ollama", 0, 1, cpu="4", memory="16Gi", limits={"nvidia.com/gpu": "1"}, nodeSelector={"accelerator": "nvidia-l4"})
    report = _estimate(service)
    (sku, _), = _skus(report, "ollama").items()
    assert "above the minimum" in sku and report.gpus == 1


def test_a_service_outside_the_regions_read_is_unpriced() -> None:
    service = _service("far", 1, 1)
    service.inputs["location"] = "asia-south2"
    assert [k.name for k in _estimate(service).unpriced] == ["far"]


# --- Compute Engine -------------------------------------------------------------------


def _template(key: str, machine: str, **inputs: Any) -> RecordedResource:
    return _res(TEMPLATE, key, state={"selfLink": f"projects/p/global/instanceTemplates/{key}"}, machineType=machine, **inputs)


def _group(template: RecordedResource, size: int | None) -> RecordedResource:
    inputs: dict[str, Any] = {"zone": "us-central1-a", "versions": [{"instanceTemplate": template.state["selfLink"]}]}
    if size is not None:
        inputs["targetSize"] = size
    return _res(gcp.GROUP, "ollama-group", **inputs)


def test_an_instance_group_bills_target_size_times_machine_accelerators_and_disks() -> None:
    template = _template("ollama-t4", "n1-standard-4", guestAccelerators=[{"type": "nvidia-tesla-t4", "count": 1}],
                         disks=[{"boot": True, "diskSizeGb": 100, "diskType": "pd-ssd"}])  # fmt: skip
    report = _estimate(template, _group(template, 2))
    skus = _skus(report, "ollama-group")
    region = gcp.US_CENTRAL1
    assert skus == {
        "n1-standard-4 on-demand us-central1 x2 (instance group)": round(gcp.MACHINE_HOURLY[region]["n1-standard-4"].monthly(2), 2),
        "nvidia-tesla-t4 GPU x2 (instance group)": round(gcp.ACCELERATOR_HOURLY[region]["nvidia-tesla-t4"].monthly(2), 2),
        "pd-ssd 100 GB x2 (instance group disks)": round(gcp.DISK_GB_MONTH[region]["pd-ssd"].monthly(200), 2),
    }
    assert _skus(report, "ollama-t4") == {} and report.unpriced == [] and report.gpus == 2


def test_a_g2_machine_brings_its_own_l4_and_a_disk_without_type_is_pd_balanced() -> None:
    template = _template("ollama-l4", "g2-standard-4", guestAccelerators=[{"type": "nvidia-l4", "count": 1}], disks=[{"boot": True, "diskSizeGb": 50}])
    report = _estimate(template, _group(template, 1))
    skus = _skus(report, "ollama-group")
    assert not any("GPU" in sku for sku in skus)  # the L4 is in the g2 price
    assert "pd-balanced 50 GB x1 (instance group disks)" in skus and report.gpus == 1


def test_an_unknown_machine_type_or_accelerator_is_unpriced_not_guessed() -> None:
    odd = _template("odd", "a3-highgpu-8g")
    report = _estimate(odd, _group(odd, 1))
    assert [k.name for k in report.unpriced] == ["ollama-group"]
    v100 = _template("v100", "n1-standard-4", guestAccelerators=[{"type": "nvidia-tesla-v100", "count": 1}])
    assert [k.name for k in _estimate(v100, _group(v100, 1)).unpriced] == ["ollama-group"]


def test_a_group_without_target_size_is_unpriced() -> None:
    template = _template("t", "n1-standard-4")
    assert [k.name for k in _estimate(template, _group(template, None)).unpriced] == ["ollama-group"]


def test_a_template_without_a_group_is_free_and_an_instance_bills_itself_once() -> None:
    template = _template("spare", "g2-standard-4")
    vm = _res(gcp.INSTANCE, "vm", zone="us-central1-b", machineType="n1-standard-4",
              bootDisk={"initializeParams": {"size": 30}}, networkInterfaces=[{"accessConfigs": [{}]}])  # fmt: skip
    report = _estimate(template, vm)
    assert _skus(report, "spare") == {} and report.unpriced == []
    skus = _skus(report, "vm")
    assert "n1-standard-4 on-demand us-central1 x1 (VM)" in skus and "pd-balanced 30 GB x1 (VM disks)" in skus
    assert "external IPv4 addresses x1 (VM)" in skus and report.gpus == 0


def test_a_vm_outside_us_central1_is_unpriced() -> None:
    template = _template("t", "n1-standard-4")
    group = _group(template, 1)
    group.inputs["zone"] = "europe-west4-a"
    assert [k.name for k in _estimate(template, group).unpriced] == ["ollama-group"]


# --- Networking -------------------------------------------------------------------------


def test_cloud_nat_bills_the_gateway_by_the_vms_it_serves_plus_assumed_data() -> None:
    template = _template("t", "n1-standard-4")
    nat = _res(gcp.NAT, "nat", region="us-central1", natIpAllocateOption="AUTO_ONLY")
    report = _estimate(template, _group(template, 1), nat, _res("gcp:compute/router:Router", "router"))
    skus = _skus(report, "nat")
    assert skus["Cloud NAT gateway, 1 VMs"] == round(gcp.NAT_VM_HOUR.monthly(1), 2)
    assert any("data processed" in sku and "(assumed" in sku for sku in skus)
    assert any("external IPs x1" in sku and "assumed" in sku for sku in skus)
    assert _skus(report, "router") == {} and report.unpriced == []


def test_cloud_nat_past_32_vms_pays_the_capped_hourly_price() -> None:
    template = _template("t", "n1-standard-4")
    report = _estimate(template, _group(template, 40), _res(gcp.NAT, "nat", region="us-central1"))
    assert _skus(report, "nat")["Cloud NAT gateway, 40 VMs (the price for more than 32)"] == round(gcp.NAT_GATEWAY_MAX_HOUR.monthly(), 2)


def test_the_first_forwarding_rule_pays_for_the_first_five_and_the_second_shares_it() -> None:
    address = _res("gcp:compute/globalAddress:GlobalAddress", "lb-ip", state={"address": "203.0.113.7"})
    https = _res(gcp.FORWARDING_RULE, "a-https", loadBalancingScheme="EXTERNAL_MANAGED", ipAddress="203.0.113.7", portRange="443")
    http = _res(gcp.FORWARDING_RULE, "b-http", loadBalancingScheme="EXTERNAL_MANAGED", ipAddress="203.0.113.7", portRange="80")
    report = _estimate(http, address, https)  # registration order does not decide who pays
    first = _skus(report, "a-https")
    assert first[next(sku for sku in first if "the first 5" in sku)] == round(gcp.FORWARDING_RULES_FIRST5_HOUR.monthly(), 2)
    assert any("data processed" in sku and "(assumed)" in sku for sku in first)
    (shared_sku, shared), = _skus(report, "b-http").items()
    assert shared == 0 and "billed on a-https" in shared_sku
    assert _skus(report, "lb-ip") == {} and report.unpriced == []  # an address in use by a rule bills nothing


def test_an_internal_forwarding_rule_and_an_unused_address_are_unpriced() -> None:
    internal = _res(gcp.FORWARDING_RULE, "mesh", loadBalancingScheme="INTERNAL_SELF_MANAGED")
    idle = _res("gcp:compute/globalAddress:GlobalAddress", "idle-ip", state={"address": "203.0.113.9"})
    assert sorted(k.name for k in _estimate(internal, idle).unpriced) == ["idle-ip", "mesh"]


# --- Data services --------------------------------------------------------------------------


def test_valkey_bills_shared_core_nano_node_hours_for_every_node() -> None:
    one = _res("gcp:memorystore/instance:Instance", "bus", location="us-central1", nodeType="SHARED_CORE_NANO", shardCount=1)
    replicated = _res("gcp:memorystore/instance:Instance", "bus-ha", location="us-central1", nodeType="SHARED_CORE_NANO", shardCount=1, replicaCount=1)
    report = _estimate(one, replicated)
    nano = gcp.VALKEY_NODE_HOUR[gcp.US_CENTRAL1]["SHARED_CORE_NANO"]
    assert list(_skus(report, "bus").values()) == [round(nano.monthly(1), 2)]
    assert list(_skus(report, "bus-ha").values()) == [round(nano.monthly(2), 2)]
    bigger = _res("gcp:memorystore/instance:Instance", "big", location="us-central1", nodeType="HIGHMEM_MEDIUM", shardCount=1)
    assert [k.name for k in _estimate(bigger).unpriced] == ["big"]


def test_redis_basic_1_gb_is_billed_per_gb_hour_and_standard_ha_is_unpriced() -> None:
    basic = _res("gcp:redis/instance:Instance", "bus", region="us-central1", tier="BASIC", memorySizeGb=1)
    report = _estimate(basic)
    assert _skus(report, "bus") == {"Memorystore for Redis Basic 1 GB": round(gcp.REDIS_BASIC_M1_GB_HOUR[gcp.US_CENTRAL1].monthly(1), 2)}
    ha = _res("gcp:redis/instance:Instance", "ha", region="us-central1", tier="STANDARD_HA", memorySizeGb=1)
    assert [k.name for k in _estimate(ha).unpriced] == ["ha"]


def test_the_bucket_and_the_registry_are_billed_their_assumed_sizes() -> None:
    bucket = _res("gcp:storage/bucket:Bucket", "models", location="US-CENTRAL1")
    east = _res("gcp:storage/bucket:Bucket", "models-east", location="us-east4")
    repo = _res("gcp:artifactregistry/repository:Repository", "images", location="us-central1", format="DOCKER")
    report = _estimate(bucket, east, repo)
    (bucket_sku, in_iowa), = _skus(report, "models").items()
    (_, in_virginia), = _skus(report, "models-east").items()
    assert f"{gcp.ASSUMED_MODELS_GB:g} GB" in bucket_sku and "assumed" in bucket_sku and in_virginia > in_iowa
    (repo_sku, repo_monthly), = _skus(report, "images").items()
    assert "assumed" in repo_sku and "0.5 GB" in repo_sku and repo_monthly == round(gcp.AR_GB_MONTH.monthly(gcp.ASSUMED_IMAGES_GB_PER_REPO), 2)


def test_a_multi_region_bucket_is_unpriced() -> None:
    assert [k.name for k in _estimate(_res("gcp:storage/bucket:Bucket", "models", location="US")).unpriced] == ["models"]


def test_a_secret_bills_its_versions_in_each_location_and_the_versions_are_free() -> None:
    secret = _res(gcp.SECRET, "token", state={"name": "projects/p/secrets/token"}, replication={"userManaged": {"replicas": [{"location": "us-central1"}, {"location": "us-east4"}]}})
    versions = [_res(gcp.SECRET_VERSION, f"token-v{i}", secret="projects/p/secrets/token") for i in (1, 2)]
    report = _estimate(secret, *versions)
    skus = _skus(report, "token")
    assert skus["Secret Manager 4 active versions (2 locations)"] == round(gcp.SECRET_VERSION_MONTH.monthly(4), 2)
    assert any("accesses/month (assumed)" in sku for sku in skus)
    assert all(_skus(report, v.name) == {} for v in versions) and report.unpriced == []


# --- The pricer as a whole ----------------------------------------------------------------


def test_the_gcp_pricer_is_registered_for_both_provider_packages_with_the_seeds_figure() -> None:
    found = pricers()
    assert found["gcp"] is gcp.PRICER and found["google-native"] is gcp.PRICER
    assert gcp.PRICER.seed_monthly == 970.0


@pytest.mark.parametrize("price", gcp.PRICER.prices, ids=lambda p: p.source[:60])
def test_every_gcp_price_has_a_source_and_a_date(price: Any) -> None:
    assert price.source.startswith("https://") and price.as_of and price.amount > 0


def test_the_plumbing_is_free() -> None:
    free = [
        _res(t, f"r{i}")
        for i, t in enumerate((
            "gcp:projects/service:Service", "gcp:serviceaccount/account:Account", "gcp:projects/iAMMember:IAMMember",
            "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork",
            "gcp:compute/firewall:Firewall", "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
            "gcp:compute/backendService:BackendService", "gcp:compute/uRLMap:URLMap", "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
            "gcp:compute/managedSslCertificate:ManagedSslCertificate", "gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy",
        ))
    ]  # fmt: skip
    report = _estimate(*free)
    assert report.items == [] and report.unpriced == []
