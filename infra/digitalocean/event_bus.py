"""The event bus the backends on several app Droplets share: a Valkey container on the GPU Droplet, or managed Valkey.

With two or more app Droplets the backend runs more than once and needs a
bus (`infra.spec.EVENT_BUS`). Two profiles (`dixi:doEventBus`), priced by the plan:

- `container` (default, $0 more): Valkey in a container beside Ollama on the
  GPU Droplet, published on that Droplet's VPC address only, reached by the
  app Droplets' tag only (its firewall). Authentication: an ACL file the
  boot writes, holding only the SHA-256 of the generated password (Valkey's
  `#<hash>` rule), for the `default` user with the least-privilege rules of
  `infra.common.bus_access` (the same as the `aws` and cluster stacks): the
  backend authenticates with the password alone, which Valkey takes as
  `default`'s. Nothing is saved (pub/sub and short leases), a read-only root.
  It goes down with the GPU Droplet (a replacement, a reboot): the backends
  reconnect, and their own readiness reports it meanwhile.
- `managed`: a DigitalOcean Managed Valkey cluster (`DatabaseCluster`, engine
  valkey, one `db-s-1vcpu-1gb` node) in the stack's VPC, TLS (`rediss://`)
  on its private host, verified against the cluster's own CA (the backend's
  EVENT_BUS_CA_FILE, a file the app Droplets get), with a database firewall that lets in only the app
  Droplets' tag. DigitalOcean generates the `default` user's password; the
  provider gives no ACL setting for Valkey users (database_user.py has
  Kafka and OpenSearch ACLs only), so that user keeps its full rights.

Left out: Valkey persistence, a standby node (the bus holds nothing that must
survive), the managed cluster's public endpoint (the firewall only names the
app tag, and the URL uses the private host).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_digitalocean as digitalocean
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common import compose
from infra.common.bus_access import access_string
from infra.digitalocean import boot, catalog

SERVICE: Final = "bus"
# The image of app/docker-compose.replicas.yml (a test keeps them equal).
VALKEY_IMAGE: Final = "valkey/valkey:9.0.8-alpine"
# The image's valkey user (alpine: uid 999, gid 1000).
VALKEY_UID: Final = 999
VALKEY_GID: Final = 1000
ACL_DIR: Final = "/opt/dixi/valkey"
ACL_FILE: Final = f"{ACL_DIR}/users.acl"
ACL_IN_CONTAINER: Final = "/etc/valkey/users.acl"
MANAGED_SIZE: Final = "db-s-1vcpu-1gb"
MANAGED_NODES: Final = 1
CA_FILE: Final = "/opt/dixi/bus-ca.pem"
CA_IN_CONTAINER: Final = "/etc/dixi/bus-ca.pem"
CA_ENV: Final = "EVENT_BUS_CA_FILE"


def container_service(logging: dict[str, Any]) -> dict[str, Any]:
    """The compose service of the `container` profile, published on the Droplet's VPC address."""
    password = spec.EVENT_BUS.password_env
    return {
        "image": VALKEY_IMAGE,
        "command": ["valkey-server", "--save", "", "--appendonly", "no", "--aclfile", ACL_IN_CONTAINER],
        "user": f"{VALKEY_UID}:{VALKEY_GID}",
        "read_only": True,
        "tmpfs": ["/data"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": "unless-stopped",
        "networks": [compose.NETWORK],
        "ports": [f"{boot.PRIVATE_IP}:{spec.EVENT_BUS.port}:{spec.EVENT_BUS.port}"],
        "volumes": [f"{ACL_FILE}:{ACL_IN_CONTAINER}:ro"],
        # The password reaches only the health check's client (valkey-cli reads REDISCLI_AUTH), never the command line.
        "env_file": [compose.SECRETS_ENV_FILE],
        "healthcheck": {
            "test": ["CMD-SHELL", f'REDISCLI_AUTH="$${password}" valkey-cli ping | grep -q PONG'],
            "interval": "5s",
            "timeout": "3s",
            "retries": 5,
        },
        "logging": logging,
    }


def acl_line_template() -> str:
    """The ACL file's one line, with `%s` where the boot puts the password's SHA-256."""
    return f"user default {access_string()} #%s"


def acl_steps() -> list[str]:
    """Boot steps: the ACL file from the password in the secrets env file, holding its hash only."""
    password = spec.EVENT_BUS.password_env
    return [
        f"install -d -m 0750 -o {VALKEY_UID} -g {VALKEY_GID} {ACL_DIR}",
        f"bus_password=\"$(sed -n 's/^{password}=//p' {compose.SECRETS_ENV_FILE})\"",
        f'[ -n "$bus_password" ] || fail "{password} is missing from {compose.SECRETS_ENV_FILE}"',
        "bus_hash=\"$(printf '%s' \"$bus_password\" | sha256sum | cut -d' ' -f1)\"",
        "unset bus_password",
        f"(umask 027 && printf '{acl_line_template()}\\n' \"$bus_hash\" > {ACL_FILE})",
        f"chown {VALKEY_UID}:{VALKEY_GID} {ACL_FILE}",
    ]


@dataclass(frozen=True)
class ManagedValkeyArgs:
    stack: str
    region: str
    vpc_id: pulumi.Input[str]
    app_tag: pulumi.Input[str]


class ManagedValkey(pulumi.ComponentResource):
    url: Output[str]
    password: Output[str]
    # The cluster's CA certificate (PEM): the backend verifies the TLS server with it (EVENT_BUS_CA_FILE).
    ca_certificate: Output[str]

    def __init__(self, name: str, args: ManagedValkeyArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:ManagedValkey", name, None, opts)
        child = ResourceOptions(parent=self)
        cluster = digitalocean.DatabaseCluster(
            name,
            name=f"dixi-{args.stack}-bus",
            engine="valkey",
            version=catalog.VALKEY_VERSION,
            size=MANAGED_SIZE,
            node_count=MANAGED_NODES,
            region=args.region,
            private_network_uuid=args.vpc_id,
            eviction_policy="noeviction",
            opts=child,
        )
        digitalocean.DatabaseFirewall(
            f"{name}-firewall",
            cluster_id=cluster.id,
            rules=[digitalocean.DatabaseFirewallRuleArgs(type="tag", value=args.app_tag)],
            opts=child,
        )
        self.url = Output.concat("rediss://", cluster.private_host, ":", cluster.port.apply(str), "/0")
        self.password = Output.secret(cluster.password)
        # The cluster's own CA (databases_get_ca; the API gives it base64-encoded) is added to the
        # system's: redis-py builds its TLS context with ssl.create_default_context() and then loads
        # the file (redis/connection.py, SSLConnection), so the check holds whether the certificate
        # chains to a public CA (docs/event-bus.md: Let's Encrypt, second-hand) or to DigitalOcean's.
        ca = digitalocean.get_database_ca_output(cluster_id=cluster.id, opts=pulumi.InvokeOutputOptions(parent=self))
        self.ca_certificate = ca.certificate.apply(lambda encoded: base64.b64decode(encoded).decode())
        self.register_outputs({"url": self.url, "caCertificate": self.ca_certificate})
