"""The offline engine's answers for pulumi-digitalocean: ids, computed outputs and the invokes the `do` stack calls.

Ids have the provider's forms (DO-TF, the Terraform provider pulumi-digitalocean
bridges: `SetId`): a Droplet's is a number, a DNS record's too; a VPC's, a load
balancer's, a volume's, a firewall's, a database cluster's and an alert's are UUIDs;
a certificate's, a domain's, a bucket's and a registry's are their names; a Spaces
key's is its access key. Registry credentials are `<registry>-docker-credentials` (the
provider uses the registry's name: kept distinct here so that an id names one resource). URNs are the
`do:<kind>:<id>` of the API, under the output names the SDK gives them (`dropletUrn`,
`vpcUrn`, `loadBalancerUrn`, `volumeUrn`, `bucketUrn`, `clusterUrn`, `domainUrn`).
Every value is derived from the type and name (`digest`), so each is handed out once
and the checks can follow references by value. A resource with a `name` input that
the program left unset gets the logical name with a short hash, the way the
provider's auto-naming adds a random suffix.

A Droplet's private address lies inside its VPC's range when the VPC was answered
here (a VPC's id is derived from its range too, so the same id always means the same
range), else in 10.10.0.0/16.

Invokes: `getDomain` (the DNS zone check) answers that the zone exists;
`getDatabaseCa` answers a made-up CA certificate, base64-encoded as the API does.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from infra.digitalocean import catalog
from infra.plan.mocking import MockAnswers, MockContext, digest

PREFIX: Final = "digitalocean:index/"
REGISTRY_SERVER: Final = "registry.digitalocean.com"
CREATED_AT: Final = "2026-11-30T00:00:00Z"
FALLBACK_PRIVATE_RANGE: Final = "10.10.0.0/16"
DOMAIN_TTL: Final = 1800

# The types whose `name` the provider generates when the program leaves it unset.
_NAMED: Final = frozenset(
    f"{PREFIX}{kind}"
    for kind in (
        "droplet:Droplet",
        "vpc:Vpc",
        "loadBalancer:LoadBalancer",
        "volume:Volume",
        "certificate:Certificate",
        "spacesBucket:SpacesBucket",
        "spacesKey:SpacesKey",
        "containerRegistry:ContainerRegistry",
        "databaseCluster:DatabaseCluster",
        "firewall:Firewall",
        "monitorAlert:MonitorAlert",
        "project:Project",
    )
)

# VPC id -> its ip range, for the Droplets that join it. Each id is derived from the
# VPC's name and range, so an entry never changes meaning between plans.
_VPC_RANGES: dict[str, str] = {}


def _uuid(*parts: str) -> str:
    return str(uuid.UUID(digest(*parts)[:32], version=4))


def _number(*parts: str) -> int:
    """A 9-digit id, as DigitalOcean's Droplet and record ids are."""
    return int(digest(*parts)[:8], 16) % 900_000_000 + 100_000_000


def _public_ip(*parts: str) -> str:
    """An address in one of DigitalOcean's public blocks (164.90.0.0/16)."""
    d = digest(*parts)
    return f"164.90.{int(d[:2], 16)}.{int(d[2:4], 16) % 253 + 2}"


def _every(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    if typ in _NAMED and not state.get("name"):
        state["name"] = f"{name}-{digest(typ, name)[:7]}"
    return _uuid(typ, name)


def _private_ip(vpc: str, *parts: str) -> str:
    network = ipaddress.ip_network(_VPC_RANGES.get(vpc, FALLBACK_PRIVATE_RANGE), strict=False)
    # Skip the network's first two and last two addresses (the network, its gateway, DO's
    # resolver on the second-to-last, the broadcast).
    usable = max(network.num_addresses - 4, 1)
    return str(network.network_address + 2 + int(digest(*parts)[:8], 16) % usable)


def _droplet(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    droplet_id = str(_number(typ, name))
    size = catalog.size(str(state.get("size") or ""))
    state.update(
        dropletUrn=f"do:droplet:{droplet_id}",
        ipv4Address=_public_ip("droplet", name),
        ipv4AddressPrivate=_private_ip(str(state.get("vpcUuid") or ""), "droplet-private", name),
        status="active",
        locked=False,
        createdAt=CREATED_AT,
    )
    if state.get("ipv6"):
        state["ipv6Address"] = f"2604:a880:4:1d0::{int(digest('ipv6', name)[:4], 16):x}:1000"
    if size is not None:
        state.update(
            vcpus=size.vcpus,
            memory=int(size.memory_gib * 1024),
            disk=size.disk_gib,
            priceHourly=size.hourly_usd,
            priceMonthly=size.monthly_usd,
        )
    return droplet_id


def _vpc(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    if not state.get("ipRange"):
        # DigitalOcean picks a /20 that conflicts with nothing in the account; 10.100-10.199
        # holds none of the ranges it reserves.
        state["ipRange"] = f"10.{100 + int(digest('vpc-range', name)[:2], 16) % 100}.0.0/20"
    vpc_id = _uuid(typ, name, str(state["ipRange"]))
    _VPC_RANGES[vpc_id] = str(state["ipRange"])
    state.update(vpcUrn=f"do:vpc:{vpc_id}", default=False, createdAt=CREATED_AT)
    return vpc_id


def _load_balancer(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    lb_id = _uuid(typ, name)
    if state.get("size") is None:
        state.setdefault("sizeUnit", 1)
    state.setdefault("httpIdleTimeoutSeconds", catalog.LB_IDLE_TIMEOUT_DEFAULT)
    internal = str(state.get("network") or "EXTERNAL").upper() == "INTERNAL"
    state.update(
        # An INTERNAL balancer has an address in its VPC only.
        ip=_private_ip(str(state.get("vpcUuid") or ""), "load-balancer", name) if internal else _public_ip("load-balancer", name),
        loadBalancerUrn=f"do:loadbalancer:{lb_id}",
        status="active",
    )
    return lb_id


def _volume(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    volume_id = _uuid(typ, name)
    state.setdefault("filesystemType", state.get("initialFilesystemType") or "ext4")
    state.setdefault("filesystemLabel", state.get("initialFilesystemLabel") or "")
    state.update(volumeUrn=f"do:volume:{volume_id}", dropletIds=[])
    return volume_id


def _certificate(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state.setdefault("type", "custom")
    state.update(
        uuid=_uuid("certificate", name),
        state="verified",
        notAfter="2027-02-28T00:00:00Z",
        sha1Fingerprint=digest("sha1", name)[:40],
    )
    return str(state["name"])


def _spaces_bucket(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    bucket = str(state["name"])
    region = str(state.get("region") or "nyc3")  # the provider's default region
    state.update(
        region=region,
        bucketDomainName=f"{bucket}.{region}.digitaloceanspaces.com",
        endpoint=f"{region}.digitaloceanspaces.com",
        bucketUrn=f"do:space:{bucket}",
    )
    return bucket


def _spaces_key(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    access_key = "DO00" + digest("spaces-access", name)[:16].upper()
    state.update(
        accessKey=access_key,
        secretKey="mock-spaces-secret-" + digest("spaces-secret", name)[:32],
        createdAt=CREATED_AT,
    )
    return access_key


def _registry(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    registry = str(state["name"])
    state.update(
        endpoint=f"{REGISTRY_SERVER}/{registry}",
        serverUrl=REGISTRY_SERVER,
        storageUsageBytes=0,
        createdAt=CREATED_AT,
    )
    return registry


def _registry_credentials(
    ctx: MockContext, typ: str, name: str, state: dict[str, Any]
) -> str | None:
    registry = str(state.get("registryName") or name)
    user = "mock-docr-" + digest("docr-user", registry)[:8]
    password = "mock-docr-" + digest("docr-password", registry, str(bool(state.get("write"))))[:32]
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    state.update(
        dockerCredentials=json.dumps({"auths": {REGISTRY_SERVER: {"auth": auth}}}),
        credentialExpirationTime="",
    )
    return f"{registry}-docker-credentials"


def _database_cluster(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    cluster_id = _uuid(typ, name)
    engine = str(state.get("engine") or "")
    cache = engine in ("valkey", "redis")
    user = "default" if cache else "doadmin"
    password = "mock-db-" + digest("database-password", name)[:24]
    host = f"{state['name']}-do-user-{_number('account') % 100_000_000}-0.{'k.' if cache else ''}db.ondigitalocean.com"
    port = catalog.VALKEY_PORT if cache else 25060  # the SQL engines' port in DO's API examples
    scheme, path = (
        ("rediss", "")
        if cache
        else ("postgresql" if engine == "pg" else engine or "db", "/defaultdb?sslmode=require")
    )
    state.update(
        host=host,
        privateHost=f"private-{host}",
        port=port,
        user=user,
        password=password,
        database="" if cache else "defaultdb",
        uri=f"{scheme}://{user}:{password}@{host}:{port}{path}",
        privateUri=f"{scheme}://{user}:{password}@private-{host}:{port}{path}",
        clusterUrn=f"do:dbaas:{cluster_id}",
    )
    return cluster_id


def _domain(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    domain = str(state.get("name") or name)
    state.setdefault("ttl", DOMAIN_TTL)
    state["domainUrn"] = f"do:domain:{domain}"
    return domain


def _dns_record(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    record, domain = str(state.get("name") or "@"), str(state.get("domain") or "")
    state["fqdn"] = domain if record == "@" else f"{record}.{domain}"
    return str(_number(typ, name))


def _firewall(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state.update(status="succeeded", pendingChanges=[], createdAt=CREATED_AT)
    return None


def _monitor_alert(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    alert = _uuid(typ, name)
    state["uuid"] = alert
    return alert


def _attachment(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    droplet = state.get("dropletId")
    if isinstance(droplet, float) and droplet.is_integer():
        droplet = int(droplet)  # the engine sends numbers as floats
    return f"{droplet}-{state.get('volumeId')}-{digest(typ, name)[:26]}"


def _database_firewall(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    return f"{state.get('clusterId')}-{digest(typ, name)[:26]}"


def _get_database_ca(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """The cluster's CA, base64-encoded PEM as the API gives it (databases_get_ca: `certificate`)."""
    cluster = str(args.get("clusterId") or "")
    pem = f"-----BEGIN CERTIFICATE-----\nMOCK{digest('ca', cluster)[:32]}\n-----END CERTIFICATE-----\n"
    return {"id": cluster, "clusterId": cluster, "certificate": base64.b64encode(pem.encode()).decode()}


def _get_domain(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """The zone exists in the account: the engine cannot know, and the stack's own check is what is tested."""
    domain = str(args.get("name") or "")
    return {
        "id": domain,
        "name": domain,
        "ttl": DOMAIN_TTL,
        "zoneFile": "",
        "domainUrn": f"do:domain:{domain}",
    }


MOCKS = MockAnswers(
    every_resource=_every,
    resources=MappingProxyType(
        {
            f"{PREFIX}droplet:Droplet": _droplet,
            f"{PREFIX}vpc:Vpc": _vpc,
            f"{PREFIX}loadBalancer:LoadBalancer": _load_balancer,
            f"{PREFIX}volume:Volume": _volume,
            f"{PREFIX}certificate:Certificate": _certificate,
            f"{PREFIX}spacesBucket:SpacesBucket": _spaces_bucket,
            f"{PREFIX}spacesKey:SpacesKey": _spaces_key,
            f"{PREFIX}containerRegistry:ContainerRegistry": _registry,
            f"{PREFIX}containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": _registry_credentials,
            f"{PREFIX}databaseCluster:DatabaseCluster": _database_cluster,
            f"{PREFIX}domain:Domain": _domain,
            f"{PREFIX}dnsRecord:DnsRecord": _dns_record,
            f"{PREFIX}firewall:Firewall": _firewall,
            f"{PREFIX}monitorAlert:MonitorAlert": _monitor_alert,
            f"{PREFIX}volumeAttachment:VolumeAttachment": _attachment,
            f"{PREFIX}databaseFirewall:DatabaseFirewall": _database_firewall,
        }
    ),
    invokes=MappingProxyType({f"{PREFIX}getDomain:getDomain": _get_domain, f"{PREFIX}getDatabaseCa:getDatabaseCa": _get_database_ca}),
)
