"""`ValkeyBus`: the backend replicas' event bus, an ElastiCache Serverless cache for Valkey, private, TLS, password.

Creates, as children: the cache's security group (port 6379 from the
security groups the caller names, nothing else), an ElastiCache user named
`default` whose password is the caller's secret and whose access string
allows only the commands the backend's bus sends on its one channel and its
lease keys (`infra.common.bus_access`), a user group holding only that user,
and the serverless cache in the caller's private subnets.

Why serverless: it meters a 100 MB minimum for Valkey (about $6 a month,
`infra.aws.prices`), less than the smallest node (cache.t4g.micro), and it
replicates across zones by itself. TLS is always on for serverless caches
(docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html),
so the URL is `rediss://`. The user is named `default` because the backend
authenticates with a password alone (EVENT_BUS_PASSWORD), which Redis and
Valkey take as the `default` user's; ElastiCache lets a user of another id
carry that name (Clusters.RBAC.html, "default user"). Usage limits cap the
bill: 1 GB stored (the bus keeps nothing but leases) and 5000 ECPUs a second.

Left out: snapshots (the bus holds no data worth restoring; every event is
delivered or dropped within seconds), a customer-managed KMS key (ElastiCache
encrypts at rest with an AWS-owned key by default).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.ec2 as ec2
import pulumi_aws.elasticache as elasticache
from pulumi import Output, ResourceOptions

from infra import spec
from infra.aws.firewall import allow_from_groups, enumerate_labels
from infra.common.bus_access import access_string

ENGINE = "valkey"
MAJOR_VERSION = "8"
MAX_STORED_GB = 1  # the least ElastiCache accepts as a data-storage maximum
MAX_ECPU_PER_SECOND = 5000
_ID = re.compile(r"[^a-z0-9-]")


def physical_id(*parts: str, limit: int = 40) -> str:
    """An ElastiCache name or id: lowercase letters, digits and hyphens, a letter first, at most `limit` (40) characters."""
    found = _ID.sub("-", "-".join(parts).lower()).strip("-")
    found = re.sub("-+", "-", found)
    if not found or not found[0].isalpha():
        found = f"x-{found}"
    return found[:limit].rstrip("-")


@dataclass(frozen=True)
class ValkeyBusArgs:
    stack: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_ids: Sequence[pulumi.Input[str]]
    password: pulumi.Input[str]
    tags: dict[str, str]


class ValkeyBus(pulumi.ComponentResource):
    url: Output[str]
    endpoint: Output[str]
    security_group_id: Output[str]

    def __init__(self, name: str, args: ValkeyBusArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:ValkeyBus", name, None, opts)
        child = ResourceOptions(parent=self)
        # The user, the group and the cache carry fixed ids: a replacement must delete the old one first.
        # The bus holds no data, so a few minutes without it on such a rare change cost nothing but events.
        fixed = ResourceOptions(parent=self, delete_before_replace=True)
        port = spec.EVENT_BUS.port
        group = ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, description="Dixi event bus: Valkey from the backend only", tags=args.tags, opts=child)
        allow_from_groups(name, group.id, port, list(enumerate_labels(args.client_security_group_ids)), "Valkey", self)
        user = elasticache.User(
            f"{name}-user",
            user_id=physical_id(name, args.stack, "backend"),
            user_name="default",
            engine=ENGINE,
            access_string=access_string(),
            passwords=[Output.secret(args.password)],
            tags=args.tags,
            opts=fixed,
        )
        users = elasticache.UserGroup(
            f"{name}-users", user_group_id=physical_id(name, args.stack), engine=ENGINE, user_ids=[user.user_id], tags=args.tags, opts=fixed
        )
        cache = elasticache.ServerlessCache(
            f"{name}",
            name=physical_id(name, args.stack),
            engine=ENGINE,
            major_engine_version=MAJOR_VERSION,
            description="Dixi backend replicas' event bus",
            security_group_ids=[group.id],
            subnet_ids=list(args.subnet_ids),
            user_group_id=users.user_group_id,
            cache_usage_limits=elasticache.ServerlessCacheCacheUsageLimitsArgs(
                data_storage=elasticache.ServerlessCacheCacheUsageLimitsDataStorageArgs(maximum=MAX_STORED_GB, unit="GB"),
                ecpu_per_seconds=[elasticache.ServerlessCacheCacheUsageLimitsEcpuPerSecondArgs(maximum=MAX_ECPU_PER_SECOND)],
            ),
            snapshot_retention_limit=0,
            tags=args.tags,
            opts=fixed,
        )
        self.endpoint = cache.endpoints.apply(lambda endpoints: str(endpoints[0].address))
        self.url = self.endpoint.apply(lambda host: spec.EVENT_BUS.url(host, tls=True))
        self.security_group_id = group.id
        self.register_outputs({"url": self.url, "endpoint": self.endpoint, "securityGroupId": self.security_group_id})
