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

Rules (facts from `infra.gcp.catalog`, each with its source there):
- `gce-gpu-vm`: every instance and instance template (global and regional)
  with a GPU (`guestAccelerators`, or a machine type that brings one: G2, A2,
  A3) has `scheduling.onHostMaintenance` TERMINATE (Compute Engine cannot
  live-migrate GPU VMs; unset is MIGRATE); attaches accelerators only to N1
  (T4, V100, P4, P100, in the counts an N1 VM takes), never to f1-micro,
  g1-small or a series without GPUs; attaches nothing to a G2/A2/A3 type
  but its own built-in GPUs; and has no external address
  (`networkInterfaces[].accessConfigs` or `ipv6AccessConfigs`): issue 10's GPU
  VM has no external IP and leaves through Cloud NAT. A machine type or
  accelerator the catalog does not know is a warning that it could not be judged.
- `cloud-run-gpu`: every Cloud Run v2 service that asks for a GPU (a
  container's `resources.limits["nvidia.com/gpu"]` or
  `template.nodeSelector.accelerator`) names the GPU in the node selector,
  runs in a `location` that offers it, asks for exactly one GPU, gives that
  container at least the GPU's CPU and memory (L4: 4 CPU, 16 GiB; limits read
  as Kubernetes quantities, a missing limit is Cloud Run's default 1 CPU /
  512 MiB), sets `cpuIdle` false (CPU always allocated; unset is a warning),
  and bounds its instances (`template.scaling.maxInstanceCount`, the
  service-level `scaling.maxInstanceCount`, or manual scaling): ours, as an
  unbounded GPU service can run up a bill. An unknown accelerator or an
  unreadable value is a warning that it could not be judged.
The rules leave out GPU zones and quota, the vCPUs and memory an N1 VM may
have with each GPU count, and Cloud Run v1 services and jobs.

Left out of the adapters: deny rules and rule priorities (a deny never makes an opening
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
from pathlib import Path
from typing import Any, Final

from infra.checks import Problem, Severity, problem, rule
from infra.checks.adapters import (
    ALL_PORTS,
    INTERNET,
    Opening,
    UserData,
    Workload,
    int_or,
    judged,
    openings,
    port_range,
    user_data,
    workloads,
)
from infra.gcp import catalog
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

# Cloud Run's maximum instances when a service sets none (cloud.google.com/run/docs/configuring/max-instances).
CLOUD_RUN_DEFAULT_MAX_INSTANCES: Final = 100

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
    for entry in _inputs(r).get("rules") or []:
        yield from _policy_rule(r, entry)


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


# --- gce-gpu-vm -----------------------------------------------------------------------------------

GPU_VM_TYPES: Final = (
    "gcp:compute/instance:Instance",
    "gcp:compute/instanceTemplate:InstanceTemplate",
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
)
GCE_GPU_VM: Final = "gce-gpu-vm"


def _accelerator_name(value: Any) -> str:
    """`nvidia-tesla-t4` from a bare name or a URL such as `projects/p/zones/z/acceleratorTypes/nvidia-tesla-t4`."""
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


def _attached(i: dict[str, Any]) -> list[tuple[str, int]]:
    """(accelerator type, count) per `guestAccelerators` entry; a count the plan does not hold is -1."""
    return [(_accelerator_name(a.get("type")), int_or(a.get("count"), -1)) for a in i.get("guestAccelerators") or [] if isinstance(a, dict)]


def _machine_type_problems(vm: RecordedResource, machine_type: str, attached: list[tuple[str, int]]) -> list[Problem]:
    """What the machine type says about the accelerators attached to it (an unknown type or accelerator: not judged)."""
    series = catalog.series_of(machine_type)
    built_in = catalog.GPU_MACHINE_TYPES.get(machine_type)
    if built_in is not None:
        # https://cloud.google.com/compute/docs/gpus: "For the A and G series accelerator-optimized
        # machine types, the specified GPU model automatically attaches to the instance."
        return [
            problem(GCE_GPU_VM, "error", vm, f"machine type {machine_type} brings {built_in.gpus} {built_in.accelerator} built in, "
                    f"but guestAccelerators attaches {count} {name}; attach nothing, or exactly its own {built_in.gpus} {built_in.accelerator}")
            for name, count in attached
            if (name, count) != (built_in.accelerator, built_in.gpus)
        ]
    if series in catalog.GPU_SERIES:
        return [problem(GCE_GPU_VM, "warning", vm, f"machine type {machine_type} is a GPU machine type infra/gcp/catalog.py does not list, so which GPUs it brings and what it may attach could not be judged")]
    if not attached:
        return []
    if series != "n1" and series not in catalog.NO_GPU_SERIES and machine_type not in catalog.N1_SHARED_CORE:
        return [problem(GCE_GPU_VM, "warning", vm, f"machine type {machine_type} is not in infra/gcp/catalog.py, so whether it takes the attached {', '.join(n for n, _ in attached)} could not be judged")]
    if series != "n1" or machine_type in catalog.N1_SHARED_CORE:
        # Same page: only N1 general-purpose types, "except for the N1 shared-core (f1-micro and g1-small)", take attached GPUs.
        return [problem(GCE_GPU_VM, "error", vm, f"machine type {machine_type} takes no attached GPU, but guestAccelerators attaches {', '.join(n for n, _ in attached)}; "
                        f"attach {', '.join(catalog.N1_GPU_COUNTS)} only to an N1 type (not f1-micro or g1-small), or pick a G2 type for an L4")]
    problems = []
    for name, count in attached:
        allowed = catalog.N1_GPU_COUNTS.get(name)
        built_in_by = sorted({t.split("-", 1)[0].upper() for t, m in catalog.GPU_MACHINE_TYPES.items() if m.accelerator == name})
        if allowed is None and built_in_by:
            problems.append(problem(GCE_GPU_VM, "error", vm, f"attaches {name} to N1 machine type {machine_type}, but {name} comes only built into {'/'.join(built_in_by)} machine types; "
                                    f"N1 takes {', '.join(catalog.N1_GPU_COUNTS)} (use a {'/'.join(built_in_by).lower()}-* type for {name})"))
        elif allowed is None:
            problems.append(problem(GCE_GPU_VM, "warning", vm, f"attaches accelerator {name!r}, which infra/gcp/catalog.py does not know, so whether {machine_type} takes it could not be judged"))
        elif count not in allowed:
            shown = "an unreadable count" if count < 0 else f"{count}"
            problems.append(problem(GCE_GPU_VM, "error", vm, f"attaches {shown} {name} to {machine_type}; an N1 VM takes {', '.join(map(str, allowed))} of them"))
    return problems


def _brings_gpus(machine_type: str) -> bool:
    return machine_type in catalog.GPU_MACHINE_TYPES or catalog.series_of(machine_type) in catalog.GPU_SERIES


@rule(GCE_GPU_VM)
def gce_gpu_vm(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for vm in plan.of_type(*GPU_VM_TYPES):
        i = _inputs(vm)
        attached = _attached(i)
        raw_type = i.get("machineType")
        machine_type = catalog.machine_type_name(raw_type) if isinstance(raw_type, str) and raw_type else ""
        if not attached and not (machine_type and _brings_gpus(machine_type)):
            continue  # no GPU: nothing here to judge
        if not machine_type:
            problems.append(problem(GCE_GPU_VM, "warning", vm, f"attaches {', '.join(n for n, _ in attached)} but its machineType is not in the plan, so whether it takes them could not be judged"))
        else:
            problems.extend(_machine_type_problems(vm, machine_type, attached))
        # pulumi_gcp compute/instance.py (guest_accelerators): "GPU accelerators can only be used with
        # on_host_maintenance option set to TERMINATE"; GPU VMs "can't be live migrated"
        # (https://cloud.google.com/compute/docs/gpus/gpu-host-maintenance). Unset is MIGRATE for the API.
        maintenance = (i.get("scheduling") or {}).get("onHostMaintenance")
        if str(maintenance or "").upper() != "TERMINATE":
            found = f"is {maintenance!r}" if maintenance else "is not set (Compute Engine then uses MIGRATE)"
            problems.append(problem(GCE_GPU_VM, "error", vm, f"is a GPU VM whose scheduling.onHostMaintenance {found}; Compute Engine cannot live-migrate GPU VMs and accepts only TERMINATE"))
        # Issue 10: the GPU VM has no external IP; its egress goes through Cloud NAT.
        for index, nic in enumerate(i.get("networkInterfaces") or []):
            external = [key for key in ("accessConfigs", "ipv6AccessConfigs") if isinstance(nic, dict) and nic.get(key)]
            for key in external:
                problems.append(problem(GCE_GPU_VM, "error", vm, f"is a GPU VM with an external address (networkInterfaces[{index}].{key} is set); "
                                        "it must have none (no accessConfigs) and reach the internet through Cloud NAT"))
    return problems


# --- cloud-run-gpu --------------------------------------------------------------------------------

CLOUD_RUN_GPU: Final = "cloud-run-gpu"
GPU_LIMIT: Final = "nvidia.com/gpu"
# Kubernetes quantity suffixes (the provider documents Cloud Run limits as k8s quantities:
# pulumi_gcp cloudrunv2/_inputs.py, ServiceTemplateContainerResourcesArgs.limits).
_BINARY: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL: Final = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_QUANTITY: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T|m)?\s*$")


def cpu_quantity(value: Any) -> float | None:
    """CPUs from "4", "4.0" or "4000m"; None when unreadable."""
    found = _QUANTITY.match(str(value)) if value is not None else None
    if not found or (found.group(2) or "") not in ("", "m"):
        return None
    number = float(found.group(1))
    return number / 1000 if found.group(2) == "m" else number


def memory_gib(value: Any) -> float | None:
    """GiB from "16Gi", "16384Mi", "16G" (decimal, 10^9 bytes) or bytes; None when unreadable."""
    found = _QUANTITY.match(str(value)) if value is not None else None
    if not found or found.group(2) == "m":
        return None
    unit = found.group(2) or ""
    scale = _BINARY.get(unit) or _DECIMAL[unit]
    return float(found.group(1)) * scale / 2**30


def _gpu_count(value: Any) -> int | None:
    count = int_or(value, -1)
    return count if count >= 0 and str(value).strip().replace(".0", "").isdigit() else None


def _max_instances_bounded(i: dict[str, Any]) -> bool:
    template_scaling = (i.get("template") or {}).get("scaling") or {}
    service_scaling = i.get("scaling") or {}
    if str(service_scaling.get("scalingMode") or "").upper() == "MANUAL":
        return True  # manual scaling runs manualInstanceCount instances, no autoscaling past it
    return any(int_or(s.get("maxInstanceCount"), 0) > 0 for s in (template_scaling, service_scaling))


def _cloud_run_gpu_problems(service: RecordedResource) -> list[Problem]:
    i = _inputs(service)
    template = i.get("template") or {}
    containers = [c for c in template.get("containers") or [] if isinstance(c, dict)]
    selector = (template.get("nodeSelector") or {}).get("accelerator")
    with_gpu = [c for c in containers if GPU_LIMIT in ((c.get("resources") or {}).get("limits") or {})]
    if not with_gpu and not selector:
        return []
    found: list[Problem] = []

    def report(severity: Severity, message: str) -> None:
        found.append(problem(CLOUD_RUN_GPU, severity, service, message))

    # https://cloud.google.com/run/docs/configuring/services/gpu: the GPU type is chosen by the
    # node selector (pulumi_gcp cloudrunv2 "Cloudrunv2 Service Gpu" example: accelerator "nvidia-l4").
    if not selector:
        report("error", f"asks for a GPU ({GPU_LIMIT}) but sets no template.nodeSelector.accelerator; name the GPU type, one of {', '.join(catalog.CLOUD_RUN_GPUS)}")
        return found
    gpu = catalog.CLOUD_RUN_GPUS.get(str(selector))
    if gpu is None:
        report("warning", f"asks for accelerator {selector!r}, which infra/gcp/catalog.py does not know, so its region, CPU and memory could not be judged")
        return found
    # Same page, "Supported regions" (see catalog.CLOUD_RUN_GPUS for the conflicting copies).
    location = i.get("location")
    if not isinstance(location, str) or not location:
        report("warning", f"has no location in the plan, so whether its region offers {selector} could not be judged")
    elif location not in gpu.regions:
        report("error", f"runs in {location}, which does not offer Cloud Run {selector} GPUs; use one of {', '.join(gpu.regions)}")
    # Same page: "You can configure one GPU per Cloud Run instance"; the GPU attaches to one container.
    counts = [(c.get("name") or f"containers[{containers.index(c)}]", _gpu_count(((c.get("resources") or {}).get("limits") or {}).get(GPU_LIMIT))) for c in with_gpu]
    if any(count is None for _, count in counts):
        report("warning", f"has a {GPU_LIMIT} limit the plan cannot read as a number, so its GPU count could not be judged")
    else:
        total = sum(count or 0 for _, count in counts)
        if total != catalog.CLOUD_RUN_GPUS_PER_INSTANCE:
            where = ", ".join(f"{name}: {count}" for name, count in counts) or f"no container sets {GPU_LIMIT}"
            report("error", f"asks for {total} GPU(s) per instance ({where}); Cloud Run attaches exactly {catalog.CLOUD_RUN_GPUS_PER_INSTANCE} GPU to one container of an instance")
    # Same page: L4 needs "a minimum of 4 CPU and 16 GiB of memory", and CPU always allocated.
    for container in with_gpu or containers[:1]:
        name = container.get("name") or f"containers[{containers.index(container)}]"
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        cpu = cpu_quantity(limits["cpu"]) if "cpu" in limits else catalog.CLOUD_RUN_DEFAULT_CPU
        memory = memory_gib(limits["memory"]) if "memory" in limits else catalog.CLOUD_RUN_DEFAULT_MEMORY_GIB
        if cpu is None:
            report("warning", f"container {name} has a cpu limit {limits.get('cpu')!r} the rule cannot read, so whether it meets {selector}'s {gpu.min_cpu:g} CPU could not be judged")
        elif cpu < gpu.min_cpu:
            shown = f"cpu limit {limits['cpu']!r}" if "cpu" in limits else "no cpu limit (Cloud Run's default, 1 CPU)"
            report("error", f"container {name} has {shown}; Cloud Run with {selector} needs at least {gpu.min_cpu:g} CPU")
        if memory is None:
            report("warning", f"container {name} has a memory limit {limits.get('memory')!r} the rule cannot read, so whether it meets {selector}'s {gpu.min_memory_gib:g} GiB could not be judged")
        elif memory < gpu.min_memory_gib:
            shown = f"memory limit {limits['memory']!r} ({memory:.3g} GiB)" if "memory" in limits else "no memory limit (Cloud Run's default, 512 MiB)"
            report("error", f"container {name} has {shown}; Cloud Run with {selector} needs at least {gpu.min_memory_gib:g} GiB")
        idle = resources.get("cpuIdle")
        if idle is True:
            report("error", f"container {name} has cpuIdle true (CPU only during requests); Cloud Run GPUs need CPU always allocated: set cpuIdle false")
        elif idle is None:
            # pulumi_gcp cloudrunv2/_inputs.py: cpuIdle is "True by default if the parent resources field is not set".
            report("warning", f"container {name} does not set cpuIdle, so whether its CPU is always allocated, as Cloud Run GPUs need, could not be judged; set cpuIdle false")
    # Ours: an unbounded GPU service can run up a bill (Cloud Run bills the GPU for each instance's whole life).
    if not _max_instances_bounded(i):
        report("error", "sets no maximum instance count (template.scaling.maxInstanceCount); a GPU service without one can scale to as many billed GPU instances as the quota allows")
    return found


@rule(CLOUD_RUN_GPU)
def cloud_run_gpu(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems: list[Problem] = []
    for service in plan.of_type(CLOUD_RUN_V2):
        problems.extend(_cloud_run_gpu_problems(service))
    return problems


@workloads(CLOUD_RUN_V2)
def _cloud_run_workloads(r: RecordedResource, plan: RecordedPlan) -> Iterator[Workload]:
    """A Cloud Run v2 service runs its containers on up to `maxInstanceCount` instances (template or service scaling).

    Without a maximum, Cloud Run's own default (100 instances) applies
    (cloud.google.com/run/docs/configuring/max-instances). Env names are each
    container's `envs[].name`, plain or from a secret.
    """
    template = _inputs(r).get("template") or {}
    scaling = template.get("scaling") or {}
    service_scaling = r.inputs.get("scaling") or {}
    most = scaling.get("maxInstanceCount") or service_scaling.get("maxInstanceCount") or service_scaling.get("manualInstanceCount")
    replicas = int_or(most, CLOUD_RUN_DEFAULT_MAX_INSTANCES)
    via = f"maxInstanceCount {replicas}" if most is not None else f"Cloud Run's default maximum of {replicas} instances"
    for container in template.get("containers") or []:
        envs = frozenset(str(e.get("name")) for e in container.get("envs") or [] if isinstance(e, dict) and e.get("name"))
        yield Workload(r, str(container.get("name") or r.inputs.get("name") or r.name), replicas, envs, via=via)
