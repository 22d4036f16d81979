"""`RedisBus`: the backend instances' event bus, a Memorystore for Redis instance, private, TLS, AUTH on.

Creates a Basic-tier 1 GB Memorystore for Redis instance on the stack's VPC
(direct peering: reachable only from the VPC, where the backend's Direct VPC
egress lands), with AUTH on and in-transit encryption (server
authentication, port 6378), and two secrets for the backend: the AUTH
string (EVENT_BUS_PASSWORD) and the instance's CA certificate, which Google
signs itself, mounted as a file (EVENT_BUS_CA_FILE).

Why Redis, not Memorystore for Valkey: Valkey instances authenticate with
IAM only (short-lived access tokens) or not at all
(cloud.google.com/memorystore/docs/valkey/about-iam-auth), while the backend
sends one password; Redis's AUTH string is that password. Basic tier has no
replica: a bus outage degrades delivery to each instance's own clients
(docs/event-bus.md), it does not stop the app.

Left out: Standard tier (a replica, twice the price), maintenance windows,
persistence (the bus holds nothing worth keeping).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp.redis as redis
from pulumi import Output, ResourceOptions

from infra import spec
from infra.gcp.secret import GcpSecret, GcpSecretArgs

CA_DIRECTORY = "/etc/dixi/bus-ca"
CA_FILE = "ca.pem"
MEMORY_GB = 1
VERSION = "REDIS_7_2"


@dataclass(frozen=True)
class RedisBusArgs:
    region: str
    network: pulumi.Input[str]
    secret_prefix: str
    labels: dict[str, str]


class RedisBus(pulumi.ComponentResource):
    url: Output[str]
    password_secret_id: Output[str]
    ca_secret_id: Output[str]

    def __init__(self, name: str, args: RedisBusArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:RedisBus", name, None, opts)
        child = ResourceOptions(parent=self)
        instance = redis.Instance(
            f"{name}",
            tier="BASIC",
            memory_size_gb=MEMORY_GB,
            region=args.region,
            redis_version=VERSION,
            authorized_network=args.network,
            connect_mode="DIRECT_PEERING",
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            display_name="Dixi event bus",
            # Unset counts as on: `pulumi destroy` would fail (pulumi_gcp redis/instance.py, deletion_protection).
            deletion_protection=False,
            labels=args.labels,
            opts=child,
        )
        password = GcpSecret(
            f"{name}-password", GcpSecretArgs(secret_id=f"{args.secret_prefix}-bus-password", labels=args.labels, value=instance.auth_string), opts=child
        )
        ca = GcpSecret(
            f"{name}-ca",
            GcpSecretArgs(
                secret_id=f"{args.secret_prefix}-bus-ca",
                labels=args.labels,
                value=instance.server_ca_certs.apply(lambda certs: str(certs[0].cert) if certs else ""),
            ),
            opts=child,
        )
        self.url = Output.all(instance.host, instance.port).apply(lambda v: f"{spec.EVENT_BUS.schemes[1]}://{v[0]}:{int(v[1])}/0")
        self.password_secret_id = password.secret_id
        self.ca_secret_id = ca.secret_id
        self.register_outputs({"url": self.url, "passwordSecretId": self.password_secret_id, "caSecretId": self.ca_secret_id})
