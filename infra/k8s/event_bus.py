"""`ValkeyBus`: the backend replicas' event bus in the app's namespace, from the official valkey-io chart.

Creates a Secret holding the bus password (from the caller's secret Output,
never in Helm values) and a Helm release of `charts.VALKEY` (valkey-io/valkey-helm,
not Bitnami's, whose free images stopped in 2025: cloud-facts §14): one
standalone Valkey Deployment behind a ClusterIP Service on 6379.

Auth: the chart's ACL auth (`auth.enabled`) defines the `default` user, whose
password the init container reads from the existing Secret
(`auth.usersExistingSecret`, key = `passwordKey`, templates/init_config.yaml
`get_user_password`) and writes as a SHA-256 hash into an ACL file. The backend
sends a password and no username (app/backend/dixi_backend/bus.py:165-172,
`Redis.from_url(url, password=...)`; settings.py:78-90 reads EVENT_BUS_PASSWORD);
redis-py 8.1 then authenticates as `default` (`HELLO 3 AUTH default <password>`,
redis/asyncio/connection.py `on_connect_check_health`). So `default` is the one
user, and `url` carries no password. The init script hashes the password with
`echo -n "$PASSWORD"` under the image's /bin/sh; a dash `echo` interprets
backslashes, so the password must not contain any (the caller's
RandomPassword has `special=False`).

`default` gets exactly the rules of `infra.common.bus_access.access_string()`
(the ACL the `aws` stack gives its ElastiCache user, verified against a real
server by tests/app/test_event_bus_acl.py): the lease keys, the one channel,
CLIENT SETNAME, SUBSCRIBE, PING, PUBLISH and SET. The chart writes the ACL
line as `user default on #<sha256> <permissions>` (init_config.yaml), so the
leading `on` is left out of `permissions`. Checked by hand here: that line,
hashed as the init script hashes it (`echo -n | sha256sum` under sh), in a
redis-server 7.0.15 `aclfile`, lets redis-py 8.1 PING, SET NX PX and PUBLISH
with the password alone, refuses FLUSHALL, and refuses clients without it.

Probes are TCP checks on the Valkey port: the chart's default `valkey-cli ping`
runs without credentials, and an unauthenticated PING answers NOAUTH, which
redis-cli reports with exit code 0 (redis/redis#5458; seen here with
redis-cli 7.0.15, and valkey-cli is its fork): a probe that cannot tell a
working server from a confused one.

Left out: persistence (the bus holds nothing worth keeping: `dataStorage` off,
RDB and AOF off, an emptyDir), replicas and Sentinel (one pod; when it is
down each backend replica still serves its own clients: docs/event-bus.md),
TLS (the traffic stays in the namespace, behind the app's NetworkPolicies),
the metrics exporter and its monitors, the chart's own NetworkPolicy (the app
component owns the namespace's policies). `storage_class` is accepted for the
contract and unused while persistence is off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes.core.v1 as core
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common.bus_access import access_string
from infra.k8s.charts import VALKEY, pinned_release

# The chart writes `port 6379` into valkey.conf whatever `service.port` says
# (templates/init_config.yaml): the Service and the server agree only on 6379.
PORT: Final = spec.EVENT_BUS.port
USER: Final = "default"
# Valkey ACL rules, cloud-neutral; they live with the aws stack, which came first.
ACL_PERMISSIONS: Final = " ".join(rule for rule in access_string().split() if rule != "on")
# Helm release names: DNS-1123 labels joined by dots, at most 53 characters (helm/pkg/chartutil).
_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RELEASE_NAME_MAX = 53
# Labels the chart sets itself (templates/_helpers.tpl `valkey.labels`): passing them again in
# `commonLabels` would write each key twice in one YAML map.
CHART_LABELS: Final = frozenset(
    {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"}
)
# No background saves, no append-only file: nothing to keep. maxmemory below the container's
# limit, so a runaway client meets an error (noeviction) instead of an OOM kill; PUBLISH is
# not refused at maxmemory (it takes no memory once delivered).
VALKEY_CONFIG: Final = 'save ""\nappendonly no\nmaxmemory 64mb\n'
RESOURCES: Final = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
INIT_RESOURCES: Final = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}}
# The chart's defaults (values.yaml), stated so that a chart bump cannot loosen them unseen.
POD_SECURITY_CONTEXT: Final = {"fsGroup": 1000, "runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
SECURITY_CONTEXT: Final = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}
TIMEOUT: Final = 300


def chart_fullname(release_name: str) -> str:
    """The chart's `valkey.fullname` (templates/_helpers.tpl): the Service's and Deployment's name."""
    name = VALKEY.chart  # nameOverride is left empty
    full = release_name if name in release_name else f"{release_name}-{name}"
    return full[:63].rstrip("-")


def chart_pod_labels(release_name: str, common_labels: Mapping[str, str]) -> dict[str, str]:
    """The labels the chart puts on the Valkey pods (templates/deploy_valkey.yaml, template.metadata.labels):
    `valkey.selectorLabels`, then `commonLabels`, then `podLabels` (left empty here)."""
    return {"app.kubernetes.io/name": VALKEY.chart, "app.kubernetes.io/instance": release_name, **common_labels}


def _tcp_probe(**timing: int) -> dict[str, Any]:
    return {"enabled": True, "customProbe": {"tcpSocket": {"port": "tcp"}, **timing}}


@dataclass(frozen=True)
class ValkeyBusArgs:
    namespace: pulumi.Input[str]  # pass the Namespace's Output, so the release waits for it
    password: pulumi.Input[str]  # secret Output; no backslashes (see the module docstring)
    storage_class: str | None
    labels: Mapping[str, str]


class ValkeyBus(pulumi.ComponentResource):
    url: Output[str]  # redis://<service>.<ns>.svc.cluster.local:6379/0, no password in it
    pod_labels: Mapping[str, str]  # plain: the labels the chart puts on the bus pods (for NetworkPolicies)
    port: int

    def __init__(self, name: str, args: ValkeyBusArgs, opts: ResourceOptions | None = None) -> None:
        if len(name) > _RELEASE_NAME_MAX or not _RELEASE_NAME.match(name):
            raise ValueError(f"{name!r} cannot name a Helm release: lower-case letters, digits, '-' and '.', at most {_RELEASE_NAME_MAX} characters")
        super().__init__("dixi:k8s:ValkeyBus", name, None, opts)
        child = ResourceOptions(parent=self)
        release_name = name
        fullname = chart_fullname(release_name)
        common = {k: v for k, v in args.labels.items() if k not in CHART_LABELS}
        secret_name = f"{fullname}-users"
        users = core.Secret(
            f"{name}-users",
            metadata={"name": secret_name, "namespace": args.namespace, "labels": common},
            type="Opaque",
            string_data={USER: Output.secret(args.password)},
            opts=child,
        )
        release = pinned_release(
            f"{name}-valkey",
            VALKEY,
            release_name=release_name,
            namespace=args.namespace,
            values={
                "commonLabels": common,
                "auth": {
                    "enabled": True,
                    "usersExistingSecret": secret_name,
                    "aclUsers": {USER: {"permissions": ACL_PERMISSIONS, "passwordKey": USER}},
                },
                "service": {"type": "ClusterIP", "port": PORT},
                "dataStorage": {"enabled": False},
                "replica": {"enabled": False},
                "metrics": {"enabled": False},
                "valkeyConfig": VALKEY_CONFIG,
                "resources": RESOURCES,
                "initResources": INIT_RESOURCES,
                "podSecurityContext": POD_SECURITY_CONTEXT,
                "securityContext": SECURITY_CONTEXT,
                "serviceAccount": {"create": True, "automount": False},
                "startupProbe": _tcp_probe(periodSeconds=2, failureThreshold=30, timeoutSeconds=1),
                "livenessProbe": _tcp_probe(periodSeconds=10, failureThreshold=3, timeoutSeconds=1),
                "readinessProbe": _tcp_probe(periodSeconds=5, failureThreshold=2, timeoutSeconds=1),
            },
            # The app's namespace is the caller's: never created (or deleted) by this release.
            create_namespace=False,
            timeout=TIMEOUT,
            # The init container reads the password from the Secret: it must exist first.
            opts=ResourceOptions(parent=self, depends_on=[users]),
        )
        self.port = PORT
        self.pod_labels = chart_pod_labels(release_name, common)
        # Through the release's name, so that whoever reads the URL waits for the bus.
        self.url = Output.all(release.name, args.namespace).apply(
            lambda v: spec.EVENT_BUS.url(f"{chart_fullname(str(v[0]))}.{v[1]}.svc.cluster.local")
        )
        self.register_outputs({"url": self.url, "podLabels": self.pod_labels, "port": self.port})
