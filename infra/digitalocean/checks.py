"""DigitalOcean check adapters: how the cross-cloud rules read DigitalOcean firewalls, load balancers and Droplets.

Openings (input names confirmed by recording the pulumi_digitalocean 4.84
classes under the offline engine, and in the SDK files named):
- cloud firewalls, `digitalocean:index/firewall:Firewall`
  (pulumi_digitalocean/firewall.py, `FirewallInboundRuleArgs` in _inputs.py):
  each of `inboundRules[]` with `action` allow (the default; deny rules are
  skipped), `protocol` tcp/udp (icmp carries no port), `portRange` ("80",
  "8000-9000", "1-65535" or "all"; unset is every port) and
  `sourceAddresses`. Sources named by Droplet id, tag, load balancer uid or
  Kubernetes cluster id are DigitalOcean resources, not the internet: they add
  no CIDR.
- load balancers, `digitalocean:index/loadBalancer:LoadBalancer`
  (pulumi_digitalocean/load_balancer.py, `LoadBalancerForwardingRuleArgs`):
  each of `forwardingRules[]` lets whoever reaches the balancer reach its
  Droplets' `targetPort` (from `entryPort`), over `targetProtocol` (udp stays
  udp, everything else is tcp). That is the internet unless `network` is
  INTERNAL; `firewall.allows` ("cidr:1.2.3.0/24", "ip:1.2.3.4") narrows the
  sources to those addresses, and `firewall.denies` is not read (a deny list
  leaves the rest of the internet in).

- database firewalls ("trusted sources"), `digitalocean:index/databaseFirewall:DatabaseFirewall`
  (pulumi_digitalocean/database_firewall.py, `DatabaseFirewallRuleArgs`):
  each of `rules[]` of `type` ip_addr lets its `value` (an address or CIDR)
  reach the cluster's port; `droplet`, `k8s`, `tag` and `app` rules name
  DigitalOcean resources, not the internet. The cluster is followed from
  `clusterId` to the `DatabaseCluster` of the plan: its `port` (else
  `catalog.VALKEY_PORT`) and its `engine` (the opening reaches a service named
  so, and a `valkey`/`redis` engine is the event bus to `private-ports-not-public`).
- managed database clusters, `digitalocean:index/databaseCluster:DatabaseCluster`:
  one that no database firewall of the plan names is open to every address
  on its public host ("By default, database clusters are accessible from any
  source": https://docs.digitalocean.com/reference/ansible/reference/modules/database_firewall/;
  the API's firewall operation "You may limit connections to specific Droplets,
  Kubernetes clusters, or IP addresses": digitalocean/openapi
  specification/resources/databases/databases_update_firewall_rules.yml).

User data: Droplets' `userData` (pulumi_digitalocean/droplet.py), plain text;
the API takes at most 64 KiB ("It must be plain text and may not exceed 64 KiB
in size": Droplet create, user_data, https://docs.digitalocean.com/reference/api/digitalocean/#tag/Droplets/operation/droplets_create).
Only the Droplet can read it back (`readable_outside_host` False): the API's
Droplet object has no user_data field (digitalocean/openapi
specification/resources/droplets/models/droplet.yml lists id, name, memory,
vcpus, disk, disk_info, locked, status, kernel, created_at, features,
backup_ids, next_backup_window, snapshot_ids, image, volume_ids, size,
size_slug, networks, region, tags, vpc_uuid, gpu_info; user_data is only in
droplet_create.yml, the request), and the metadata service serves it to the
Droplet itself on the link-local 169.254.169.254 ("Droplets can access the
metadata service using the special, static, link-local IP address
169.254.169.254": https://docs.digitalocean.com/products/droplets/how-to/access-metadata/;
`/metadata/v1/user-data`: https://docs.digitalocean.com/reference/api/metadata/).
What that allows and demands is `secret-not-in-user-data`'s (infra/checks/userdata.py).

Judged: the VPC NAT gateway (egress only).

Rule `do-catalog` (facts from `infra.digitalocean.catalog`, each sourced there):
every Droplet's `size` and `region` are ones the catalog knows, and a GPU size
(`Size.gpus` > 0) runs only in a region `GPU_REGIONS` lists for it (the message
names those); a `DatabaseCluster` of engine valkey (or redis) has a `size` of
`VALKEY_SIZES` (one of `VALKEY_SINGLE_NODE_ONLY` with one node) and a `region`
of `VALKEY_REGIONS`, any other cluster a `region` of `REGIONS`; a `Volume`'s `size`
is within `VOLUME_GIB`; a `LoadBalancer`'s `sizeUnit` within `LB_SIZE_UNITS` and
`httpIdleTimeoutSeconds` within `LB_IDLE_TIMEOUT_SECONDS` (unset: the provider's
defaults, 1 unit and 60 s); and a `VolumeAttachment` joins a volume and a
Droplet of the same region (DigitalOcean moves volumes "between Droplets within
the same region" only), both followed by value (`dropletId` to a Droplet's id,
`volumeId` to a Volume's id). A value the plan does not hold (unset where it is
required, or an output not known when planned: the engine drops those) or a
reference to something outside the plan is a warning that it could not be
judged, never a pass.

Left out: App Platform apps and managed Kubernetes (DOKS Services are read by
the Kubernetes adapters), and Droplets without a firewall (a Droplet that no
firewall covers accepts every port: a rule for the stack kind, not an adapter).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from infra.checks import Problem, problem, rule
from infra.checks.adapters import (
    INTERNET,
    Opening,
    UserData,
    int_or,
    judged,
    openings,
    port_range,
    user_data,
)
from infra.plan.model import RecordedPlan, RecordedResource, Secret, as_number, reveal

FIREWALL: Final = "digitalocean:index/firewall:Firewall"
LOAD_BALANCER: Final = "digitalocean:index/loadBalancer:LoadBalancer"
DROPLET: Final = "digitalocean:index/droplet:Droplet"
DATABASE_CLUSTER: Final = "digitalocean:index/databaseCluster:DatabaseCluster"
DATABASE_FIREWALL: Final = "digitalocean:index/databaseFirewall:DatabaseFirewall"
VOLUME: Final = "digitalocean:index/volume:Volume"
VOLUME_ATTACHMENT: Final = "digitalocean:index/volumeAttachment:VolumeAttachment"
# Droplet create, user_data: "must be plain text and may not exceed 64 KiB in size".
USER_DATA_LIMIT: Final = 64 * 1024
USER_DATA_READER: Final = (
    "DigitalOcean's API has no user_data in its Droplet object (digitalocean/openapi "
    "specification/resources/droplets/models/droplet.yml); the metadata service serves it to the Droplet "
    "itself on link-local 169.254.169.254 (https://docs.digitalocean.com/reference/api/metadata/)"
)
# The port of a managed Valkey cluster when neither the plan nor the catalog says it.
DEFAULT_DATABASE_PORT: Final = 25061
BUS_ENGINES: Final = ("valkey", "redis")
CATALOG: Final = "do-catalog"

judged("digitalocean:index/vpcNatGateway:VpcNatGateway", "egress only: lets nothing in")


def _inputs(r: RecordedResource) -> dict[str, Any]:
    """`r`'s inputs with secrets unwrapped: the engine marks a whole object secret once one field in it is."""
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _cidrs(values: Any) -> frozenset[str]:
    """Addresses as CIDRs: a bare IPv4 or IPv6 address is one host."""
    found = set()
    for value in reveal(values) or []:
        text = str(value).strip()
        if text:
            found.add(text if "/" in text else f"{text}/{128 if ':' in text else 32}")
    return frozenset(found)


@openings(FIREWALL)
def _firewall(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    for entry in _inputs(r).get("inboundRules") or []:
        protocol = str(entry.get("protocol") or "").lower()
        if str(entry.get("action") or "allow").lower() != "allow" or protocol not in ("tcp", "udp"):
            continue
        low, high = port_range(entry.get("portRange"))
        yield Opening(r, protocol, low, high, _cidrs(entry.get("sourceAddresses")), via=f"inbound rule {protocol} {entry.get('portRange') or 'all'}")


def _balancer_sources(balancer: dict[str, Any]) -> frozenset[str]:
    """The internet, or the addresses `firewall.allows` lets in ("cidr:1.2.3.0/24", "ip:1.2.3.4")."""
    allows = [str(a) for a in ((balancer.get("firewall") or {}).get("allows")) or []]
    if not allows:
        return INTERNET
    return _cidrs(a.partition(":")[2] for a in allows)


@openings(LOAD_BALANCER)
def _load_balancer(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    if str(i.get("network") or "EXTERNAL").upper() == "INTERNAL":
        return
    sources = _balancer_sources(i)
    for entry in i.get("forwardingRules") or []:
        port = int_or(entry.get("targetPort"), 0)
        protocol = "udp" if str(entry.get("targetProtocol")).lower() == "udp" else "tcp"
        yield Opening(r, protocol, port, port, sources, via=f"entry port {int_or(entry.get('entryPort'), 0)} -> target port {port}")


@user_data(DROPLET)
def _droplet_user_data(r: RecordedResource) -> list[UserData]:
    raw = r.inputs.get("userData")
    text = reveal(raw)
    if not isinstance(text, str) or not text:
        return []
    return [UserData(r, text, USER_DATA_LIMIT, "DigitalOcean (Droplet user_data)", isinstance(raw, Secret), readable_outside_host=False, reader_source=USER_DATA_READER)]


def _database_port(cluster: RecordedResource | None) -> int:
    port = int_or(cluster.state.get("port"), 0) if cluster is not None else 0
    if port:
        return port
    try:
        from infra.digitalocean import catalog
    except ModuleNotFoundError:
        return DEFAULT_DATABASE_PORT
    return int(getattr(catalog, "VALKEY_PORT", DEFAULT_DATABASE_PORT))


def _guarded(cluster: RecordedResource, plan: RecordedPlan) -> bool:
    """Whether a database firewall of the plan names `cluster` (by its id, or any id-like output)."""
    ids = {cluster.id, *(v for k, v in cluster.state.items() if k in ("id", "clusterId") and isinstance(v, str))} - {""}
    return any(reveal(f.inputs.get("clusterId")) in ids for f in plan.of_type(DATABASE_FIREWALL))


@openings(DATABASE_CLUSTER)
def _database_cluster(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    if _guarded(r, plan):
        return
    port = _database_port(r)
    engine = str(reveal(r.inputs.get("engine")) or "database")
    yield Opening(r, "tcp", port, port, INTERNET, frozenset({engine}), via=f"{engine} cluster port {port} with no database firewall (trusted sources), which DigitalOcean opens to any source")


@openings(DATABASE_FIREWALL)
def _database_firewall(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    cluster = plan.producer(i.get("clusterId"), DATABASE_CLUSTER)
    port = _database_port(cluster)
    # A cluster outside the plan: the stack's one managed database is its event bus.
    engine = str((cluster.inputs.get("engine") if cluster is not None else None) or "valkey")
    for entry in i.get("rules") or []:
        if not isinstance(entry, dict) or str(entry.get("type") or "").lower() != "ip_addr":
            continue  # droplet, k8s, tag and app sources are DigitalOcean resources, not the internet
        value = str(entry.get("value") or "")
        yield Opening(r, "tcp", port, port, _cidrs([value]), frozenset({engine}), via=f"trusted source ip_addr {value} -> {engine} cluster port {port}")


# --- do-catalog -----------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    found = reveal(value)
    return found if isinstance(found, str) and found else None


def _whole(value: Any) -> int | None:
    """A count or size the plan holds as a whole number, else None (absent, unknown when planned, not a number)."""
    found = reveal(value)
    if found is None or isinstance(found, bool):
        return None
    number = as_number(found, float("nan"))
    return int(number) if number == number and float(number).is_integer() else None


def _span(values: range) -> str:
    return f"{values.start}-{values.stop - 1}"


def _droplet_problems(droplet: RecordedResource, catalog: Any) -> list[Problem]:
    found: list[Problem] = []
    size, region = _text(droplet.inputs.get("size")), _text(droplet.inputs.get("region"))
    if region is None:
        found.append(problem(CATALOG, "warning", droplet, "has no region in the plan (unset, when DigitalOcean may place it in any region, or not known when planned), so where it runs could not be judged"))
    elif region not in catalog.REGIONS:
        found.append(problem(CATALOG, "error", droplet, f"region {region!r} is not a Droplet region infra/digitalocean/catalog.py knows; use one of {', '.join(catalog.REGIONS)}"))
    if size is None:
        found.append(problem(CATALOG, "warning", droplet, "has no size in the plan (not known when planned), so whether DigitalOcean offers it could not be judged"))
        return found
    known = catalog.SIZES.get(size)
    if known is None:
        found.append(problem(CATALOG, "error", droplet, f"size {size!r} is not a Droplet size infra/digitalocean/catalog.py knows; DigitalOcean refuses a slug it does not offer: use a catalog size, or add this one with its source"))
        return found
    if not known.gpus:
        return found
    regions = catalog.GPU_REGIONS.get(size)
    if not regions:
        found.append(problem(CATALOG, "warning", droplet, f"size {size} is a GPU size ({known.gpus} x {known.gpu_model}), but infra/digitalocean/catalog.py lists no region offering it, so its region could not be judged"))
    elif region is not None and region not in regions:
        found.append(problem(CATALOG, "error", droplet, f"size {size} ({known.gpus} x {known.gpu_model}) is offered only in {', '.join(regions)}, not in {region}; pick one of those regions or another GPU size"))
    return found


def _database_problems(cluster: RecordedResource, catalog: Any) -> list[Problem]:
    found: list[Problem] = []
    engine, size, region = _text(cluster.inputs.get("engine")), _text(cluster.inputs.get("size")), _text(cluster.inputs.get("region"))
    valkey = engine is not None and engine.lower() in BUS_ENGINES
    regions = tuple(getattr(catalog, "VALKEY_REGIONS", catalog.REGIONS)) if valkey else tuple(catalog.REGIONS)
    if region is None:
        found.append(problem(CATALOG, "warning", cluster, "has no region in the plan (not known when planned), so where it runs could not be judged"))
    elif region not in regions:
        offers = "Managed Valkey region" if valkey else "region"
        found.append(problem(CATALOG, "error", cluster, f"region {region!r} is not a {offers} infra/digitalocean/catalog.py knows; use one of {', '.join(regions)}"))
    if engine is None or size is None:
        missing = " and ".join(name for name, value in (("engine", engine), ("size", size)) if value is None)
        found.append(problem(CATALOG, "warning", cluster, f"has no {missing} in the plan (not known when planned), so its node size could not be judged"))
    elif not valkey:
        found.append(problem(CATALOG, "warning", cluster, f"runs engine {engine!r}; infra/digitalocean/catalog.py knows Valkey's node sizes only, so size {size!r} could not be judged"))
    elif size not in catalog.VALKEY_SIZES:
        found.append(problem(CATALOG, "error", cluster, f"size {size!r} is not a Valkey node size infra/digitalocean/catalog.py knows; use one of {', '.join(catalog.VALKEY_SIZES)}"))
    elif size in getattr(catalog, "VALKEY_SINGLE_NODE_ONLY", ()) and (_whole(cluster.inputs.get("nodeCount")) or 1) > 1:
        found.append(problem(CATALOG, "error", cluster, f"size {size} runs {_whole(cluster.inputs.get('nodeCount'))} nodes; DigitalOcean offers {size} for one-node clusters only"))
    return found


def _bounded(resource: RecordedResource, field: str, allowed: range, unit: str) -> list[Problem]:
    """`field` of `resource` within `allowed`; unset is the provider's default (not judged here)."""
    if resource.inputs.get(field) is None:
        return []
    value = _whole(resource.inputs.get(field))
    if value is None:
        return [problem(CATALOG, "warning", resource, f"{field} is {reveal(resource.inputs.get(field))!r}, not a whole number, so whether it is within {_span(allowed)} {unit} could not be judged")]
    if value not in allowed:
        return [problem(CATALOG, "error", resource, f"{field} is {value} {unit}; DigitalOcean takes {_span(allowed)} {unit}")]
    return []


def _droplet_by_id(value: Any, plan: RecordedPlan) -> RecordedResource | None:
    """The Droplet whose id is `value` (`dropletId` is a number; the engine may send it as a float or a string)."""
    wanted = _whole(value)
    if wanted is None:
        return None
    for droplet in plan.of_type(DROPLET):
        if _whole(droplet.id) == wanted or _whole(droplet.state.get("id")) == wanted:
            return droplet
    return None


def _attachment_problems(attachment: RecordedResource, plan: RecordedPlan) -> list[Problem]:
    droplet_id, volume_id = reveal(attachment.inputs.get("dropletId")), reveal(attachment.inputs.get("volumeId"))
    droplet = _droplet_by_id(droplet_id, plan)
    volume = plan.producer(volume_id, VOLUME)
    unknown = [f"{name} {value!r}" for name, value, found in (("dropletId", droplet_id, droplet), ("volumeId", volume_id, volume)) if found is None]
    if unknown:
        return [problem(CATALOG, "warning", attachment, f"{' and '.join(unknown)} name nothing in this plan (or were not known when planned), so whether the volume and the Droplet share a region could not be judged")]
    assert droplet is not None and volume is not None
    droplet_region, volume_region = _text(droplet.inputs.get("region")), _text(volume.inputs.get("region"))
    if droplet_region is None or volume_region is None:
        return [problem(CATALOG, "warning", attachment, f"the region of {'Droplet ' + droplet.name if droplet_region is None else 'volume ' + volume.name} is not in the plan, so whether they share a region could not be judged")]
    if droplet_region != volume_region:
        # https://docs.digitalocean.com/products/volumes/: volumes move "between Droplets within the same region".
        return [problem(CATALOG, "error", attachment, f"attaches volume {volume.name} ({volume_region}) to Droplet {droplet.name} ({droplet_region}); DigitalOcean attaches a volume only to a Droplet in its own region")]
    return []


def _droplet_volume_problems(droplet: RecordedResource, plan: RecordedPlan) -> list[Problem]:
    """The volumes a Droplet attaches itself (`volumeIds`) must be in its region, as an attachment's must."""
    problems = []
    for volume_id in reveal(droplet.inputs.get("volumeIds")) or []:
        volume = plan.producer(volume_id, VOLUME)
        if volume is None:
            problems.append(problem(CATALOG, "warning", droplet, f"volumeIds names {volume_id!r}, which is nothing in this plan, so whether it shares the Droplet's region could not be judged"))
            continue
        droplet_region, volume_region = _text(droplet.inputs.get("region")), _text(volume.inputs.get("region"))
        if droplet_region is None or volume_region is None:
            problems.append(problem(CATALOG, "warning", droplet, f"the region of {'the Droplet' if droplet_region is None else 'volume ' + volume.name} is not in the plan, so whether they share a region could not be judged"))
        elif droplet_region != volume_region:
            problems.append(problem(CATALOG, "error", droplet, f"attaches volume {volume.name} ({volume_region}) in another region ({droplet_region}); DigitalOcean attaches a volume only to a Droplet in its own region"))
    return problems


@rule(CATALOG)
def do_catalog(plan: RecordedPlan, root: Path) -> list[Problem]:
    from infra.digitalocean import catalog

    problems: list[Problem] = []
    for droplet in plan.of_type(DROPLET):
        problems.extend(_droplet_problems(droplet, catalog))
        problems.extend(_droplet_volume_problems(droplet, plan))
    for cluster in plan.of_type(DATABASE_CLUSTER):
        problems.extend(_database_problems(cluster, catalog))
    for volume in plan.of_type(VOLUME):
        size = _whole(volume.inputs.get("size"))
        if size is None:
            problems.append(problem(CATALOG, "warning", volume, f"size is {reveal(volume.inputs.get('size'))!r} in the plan, not a whole number of GiB, so whether it is within {_span(catalog.VOLUME_GIB)} GiB could not be judged"))
        else:
            problems.extend(_bounded(volume, "size", catalog.VOLUME_GIB, "GiB"))
    for balancer in plan.of_type(LOAD_BALANCER):
        problems.extend(_bounded(balancer, "sizeUnit", catalog.LB_SIZE_UNITS, "size unit(s)"))
        problems.extend(_bounded(balancer, "httpIdleTimeoutSeconds", catalog.LB_IDLE_TIMEOUT_SECONDS, "s"))
    for attachment in plan.of_type(VOLUME_ATTACHMENT):
        problems.extend(_attachment_problems(attachment, plan))
    return problems
