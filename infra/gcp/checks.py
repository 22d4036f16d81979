"""Google Cloud check adapters: how the cross-cloud rules read GCP firewalls, load balancers, Cloud Run and VMs.

Openings (input names confirmed by recording the pulumi_gcp 10.2 classes
under the offline engine, and in the SDK files named):
- VPC firewall rules, `gcp:compute/firewall:Firewall` (pulumi_gcp/compute/firewall.py):
  `direction` (INGRESS when unset), `disabled`, `sourceRanges`, `allows[]`
  `.protocol`/`.ports` (no ports: every port). An ingress rule with no
  `sourceRanges`, `sourceTags` or `sourceServiceAccounts` gets 0.0.0.0/0 from
  the API (hashicorp/terraform-provider-google#6789), so it is read as the
  internet; tags and service accounts alone never match internet traffic.
- Firewall policy rules, hierarchical and network, alone or inline in a
  `...WithRules` policy (pulumi_gcp/compute/network_firewall_policy_rule.py,
  firewall_policy_rule.py, network_firewall_policy_with_rules.py):
  `action` allow or apply_security_profile_group, `direction`, `disabled`,
  `match.srcIpRanges`, `match.srcRegionCodes` (a country is the internet),
  `match.layer4Configs[].ipProtocol`/`.ports`.
- Forwarding rules, regional and global (pulumi_gcp/compute/forwarding_rule.py,
  global_forwarding_rule.py): `loadBalancingScheme` (unset: EXTERNAL for a
  regional rule, EXTERNAL_MANAGED for a global one; only the EXTERNAL ones face
  the internet), `ipProtocol`, `portRange`, `ports`, `allPorts` (none of them:
  every port). Behind a target proxy, the rule also reaches the port its
  backend services name (`target` -> proxy `urlMap`/`backendService` -> URL map
  services -> backend service `portName` -> instance group `namedPorts`).
- Cloud Run services, v2 and v1 (pulumi_gcp/cloudrunv2/service.py,
  cloudrun/service.py): `ingress` (v2; unset is INGRESS_TRAFFIC_ALL) or the
  `run.googleapis.com/ingress` annotation (v1; unset is "all") decides whether
  the run.app URL takes requests from the internet
  (https://cloud.google.com/run/docs/securing/ingress); such a service is
  reached on its container's `ports.containerPort` (requests go to 8080 when
  none is declared: https://cloud.google.com/run/docs/container-contract,
  "Listening for requests on the correct port"). Its `name` goes into the
  opening's services, so a service named `vision` is vision on any port.

User data, `metadata["user-data"]` (what cloud-init reads), else
`metadataStartupScript` or `metadata["startup-script"]` (what the guest agent
runs), of instances, instance templates (global and regional) and instances
made from a template or a machine image (pulumi_gcp/compute/instance.py,
instance_template.py, region_instance_template.py). Compute Engine accepts at
most 262144 bytes (256 KiB) per metadata value (Compute API, Metadata.items[].value:
https://cloud.google.com/compute/docs/reference/rest/v1/instances). The
engine sends `metadata` as one map, secret as a whole once any value in it is
secret: the user data counts as marked secret unless another key is named like
a secret (`ssh-keys`), which the mark may be for. A VM with both user-data and a
startup script is read for its user-data only (an adapter returns one document).

Judged: instance group managers (they boot what their template says, which is
read), target proxies (reached only through the forwarding rules that name
them), and the firewall policy containers, associations and IAM bindings
(their rules are read; they let nothing in themselves).

Left out: deny rules and rule priorities (a deny never makes an opening
safer here: the allow is still reported), other protocols (icmp, esp, ah,
sctp, ipip reach no TCP port), Cloud Run IAM (a service that demands
authentication is still reachable), backend ports the plan cannot name (a
backend service without `portName`, or no instance group in the plan with
that named port: only the frontend port is reported), serverless network
endpoint groups behind a load balancer (the Cloud Run service's own ingress is
read), and GKE (its Services are read by the Kubernetes adapters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from infra.checks.adapters import (
    ALL_PORTS,
    INTERNET,
    Opening,
    UserData,
    int_or,
    judged,
    openings,
    port_range,
    user_data,
)
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

FIREWALL: Final = "gcp:compute/firewall:Firewall"
POLICY_RULES: Final = (
    "gcp:compute/firewallPolicyRule:FirewallPolicyRule",
    "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule",
    "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule",
)
POLICIES_WITH_RULES: Final = (
    "gcp:compute/firewallPolicyWithRules:FirewallPolicyWithRules",
    "gcp:compute/networkFirewallPolicyWithRules:NetworkFirewallPolicyWithRules",
    "gcp:compute/regionNetworkFirewallPolicyWithRules:RegionNetworkFirewallPolicyWithRules",
)
FORWARDING_RULE: Final = "gcp:compute/forwardingRule:ForwardingRule"
GLOBAL_FORWARDING_RULE: Final = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
CLOUD_RUN_V2: Final = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_V1: Final = "gcp:cloudrun/service:Service"
INSTANCE_TYPES: Final = (
    "gcp:compute/instance:Instance",
    "gcp:compute/instanceTemplate:InstanceTemplate",
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
    "gcp:compute/instanceFromTemplate:InstanceFromTemplate",
    "gcp:compute/instanceFromMachineImage:InstanceFromMachineImage",
)
GROUP_MANAGERS: Final = (
    "gcp:compute/instanceGroupManager:InstanceGroupManager",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
)
INSTANCE_GROUPS: Final = (*GROUP_MANAGERS, "gcp:compute/instanceGroup:InstanceGroup")
URL_MAP_PROXIES: Final = (
    "gcp:compute/targetHttpProxy:TargetHttpProxy",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
    "gcp:compute/regionTargetHttpProxy:RegionTargetHttpProxy",
    "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy",
)
BACKEND_PROXIES: Final = (
    "gcp:compute/targetTCPProxy:TargetTCPProxy",
    "gcp:compute/regionTargetTcpProxy:RegionTargetTcpProxy",
    "gcp:compute/targetSSLProxy:TargetSSLProxy",
)
URL_MAPS: Final = ("gcp:compute/uRLMap:URLMap", "gcp:compute/regionUrlMap:RegionUrlMap")
BACKEND_SERVICES: Final = (
    "gcp:compute/backendService:BackendService",
    "gcp:compute/regionBackendService:RegionBackendService",
)
# Compute API, Metadata.items[].value: "less than or equal to 262144 bytes (256 KiB)".
METADATA_VALUE_LIMIT: Final = 262144
EXTERNAL_SCHEMES: Final = frozenset({"EXTERNAL", "EXTERNAL_MANAGED"})
# Cloud Run's default container port (https://cloud.google.com/run/docs/container-contract#port).
CLOUD_RUN_DEFAULT_PORT: Final = 8080
_SECRET_NAMED: Final = re.compile(r"password|secret|token|credential|private|keys?$", re.I)
_ALLOWING_ACTIONS: Final = frozenset({"allow", "apply_security_profile_group"})
# Protocol names and numbers that reach a TCP or UDP port; the rest carry none.
_PROTOCOLS: Final = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "all": "all", "l3_default": "all"}

for _manager in GROUP_MANAGERS:
    judged(_manager, "boots the instance template it names, whose user data is read")
for _proxy in (*URL_MAP_PROXIES, "gcp:compute/regionTargetTcpProxy:RegionTargetTcpProxy"):
    judged(_proxy, "reached only through the forwarding rules that name it, which are read as openings")
for _container in (
    "gcp:compute/firewallPolicy:FirewallPolicy",
    "gcp:compute/networkFirewallPolicy:NetworkFirewallPolicy",
    "gcp:compute/regionNetworkFirewallPolicy:RegionNetworkFirewallPolicy",
    "gcp:compute/firewallPolicyAssociation:FirewallPolicyAssociation",
    "gcp:compute/networkFirewallPolicyAssociation:NetworkFirewallPolicyAssociation",
    "gcp:compute/regionNetworkFirewallPolicyAssociation:RegionNetworkFirewallPolicyAssociation",
):
    judged(_container, "holds or attaches firewall policy rules, which are read one by one; lets nothing in itself")
for _iam in ("IamBinding", "IamMember", "IamPolicy"):
    for _policy in ("firewallPolicy:FirewallPolicy", "networkFirewallPolicy:NetworkFirewallPolicy", "regionNetworkFirewallPolicy:RegionNetworkFirewallPolicy"):
        _module, _class = _policy.split(":")
        judged(f"gcp:compute/{_module}{_iam}:{_class}{_iam}", "grants who may manage a firewall policy; lets no traffic in")
judged("gcp:compute/networkFirewallPolicyPacketMirroringRule:NetworkFirewallPolicyPacketMirroringRule", "mirrors traffic to a collector; lets nothing in")
# Managed Redis and Valkey (the event bus): reachable only from the VPC they are
# attached to (private service access or Private Service Connect), never by a
# public address; the VPC's firewall rules are read as openings.
for _store in ("gcp:redis/instance:Instance", "gcp:memorystore/instance:Instance"):
    judged(_store, "a managed store with private addresses only; the VPC's firewall rules decide who reaches it")


def _inputs(r: RecordedResource) -> dict[str, Any]:
    """`r`'s inputs with secrets unwrapped: the engine marks a whole object secret once one field in it is."""
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _protocol(value: Any) -> str | None:
    return _PROTOCOLS.get(str(value or "").strip().lower())


def _port_ranges(ports: Any) -> list[tuple[int, int]]:
    """GCP port lists (`["80", "8000-8100"]`) as ranges; an empty list is every port."""
    found = [port_range(p) for p in ports or [] if str(p).strip()]
    return found or [ALL_PORTS]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in reveal(value) or [] if v]


@openings(FIREWALL)
def _firewall(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    if str(i.get("direction") or "INGRESS").upper() != "INGRESS" or i.get("disabled") is True:
        return
    sources = frozenset(_strings(i.get("sourceRanges")))
    if not sources and not i.get("sourceTags") and not i.get("sourceServiceAccounts"):
        sources = INTERNET  # what the API fills in (hashicorp/terraform-provider-google#6789)
    for allow in i.get("allows") or []:
        protocol = _protocol(allow.get("protocol"))
        if protocol is None:
            continue
        for low, high in _port_ranges(allow.get("ports")):
            yield Opening(r, protocol, low, high, sources, via=f"allow {allow.get('protocol')} {low}-{high}")


def _policy_rule(r: RecordedResource, rule: dict[str, Any]) -> Iterator[Opening]:
    if str(rule.get("direction") or "INGRESS").upper() != "INGRESS" or rule.get("disabled") is True:
        return
    if str(rule.get("action") or "").lower() not in _ALLOWING_ACTIONS:
        return
    match = rule.get("match") or {}
    sources = set(_strings(match.get("srcIpRanges")))
    if match.get("srcRegionCodes"):
        sources |= INTERNET  # traffic from a whole country is traffic from the internet
    for config in match.get("layer4Configs") or []:
        protocol = _protocol(config.get("ipProtocol"))
        if protocol is None:
            continue
        for low, high in _port_ranges(config.get("ports")):
            yield Opening(r, protocol, low, high, frozenset(sources), via=f"policy rule priority {int_or(rule.get('priority'), 0)}")


@openings(*POLICY_RULES)
def _firewall_policy_rule(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    yield from _policy_rule(r, _inputs(r))


@openings(*POLICIES_WITH_RULES)
def _firewall_policy_with_rules(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    for rule in _inputs(r).get("rules") or []:
        yield from _policy_rule(r, rule)


def _refs(value: Any, keys: frozenset[str]) -> Iterator[str]:
    """Every string held under one of `keys`, anywhere in `value` (URL maps nest their services deeply)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                yield item
            else:
                yield from _refs(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item, keys)


def _named_ports(service: RecordedResource, plan: RecordedPlan) -> set[int]:
    """The ports a backend service's `portName` stands for on its instance groups (all groups when none is followed)."""
    i = _inputs(service)
    name = i.get("portName")
    if not name:
        return set()
    groups = [g for g in (plan.producer(b.get("group"), *INSTANCE_GROUPS) for b in i.get("backends") or []) if g]
    return {
        int_or(named.get("port"), 0)
        for group in groups or plan.of_type(*INSTANCE_GROUPS)
        for named in _inputs(group).get("namedPorts") or []
        if named.get("name") == name
    } - {0}


def _backend_ports(rule: RecordedResource, plan: RecordedPlan) -> Iterator[tuple[int, str]]:
    """(port, how) for each backend port a proxy-based forwarding rule reaches through its target."""
    proxy = plan.producer(_inputs(rule).get("target"), *URL_MAP_PROXIES, *BACKEND_PROXIES)
    if proxy is None:
        return
    target = _inputs(proxy)
    service_refs: Iterable[str] = [str(target.get("backendService") or "")]
    url_map = plan.producer(target.get("urlMap"), *URL_MAPS)
    if url_map is not None:
        service_refs = _refs(_inputs(url_map), frozenset({"defaultService", "service", "backendService"}))
    seen: set[str] = set()
    for ref in service_refs:
        service = plan.producer(ref, *BACKEND_SERVICES)
        if service is None or service.name in seen:
            continue
        seen.add(service.name)
        for port in sorted(_named_ports(service, plan)):
            yield port, f"{proxy.class_name} {proxy.name} -> backend service {service.name} port {_inputs(service).get('portName')!r} = {port}"


@openings(FORWARDING_RULE, GLOBAL_FORWARDING_RULE)
def _forwarding_rule(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    default_scheme = "EXTERNAL" if r.type == FORWARDING_RULE else "EXTERNAL_MANAGED"
    scheme = i.get("loadBalancingScheme")
    if (default_scheme if scheme is None else str(scheme).upper()) not in EXTERNAL_SCHEMES:
        return  # internal, or a Private Service Connect endpoint (""): not on the internet
    protocol = _protocol(i.get("ipProtocol") or "TCP")
    if protocol is None:
        return
    if i.get("allPorts") is True:
        frontends = [ALL_PORTS]
    elif i.get("ports"):
        frontends = _port_ranges(i.get("ports"))
    else:
        frontends = _port_ranges([i["portRange"]] if i.get("portRange") else [])
    for low, high in frontends:
        yield Opening(r, protocol, low, high, INTERNET, via=f"external forwarding rule {low}-{high}")
    for port, how in _backend_ports(r, plan):
        yield Opening(r, "tcp", port, port, INTERNET, via=f"external forwarding rule -> {how}")


def _cloud_run_port(containers: Any) -> int:
    """The port of the container that takes requests (v2 declares one `ports` object, v1 a list)."""
    for container in containers or []:
        ports = container.get("ports")
        for port in ports if isinstance(ports, list) else [ports] if isinstance(ports, dict) else []:
            if port.get("containerPort"):
                return int_or(port["containerPort"], CLOUD_RUN_DEFAULT_PORT)
    return CLOUD_RUN_DEFAULT_PORT


def _run_services(name: Any) -> frozenset[str]:
    return frozenset({str(name)}) if isinstance(name, str) and name else frozenset()


@openings(CLOUD_RUN_V2)
def _cloud_run_v2(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    ingress = str(i.get("ingress") or "INGRESS_TRAFFIC_ALL").upper()
    if ingress != "INGRESS_TRAFFIC_ALL":
        return  # internal only, or through a load balancer (whose forwarding rule is read)
    port = _cloud_run_port((i.get("template") or {}).get("containers"))
    yield Opening(r, "tcp", port, port, INTERNET, _run_services(i.get("name")), via=f"run.app URL (ingress {ingress}) -> container port {port}")


@openings(CLOUD_RUN_V1)
def _cloud_run_v1(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    annotations = (i.get("metadata") or {}).get("annotations") or {}
    ingress = str(annotations.get("run.googleapis.com/ingress") or "all").lower()
    if ingress != "all":
        return
    spec = (i.get("template") or {}).get("spec") or {}
    port = _cloud_run_port(spec.get("containers"))
    yield Opening(r, "tcp", port, port, INTERNET, _run_services(i.get("name")), via=f"run.app URL (ingress {ingress}) -> container port {port}")


def _marked(metadata: Any, key: str) -> bool:
    """Whether the metadata value `key` was sent secret.

    The engine marks the `metadata` map secret as a whole once any value in
    it is. Such a mark counts for the user data only when no other key is
    named like a secret (`ssh-keys`, `db-password`) that it could be for;
    `secret-not-in-user-data` still finds such a value if it reached the text.
    """
    if not isinstance(metadata, Secret):
        return False
    return not any(k != key and _SECRET_NAMED.search(str(k)) for k in (reveal(metadata) or {}))


@user_data(*INSTANCE_TYPES)
def _instance_user_data(r: RecordedResource) -> list[UserData]:
    raw = r.inputs.get("metadata")
    metadata = reveal(raw) or {}
    script = r.inputs.get("metadataStartupScript")
    found: list[UserData] = []
    for key, value, secret in (
        ("user-data", metadata.get("user-data"), _marked(raw, "user-data")),
        ("metadataStartupScript", reveal(script), isinstance(script, Secret)),
        ("startup-script", metadata.get("startup-script"), _marked(raw, "startup-script")),
    ):
        if isinstance(value, str) and value:
            found.append(UserData(r, value, METADATA_VALUE_LIMIT, f"Compute Engine metadata ({key})", secret))
    return found
