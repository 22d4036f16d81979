"""The check adapters of Google Cloud, DigitalOcean, Azure and Kubernetes, on programs recorded with the real SDK classes.

Each cloud gets a program that exposes Ollama or vision to the internet (the
exposure rule must report it), one that exposes only the web ports or only
to private sources (nothing to report), its VMs' user data (read back decoded,
and held to the cloud's limit), and the coverage rule, which must find every
VM, firewall and load balancer of these programs readable.
"""

from __future__ import annotations

import base64
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.checks import RULES, Problem, load_rules
from infra.checks.adapters import (
    JUDGED,
    OPENINGS,
    USER_DATA,
    WORKLOADS,
    Workload,
    all_openings,
    all_user_data,
    all_workloads,
    kind_of,
)
from infra.k8s import checks as k8s_checks
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, Secret
from infra.spec import BACKEND, EVENT_BUS

ROOT = Path(__file__).resolve().parents[2]
# Importing pulumi_digitalocean and pulumi_gcp.compute warns about deprecated classes these tests never use.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_digitalocean.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp.*"),
]
EXPOSURE = "private-ports-not-public"
COVERAGE = "checks-cover-entry-points"

load_rules()


def recorded(program: Callable[[], None]) -> RecordedPlan:
    return record("dixi", "test", None, {}, [], program, ROOT)


def _run(rule: str, plan: RecordedPlan) -> list[Problem]:
    return RULES[rule](plan, ROOT)


def _exposed(plan: RecordedPlan) -> dict[str, list[str]]:
    """Resource name -> the exposure rule's error messages about it."""
    found: dict[str, list[str]] = {}
    for p in _run(EXPOSURE, plan):
        assert p.severity == "error" and p.resource is not None
        found.setdefault(p.resource.name, []).append(p.message)
    return found


def _user_data(plan: RecordedPlan) -> dict[str, str]:
    return {d.resource.name: d.text for d in all_user_data(plan)}


def _assert_covered(plan: RecordedPlan) -> None:
    flagged = [r.type for r in plan.resources if r.custom and kind_of(r.type)]
    assert flagged, "the program should hold entry points, or this proves nothing"
    assert _run(COVERAGE, plan) == [], [p.message for p in _run(COVERAGE, plan)]


CLOUD_CONFIG = "#cloud-config\nruncmd:\n  - [echo, hello]\n"


# --- Google Cloud ---------------------------------------------------------------------------------


def _gcp_exposed() -> None:
    from pulumi_gcp import cloudrunv2, compute

    compute.Firewall("ollama-open", network="default", source_ranges=["0.0.0.0/0"], allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["22", "11434"])])
    compute.Firewall("no-sources", network="default", allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["5000"])])
    compute.ForwardingRule("vision-nlb", port_range="5000", target="pool")
    group = compute.InstanceGroupManager("gpu", base_instance_name="gpu", zone="z", versions=[{"instance_template": "t"}], named_ports=[{"name": "ollama", "port": 11434}])
    service = compute.BackendService("ollama", port_name="ollama", backends=[{"group": group.id}], load_balancing_scheme="EXTERNAL_MANAGED")
    url_map = compute.URLMap("urls", default_service=service.id)
    proxy = compute.TargetHttpsProxy("https", url_map=url_map.id, ssl_certificates=["cert"])
    compute.GlobalForwardingRule("https-443", target=proxy.id, port_range="443")
    cloudrunv2.Service("vision", name="vision", location="us-central1", template={"containers": [{"image": "vision", "ports": {"container_port": 5000}}]})
    compute.NetworkFirewallPolicyRule("policy-ollama", firewall_policy="p", action="allow", direction="INGRESS", priority=1, match={"src_ip_ranges": ["::/0"], "layer4_configs": [{"ip_protocol": "tcp", "ports": ["11434"]}]})


def _gcp_safe() -> None:
    from pulumi_gcp import cloudrunv2, compute

    compute.Firewall("web", network="default", source_ranges=["0.0.0.0/0"], allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["80", "443"]), compute.FirewallAllowArgs(protocol="icmp")])
    compute.Firewall("ollama-private", network="default", source_ranges=["10.0.0.0/8"], allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["11434"])])
    compute.Firewall("ollama-by-tag", network="default", source_tags=["backend"], allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["11434"])])
    compute.Firewall("ollama-disabled", network="default", disabled=True, source_ranges=["0.0.0.0/0"], allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["11434"])])
    compute.Firewall("egress", network="default", direction="EGRESS", destination_ranges=["0.0.0.0/0"], allows=[compute.FirewallAllowArgs(protocol="all")])
    compute.ForwardingRule("vision-internal", load_balancing_scheme="INTERNAL", ports=["5000"], backend_service="bs")
    group = compute.InstanceGroupManager("web", base_instance_name="web", zone="z", versions=[{"instance_template": "t"}], named_ports=[{"name": "http", "port": 8080}])
    service = compute.BackendService("frontend", port_name="http", backends=[{"group": group.id}])
    proxy = compute.TargetHttpProxy("http", url_map=compute.URLMap("urls", default_service=service.id).id)
    compute.GlobalForwardingRule("http-80", target=proxy.id, port_range="80")
    cloudrunv2.Service("ollama", name="ollama", location="us-central1", ingress="INGRESS_TRAFFIC_INTERNAL_ONLY", template={"containers": [{"image": "ollama", "ports": {"container_port": 11434}}]})
    cloudrunv2.Service("frontend-run", location="us-central1", template={"containers": [{"image": "frontend", "ports": {"container_port": 8080}}]})


def _gcp_vms() -> None:
    from pulumi_gcp import compute

    def boot() -> compute.InstanceBootDiskArgs:
        return compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image="debian-12"))

    nic = [compute.InstanceNetworkInterfaceArgs(network="default")]
    compute.Instance("cloud-init", machine_type="e2-small", zone="z", boot_disk=boot(), network_interfaces=nic, metadata={"user-data": CLOUD_CONFIG})
    compute.Instance("startup", machine_type="e2-small", zone="z", boot_disk=boot(), network_interfaces=nic, metadata_startup_script="#!/bin/bash\nset -e\n")
    compute.Instance("too-big", machine_type="e2-small", zone="z", boot_disk=boot(), network_interfaces=nic, metadata={"user-data": "#cloud-config\n" + "#" * 262144})
    compute.Instance("secret-ssh-key", machine_type="e2-small", zone="z", boot_disk=boot(), network_interfaces=nic, metadata={"user-data": CLOUD_CONFIG, "ssh-keys": pulumi.Output.secret("admin:ssh-ed25519 AAAA")})
    compute.InstanceTemplate("secret-user-data", machine_type="e2-small", disks=[{"source_image": "debian-12"}], metadata={"user-data": pulumi.Output.secret(CLOUD_CONFIG)})
    compute.RegionInstanceGroupManager("gpu", base_instance_name="gpu", region="r", versions=[{"instance_template": "t"}])


@pytest.fixture(scope="module")
def gcp_exposed() -> RecordedPlan:
    return recorded(_gcp_exposed)


def test_gcp_firewalls_forwarding_rules_and_cloud_run_that_reach_ollama_or_vision_from_the_internet_are_errors(gcp_exposed: RecordedPlan) -> None:
    exposed = _exposed(gcp_exposed)
    assert any("11434" in m and "ollama" in m for m in exposed.get("ollama-open", [])), exposed
    assert any("5000" in m for m in exposed.get("no-sources", [])), "an ingress rule without sources gets 0.0.0.0/0 from the API"
    assert any("5000" in m and "vision" in m for m in exposed.get("vision-nlb", [])), exposed
    assert any("11434" in m and "backend service ollama" in m for m in exposed.get("https-443", [])), "the HTTPS load balancer reaches the backend's named port 11434"
    assert any("vision" in m for m in exposed.get("vision", [])), "Cloud Run's default ingress takes internet traffic"
    assert any("::/0" in m for m in exposed.get("policy-ollama", [])), exposed


def test_gcp_web_ports_internal_balancers_and_private_sources_expose_nothing(gcp_exposed: RecordedPlan) -> None:
    plan = recorded(_gcp_safe)
    assert _exposed(plan) == {}, "web ports, private ranges, tags, disabled and egress rules, internal schemes and internal Cloud Run let no one reach vision or Ollama"
    opened = {(o.resource.name, o.from_port) for o in all_openings(plan)}
    assert ("http-80", 8080) in opened and ("web", 443) in opened, f"the safe plan is still read, not skipped: {opened}"
    _assert_covered(plan)
    _assert_covered(gcp_exposed)


def test_gcp_user_data_is_the_metadata_cloud_init_or_startup_script_within_256_kib() -> None:
    plan = recorded(_gcp_vms)
    texts = _user_data(plan)
    assert texts["cloud-init"] == CLOUD_CONFIG and texts["startup"].startswith("#!/bin/bash")
    sizes = _run("user-data-size", plan)
    assert [p.resource.name for p in sizes if p.resource] == ["too-big"] and "262144" in sizes[0].message, [p.message for p in sizes]
    marked = {d.resource.name for d in all_user_data(plan) if d.marked_secret}
    assert marked == {"secret-user-data"}, "a secret ssh key beside the user data must not mark the user data secret"
    assert any(p.resource and p.resource.name == "secret-user-data" for p in _run("secret-not-in-user-data", plan))
    _assert_covered(plan)


# --- DigitalOcean ---------------------------------------------------------------------------------


def _do_exposed() -> None:
    import pulumi_digitalocean as do

    do.Firewall("ollama-open", droplet_ids=[1], inbound_rules=[do.FirewallInboundRuleArgs(protocol="tcp", port_range="11434", source_addresses=["0.0.0.0/0", "::/0"])])
    do.Firewall("everything", droplet_ids=[1], inbound_rules=[do.FirewallInboundRuleArgs(protocol="tcp", port_range="all", source_addresses=["0.0.0.0/0"])])
    do.LoadBalancer("vision-lb", region="nyc3", droplet_ids=[1], forwarding_rules=[do.LoadBalancerForwardingRuleArgs(entry_port=80, entry_protocol="http", target_port=5000, target_protocol="http")])
    bus = do.DatabaseCluster("bus-open", engine="valkey", version="8", size="db-s-1vcpu-1gb", region="nyc3", node_count=1)
    do.DatabaseFirewall("bus-open", cluster_id=bus.id, rules=[do.DatabaseFirewallRuleArgs(type="ip_addr", value="0.0.0.0/0")])
    do.DatabaseCluster("bus-unguarded", engine="valkey", version="8", size="db-s-1vcpu-1gb", region="nyc3", node_count=1)
    do.Firewall("ssh-open", droplet_ids=[1], inbound_rules=[do.FirewallInboundRuleArgs(protocol="tcp", port_range="22", source_addresses=["0.0.0.0/0", "::/0"])])


def _do_safe() -> None:
    import pulumi_digitalocean as do

    do.Firewall("web", droplet_ids=[1], inbound_rules=[
        do.FirewallInboundRuleArgs(protocol="tcp", port_range="443", source_addresses=["0.0.0.0/0", "::/0"]),
        do.FirewallInboundRuleArgs(protocol="tcp", port_range="11434", source_tags=["backend"], source_load_balancer_uids=["lb-uid"]),
        do.FirewallInboundRuleArgs(protocol="tcp", port_range="5000", source_addresses=["10.10.0.0/16"]),
        do.FirewallInboundRuleArgs(protocol="icmp", source_addresses=["0.0.0.0/0"]),
    ])  # fmt: skip
    do.LoadBalancer("web-lb", region="nyc3", droplet_ids=[1], forwarding_rules=[do.LoadBalancerForwardingRuleArgs(entry_port=443, entry_protocol="https", target_port=8080, target_protocol="http", certificate_name="c")])
    do.LoadBalancer("ollama-internal", region="nyc3", network="INTERNAL", droplet_ids=[1], forwarding_rules=[do.LoadBalancerForwardingRuleArgs(entry_port=80, entry_protocol="http", target_port=11434, target_protocol="http")])
    do.LoadBalancer("vision-office", region="nyc3", droplet_ids=[1], firewall=do.LoadBalancerFirewallArgs(allows=["cidr:203.0.113.0/24", "ip:198.51.100.7"]), forwarding_rules=[do.LoadBalancerForwardingRuleArgs(entry_port=80, entry_protocol="http", target_port=5000, target_protocol="http")])
    bus = do.DatabaseCluster("bus", engine="valkey", version="8", size="db-s-1vcpu-1gb", region="nyc3", node_count=1)
    do.DatabaseFirewall("bus", cluster_id=bus.id, rules=[do.DatabaseFirewallRuleArgs(type="tag", value="dixi-app"), do.DatabaseFirewallRuleArgs(type="ip_addr", value="10.10.0.0/16")])
    do.Firewall("ssh-office", droplet_ids=[1], inbound_rules=[do.FirewallInboundRuleArgs(protocol="tcp", port_range="22", source_addresses=["203.0.113.0/24"])])
    do.Droplet("host", image="ubuntu-24-04-x64", size="s-1vcpu-1gb", region="nyc3", user_data=CLOUD_CONFIG)
    do.Droplet("too-big", image="ubuntu-24-04-x64", size="s-1vcpu-1gb", region="nyc3", user_data="#cloud-config\n" + "#" * 65536)


@pytest.fixture(scope="module")
def do_exposed() -> RecordedPlan:
    return recorded(_do_exposed)


def test_digitalocean_firewalls_and_load_balancers_that_reach_ollama_or_vision_from_the_internet_are_errors(do_exposed: RecordedPlan) -> None:
    exposed = _exposed(do_exposed)
    assert any("11434" in m and "::/0" in m for m in exposed.get("ollama-open", [])), exposed
    assert any("all ports" in m for m in exposed.get("everything", [])), exposed
    assert any("5000" in m and "entry port 80" in m for m in exposed.get("vision-lb", [])), exposed
    _assert_covered(do_exposed)


def test_digitalocean_database_trusted_sources_of_the_internet_or_none_expose_the_bus(do_exposed: RecordedPlan) -> None:
    exposed = _exposed(do_exposed)
    assert any("(event bus)" in m and "trusted source ip_addr 0.0.0.0/0" in m for m in exposed.get("bus-open", [])), exposed
    assert any("(event bus)" in m and "no database firewall" in m for m in exposed.get("bus-unguarded", [])), "a cluster without trusted sources takes any source"
    assert [m for m in exposed.get("bus-open", []) if "no database firewall" in m] == [], "the firewall's clusterId is followed to its cluster"


@pytest.fixture(scope="module")
def do_safe() -> RecordedPlan:
    return recorded(_do_safe)


def test_digitalocean_web_ports_tags_internal_and_allow_listed_balancers_expose_nothing(do_safe: RecordedPlan) -> None:
    assert _exposed(do_safe) == {}, "tags, balancer uids, private ranges, an INTERNAL balancer and a balancer firewall allow-list are not the internet"
    office = {o.sources for o in all_openings(do_safe) if o.resource.name == "vision-office"}
    assert office == {frozenset({"203.0.113.0/24", "198.51.100.7/32"})}, office
    _assert_covered(do_safe)


def test_digitalocean_droplets_boot_their_user_data_within_64_kib(do_safe: RecordedPlan) -> None:
    assert _user_data(do_safe)["host"] == CLOUD_CONFIG
    assert {d.readable_outside_host for d in all_user_data(do_safe)} == {False}, "only the Droplet reads its user data back"
    sizes = _run("user-data-size", do_safe)
    assert [p.resource.name for p in sizes if p.resource] == ["too-big"] and "65536" in sizes[0].message, "DigitalOcean takes 64 KiB of user data"


# --- Azure ----------------------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _azure_exposed() -> None:
    from pulumi_azure_native import network

    network.NetworkSecurityGroup("nsg", resource_group_name="rg", security_rules=[
        network.SecurityRuleArgs(name="ollama", direction="Inbound", access="Allow", protocol="Tcp", priority=100, source_address_prefix="Internet", source_port_range="*", destination_address_prefix="*", destination_port_range="11434"),
    ])  # fmt: skip
    network.SecurityRule("vision", resource_group_name="rg", network_security_group_name="nsg", direction="Inbound", access="Allow", protocol="*", priority=110, source_address_prefix="*", source_port_range="*", destination_address_prefix="*", destination_port_ranges=["80", "5000-5001"])
    public = network.PublicIPAddress("ip", resource_group_name="rg")
    network.LoadBalancer("lb", resource_group_name="rg", frontend_ip_configurations=[network.FrontendIPConfigurationArgs(name="public", public_ip_address=network.PublicIPAddressArgs(id=public.id))], load_balancing_rules=[
        network.LoadBalancingRuleArgs(name="ollama", protocol="Tcp", frontend_port=80, backend_port=11434, frontend_ip_configuration=network.SubResourceArgs(id="/lb/frontendIPConfigurations/public")),
    ])  # fmt: skip


def _azure_safe() -> None:
    from pulumi_azure_native import network

    network.NetworkSecurityGroup("nsg", resource_group_name="rg", security_rules=[
        network.SecurityRuleArgs(name="web", direction="Inbound", access="Allow", protocol="Tcp", priority=100, source_address_prefix="Internet", source_port_range="*", destination_address_prefix="*", destination_port_range="80"),
        network.SecurityRuleArgs(name="https-and-quic", direction="Inbound", access="Allow", protocol="*", priority=101, source_address_prefixes=["0.0.0.0/0", "::/0"], source_port_range="*", destination_address_prefix="*", destination_port_range="443"),
        network.SecurityRuleArgs(name="ollama-vnet", direction="Inbound", access="Allow", protocol="Tcp", priority=110, source_address_prefix="VirtualNetwork", source_port_range="*", destination_address_prefix="*", destination_port_range="11434"),
        network.SecurityRuleArgs(name="deny-vision", direction="Inbound", access="Deny", protocol="*", priority=120, source_address_prefix="*", source_port_range="*", destination_address_prefix="*", destination_port_range="5000"),
        network.SecurityRuleArgs(name="egress", direction="Outbound", access="Allow", protocol="*", priority=130, source_address_prefix="*", source_port_range="*", destination_address_prefix="*", destination_port_range="*"),
    ])  # fmt: skip
    network.LoadBalancer("internal-lb", resource_group_name="rg", frontend_ip_configurations=[network.FrontendIPConfigurationArgs(name="private", subnet=network.SubnetArgs(id="subnet"))], load_balancing_rules=[
        network.LoadBalancingRuleArgs(name="ollama", protocol="Tcp", frontend_port=11434, backend_port=11434, frontend_ip_configuration=network.SubResourceArgs(id="/lb/frontendIPConfigurations/private")),
    ])  # fmt: skip
    network.NatGateway("nat", resource_group_name="rg")


def _azure_vms() -> None:
    from pulumi_azure_native import compute

    compute.VirtualMachine("custom-data", resource_group_name="rg", os_profile=compute.OSProfileArgs(computer_name="vm", admin_username="dixi", admin_password=pulumi.Output.secret("a-password-123"), custom_data=_b64(CLOUD_CONFIG)))
    compute.VirtualMachine("user-data", resource_group_name="rg", user_data=_b64("#!/bin/bash\nset -e\n"))
    compute.VirtualMachine("too-big", resource_group_name="rg", os_profile=compute.OSProfileArgs(computer_name="vm", admin_username="dixi", custom_data=_b64("#cloud-config\n" + "#" * 65535)))
    compute.VirtualMachineScaleSet("scale-set", resource_group_name="rg", virtual_machine_profile=compute.VirtualMachineScaleSetVMProfileArgs(os_profile=compute.VirtualMachineScaleSetOSProfileArgs(custom_data=pulumi.Output.secret(_b64(CLOUD_CONFIG)))))


def test_azure_security_rules_and_public_load_balancers_that_reach_ollama_or_vision_from_the_internet_are_errors() -> None:
    plan = recorded(_azure_exposed)
    exposed = _exposed(plan)
    assert any("11434" in m and "Internet" not in m and "0.0.0.0/0" in m for m in exposed.get("nsg", [])), "the Internet service tag is the internet"
    assert any("5000" in m and "vision" in m for m in exposed.get("vision", [])), exposed
    assert not any("all ports" in m for m in exposed["vision"]), "protocol * still opens only the rule's ports"
    assert any("11434" in m and "backend port 11434" in m for m in exposed.get("lb", [])), exposed
    _assert_covered(plan)


def test_azure_web_rules_private_sources_denies_and_internal_balancers_expose_nothing() -> None:
    plan = recorded(_azure_safe)
    assert _exposed(plan) == {}, "VirtualNetwork sources, Deny and Outbound rules and a subnet frontend are not the internet"
    assert {o.from_port for o in all_openings(plan) if o.from_internet} == {80, 443}, "the web rule is still read"
    _assert_covered(plan)


def test_azure_vms_and_scale_sets_boot_their_decoded_custom_data_within_azures_limit() -> None:
    plan = recorded(_azure_vms)
    texts = _user_data(plan)
    assert texts["custom-data"] == CLOUD_CONFIG and texts["scale-set"] == CLOUD_CONFIG, "customData is base64; the rules read it decoded"
    assert texts["user-data"].startswith("#!/bin/bash")
    sizes = _run("user-data-size", plan)
    assert [p.resource.name for p in sizes if p.resource] == ["too-big"] and "65535" in sizes[0].message, [p.message for p in sizes]
    marked = {d.resource.name for d in all_user_data(plan) if d.marked_secret}
    assert marked == {"scale-set"}, "a secret adminPassword beside customData must not mark the custom data secret"
    _assert_covered(plan)


# --- Kubernetes -----------------------------------------------------------------------------------


def _vision_deployment() -> None:
    from pulumi_kubernetes.apps.v1 import Deployment

    labels = {"app": "vision"}
    Deployment("vision", metadata={"name": "vision"}, spec={
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
            "name": "vision", "image": "vision", "ports": [{"name": "http", "containerPort": 5000}],
            "env": [{"name": "GESTURE_TOKEN", "value": pulumi.Output.secret("not-in-a-real-stack")}],
        }]}},
    })  # fmt: skip


def _k8s_exposed() -> None:
    from pulumi_kubernetes.apiextensions import CustomResource
    from pulumi_kubernetes.core.v1 import Service, ServicePortArgs, ServiceSpecArgs
    from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
    from pulumi_kubernetes.networking.v1 import Ingress, NetworkPolicy
    from pulumi_kubernetes.networking.v1beta1 import Ingress as LegacyIngress

    _vision_deployment()
    Service("ollama-lb", metadata=ObjectMetaArgs(name="ollama-public"), spec=ServiceSpecArgs(type="LoadBalancer", selector={"app": "ollama"}, ports=[ServicePortArgs(port=80, target_port=11434)]))
    Service("vision", metadata=ObjectMetaArgs(name="vision"), spec=ServiceSpecArgs(selector={"app": "vision"}, ports=[ServicePortArgs(name="web", port=80, target_port="http")]))
    Ingress("vision-ingress", spec={"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "vision", "port": {"name": "web"}}}}]}}]})
    CustomResource("ollama-route", api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute", spec={"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "ollama", "port": 11434}]}]})
    NetworkPolicy("vision-world", spec={"podSelector": {"matchLabels": {"app": "vision"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": "http"}]}]})
    LegacyIngress("ollama-legacy", spec={"rules": [{"http": {"paths": [{"path": "/", "backend": {"serviceName": "ollama", "servicePort": 11434}}]}}]})


def _k8s_safe() -> None:
    from pulumi_kubernetes.apiextensions import CustomResource
    from pulumi_kubernetes.core.v1 import Service
    from pulumi_kubernetes.networking.v1 import Ingress, NetworkPolicy

    _vision_deployment()
    Service("frontend", metadata={"name": "frontend"}, spec={"type": "LoadBalancer", "selector": {"app": "frontend"}, "ports": [{"port": 80, "targetPort": 8080}]})
    Service("ollama-office", metadata={"name": "ollama-office"}, spec={"type": "LoadBalancer", "selector": {"app": "ollama"}, "loadBalancerSourceRanges": ["203.0.113.0/24"], "ports": [{"port": 11434}]})
    Service("vision-internal", metadata={"name": "vision-internal", "annotations": {"networking.gke.io/load-balancer-type": "Internal"}}, spec={"type": "LoadBalancer", "selector": {"app": "vision"}, "ports": [{"port": 5000}]})
    Service("ollama", metadata={"name": "ollama"}, spec={"selector": {"app": "ollama"}, "ports": [{"port": 11434}]})
    Service("backend", metadata={"name": "backend"}, spec={"selector": {"app": "backend"}, "ports": [{"port": 3001}]})
    Ingress("web", spec={"rules": [{"http": {"paths": [
        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "backend", "port": {"number": 3001}}}},
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "frontend", "port": {"number": 80}}}},
    ]}}]})  # fmt: skip
    CustomResource("public", api_version="gateway.networking.k8s.io/v1", kind="Gateway", spec={"gatewayClassName": "gke-l7-global-external-managed", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]})
    CustomResource("api-route", api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute", spec={"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "backend", "port": 3001}]}]})
    NetworkPolicy("ollama-from-cluster", spec={"podSelector": {"matchLabels": {"app": "ollama"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}, {"podSelector": {"matchLabels": {"app": "backend"}}}], "ports": [{"port": 11434}]}]})


def test_kubernetes_services_ingresses_routes_and_policies_that_reach_ollama_or_vision_from_the_internet_are_errors() -> None:
    plan = recorded(_k8s_exposed)
    assert plan.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "ollama-route").inputs["spec"]["rules"], "CustomResource registers its kind as the type token"
    assert isinstance(plan.one("kubernetes:apps/v1:Deployment", "vision").inputs["spec"], Secret), "one secret env value makes the whole spec secret, which the adapters must still read"
    exposed = _exposed(plan)
    assert any("11434" in m and "ollama" in m for m in exposed.get("ollama-lb", [])), exposed
    assert any("5000" in m and "vision" in m for m in exposed.get("vision-ingress", [])), "the Ingress reaches vision's named target port through the Service"
    assert any("11434" in m for m in exposed.get("ollama-route", [])), exposed
    assert any("5000" in m for m in exposed.get("vision-world", [])), "the policy's named port resolves to vision's container port"
    assert any("11434" in m and "ollama" in m for m in exposed.get("ollama-legacy", [])), "the v1beta1 serviceName/servicePort shape is read too"
    assert "vision" not in exposed, "a ClusterIP Service is not reachable by itself"
    _assert_covered(plan)


def test_kubernetes_web_services_source_ranges_internal_balancers_and_private_policies_expose_nothing() -> None:
    plan = recorded(_k8s_safe)
    assert _exposed(plan) == {}, "web backends, source ranges, an internal load balancer, ClusterIP and a private ipBlock are not the internet"
    reached: dict[str, set[str]] = {}
    for opening in all_openings(plan):
        if opening.from_internet:
            reached.setdefault(opening.resource.name, set()).update(opening.services)
    assert reached == {"frontend": {"frontend"}, "web": {"frontend", "backend"}, "api-route": {"backend"}}, f"the web ways in are still read: {reached}"
    _assert_covered(plan)


# --- Kubernetes workloads and the event bus ---------------------------------------------------------

BUS = "event-bus-for-replicas"
BUS_URL = {"name": EVENT_BUS.url_env, "value": EVENT_BUS.url("valkey", tls=True)}


def _backend(replicas: int | None = 3, env: list[dict[str, object]] | None = None, env_from: list[dict[str, object]] | None = None, max_replicas: int | None = None, bus_secret: bool = False) -> Callable[[], None]:
    """A program running the backend as a Deployment (one container, named by its label), with an HPA when `max_replicas`."""

    def program() -> None:
        from pulumi_kubernetes.apps.v1 import Deployment
        from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler
        from pulumi_kubernetes.core.v1 import Secret as K8sSecret

        labels = {"app.kubernetes.io/name": "backend"}
        container = {"name": "api", "image": "backend", "env": [{"name": "OLLAMA_BASE_URL", "value": "http://ollama:11434"}, *(env or [])], "envFrom": env_from or []}
        spec: dict[str, object] = {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}
        if replicas is not None:
            spec["replicas"] = replicas
        Deployment("backend", metadata={"name": "backend", "namespace": "dixi"}, spec=spec)
        if max_replicas is not None:
            HorizontalPodAutoscaler("backend", metadata={"name": "backend", "namespace": "dixi"}, spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend"},
                "minReplicas": 1, "maxReplicas": max_replicas,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
            })  # fmt: skip
        if bus_secret:
            K8sSecret("bus", metadata={"name": "bus", "namespace": "dixi"}, string_data={EVENT_BUS.url_env: pulumi.Output.secret("rediss://:pw@bus:6379/0")})

    return program


def _backends(plan: RecordedPlan) -> list[Workload]:
    return [w for w in all_workloads(plan) if w.service == BACKEND.name]


def test_a_kubernetes_deployment_with_three_backend_replicas_and_no_event_bus_url_is_an_error() -> None:
    plan = recorded(_backend(replicas=3))
    assert [(w.max_replicas, w.env) for w in _backends(plan)] == [(3, frozenset({"OLLAMA_BASE_URL"}))], "the app label names the service of the pod's one container"
    problems = _run(BUS, plan)
    assert [p.severity for p in problems] == ["error"] and "spec.replicas 3" in problems[0].message and EVENT_BUS.url_env in problems[0].message


@pytest.mark.parametrize(
    "how",
    [
        {"env": [BUS_URL]},
        {"env": [{"name": EVENT_BUS.url_env, "valueFrom": {"secretKeyRef": {"name": "managed-redis", "key": "url"}}}]},
        {"env_from": [{"secretRef": {"name": "bus"}}], "bus_secret": True},
        {"env_from": [{"prefix": "EVENT_BUS_", "configMapRef": {"name": "absent"}}, {"secretRef": {"name": "bus"}}], "bus_secret": True},
    ],
    ids=["plain", "from-a-secret-key", "env-from-a-secret-in-the-plan", "beside-an-unread-config-map"],
)
def test_a_kubernetes_backend_given_the_event_bus_url_plainly_or_from_a_secret_is_clean(how: dict[str, Any]) -> None:
    plan = recorded(_backend(replicas=3, **how))
    backends = _backends(plan)
    assert [w.max_replicas for w in backends] == [3] and EVENT_BUS.url_env in backends[0].env, "the rule looked at three replicas and found the URL"
    assert _run(BUS, plan) == []


def test_an_autoscaler_raising_a_one_replica_backend_deployment_to_three_is_an_error() -> None:
    assert _run(BUS, recorded(_backend(replicas=1))) == [], "one replica keeps its in-process hub"
    assert _run(BUS, recorded(_backend(replicas=None))) == [], "unset replicas mean one"
    plan = recorded(_backend(replicas=1, max_replicas=3))
    assert [w.max_replicas for w in _backends(plan)] == [3]
    problems = _run(BUS, plan)
    assert [p.severity for p in problems] == ["error"] and "HorizontalPodAutoscaler backend maxReplicas 3" in problems[0].message


def test_env_from_a_secret_the_plan_does_not_hold_is_a_warning_not_a_clean_bill() -> None:
    problems = _run(BUS, recorded(_backend(replicas=2, env_from=[{"secretRef": {"name": "made-by-hand"}}])))
    assert [p.severity for p in problems] == ["warning"] and "envFrom secretRef 'made-by-hand' (not in this plan)" in problems[0].message


def test_a_backend_that_no_workload_adapter_reads_could_not_be_judged() -> None:
    def program() -> None:
        from pulumi_kubernetes.apps.v1 import DaemonSet

        labels = {"app": "backend"}
        DaemonSet("backend", metadata={"name": "backend"}, spec={"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "backend", "image": "backend"}]}}})

    problems = _run(BUS, recorded(program))
    assert [p.severity for p in problems] == ["warning"] and "DaemonSet backend" in problems[0].message and "could not be judged" in problems[0].message


# --- All four ---------------------------------------------------------------------------------------

# Where each provider's SDK declares its type tokens: `@pulumi.type_token("...")` in the module's files.
_SDK_PACKAGES = {"gcp": "pulumi_gcp", "digitalocean": "pulumi_digitalocean", "azure-native": "pulumi_azure_native", "kubernetes": "pulumi_kubernetes"}


def _sdk_directory(token: str) -> Path:
    package, module, _ = token.split(":")
    spec = importlib.util.find_spec(_SDK_PACKAGES[package])
    assert spec is not None and spec.submodule_search_locations, f"{_SDK_PACKAGES[package]} is not installed"
    root = Path(next(iter(spec.submodule_search_locations)))
    if package == "kubernetes":
        group, version = module.split("/")
        return root / group.removesuffix(".k8s.io") / version
    module = module.split("/")[0]
    return root if module == "index" else root / module


def test_every_type_these_adapters_register_is_a_type_the_installed_sdks_declare() -> None:
    """A misspelt type token would never match a resource: its adapter would silently read nothing."""
    read = (*OPENINGS, *USER_DATA, *JUDGED, *WORKLOADS, *k8s_checks.AUTOSCALERS, k8s_checks.CONFIG_MAP, k8s_checks.SECRET)
    registered = {t for t in read if t.split(":")[0] in _SDK_PACKAGES and "gateway.networking.k8s.io" not in t}
    assert len(registered) > 40, "the four clouds' adapters should be registered by load_rules()"
    declared: dict[Path, set[str]] = {}
    unknown = []
    for token in sorted(registered):
        directory = _sdk_directory(token)
        if directory not in declared:
            declared[directory] = {m for f in directory.glob("*.py") for m in re.findall(r'@pulumi\.type_token\("([^"]+)"\)', f.read_text())}
        if token not in declared[directory]:
            unknown.append(token)
    assert unknown == [], f"not declared by the installed SDKs: {unknown}"


def test_a_gcp_vm_with_user_data_and_a_startup_script_has_both_checked() -> None:
    import pulumi_gcp as gcp

    def program() -> None:
        gcp.compute.Instance(
            "dixi-vm", machine_type="n1-standard-4", zone="us-central1-a",
            boot_disk={"initialize_params": {"image": "debian-12"}}, network_interfaces=[{"network": "default"}],
            metadata={"user-data": "#cloud-config\nruncmd: []\n"}, metadata_startup_script="#!/bin/bash\necho hi\n",
        )  # fmt: skip

    documents = all_user_data(recorded(program))
    assert sorted(d.limit_source for d in documents) == ["Compute Engine metadata (metadataStartupScript)", "Compute Engine metadata (user-data)"]


def test_a_digitalocean_rule_for_ports_1_to_65535_opens_every_port() -> None:
    import pulumi_digitalocean as do

    def program() -> None:
        do.Firewall("dixi-fw", inbound_rules=[{"protocol": "tcp", "port_range": "1-65535", "source_addresses": ["0.0.0.0/0"]}])

    problems = RULES["private-ports-not-public"](recorded(program), ROOT)
    assert [p.message.split(";")[0] for p in problems] == ["opens all ports to 0.0.0.0/0 (inbound rule tcp 1-65535)"]


def test_ssh_open_to_the_internet_is_an_error_on_every_cloud_and_open_to_an_office_is_not(gcp_exposed: RecordedPlan, do_exposed: RecordedPlan, do_safe: RecordedPlan) -> None:
    gcp = {p.resource.name: p.message for p in _run("ssh-not-public", gcp_exposed) if p.resource}
    assert "ollama-open" in gcp and "opens port 22 (SSH) to 0.0.0.0/0" in gcp["ollama-open"], gcp
    do = {p.resource.name for p in _run("ssh-not-public", do_exposed) if p.resource}
    assert {"ssh-open", "everything"} <= do, "port 22 alone, and every port, both let SSH in"
    assert "vision-lb" not in do, "a balancer forwarding to port 5000 is not SSH"
    assert _run("ssh-not-public", do_safe) == [], "SSH from one office range is what the rule asks for"


def test_managed_redis_on_gcp_is_judged_not_left_unread() -> None:
    assert kind_of("gcp:redis/instance:Instance") is not None, "the classifier flags it (class Instance)"
    assert "gcp:redis/instance:Instance" in JUDGED
