"""`ClusterAddons`: the cluster-wide add-ons the app relies on, each an optional pinned Helm release.

Creates, each part only when its argument asks for it:

- Envoy Gateway (`charts.ENVOY_GATEWAY`) in `envoy-gateway-system` (created by
  the release), and a `GatewayClass` for it. The chart installs the Gateway
  API CRDs (experimental channel, bundle v1.6.1 at v1.9.0) and Envoy Gateway's
  own from its `crds` subchart's `crds/` directory (`crds.enabled`, default
  true; charts/gateway-helm/charts/crds/crds/gatewayapi-crds.yaml), so the
  app's Gateway and HTTPRoutes can be created once the release is ready.
  Envoy runs the proxies of every Gateway in its own namespace by default
  (api/v1alpha1/envoygateway_types.go, KubernetesDeployMode: ControllerNamespace):
  that namespace is `gateway_namespace`, the source the app's NetworkPolicies admit.
- cert-manager (`charts.CERT_MANAGER`) in `cert-manager`, CRDs from the chart
  and kept on uninstall (`crds.keep`: deleting the CRDs deletes every
  Certificate and its Secret), Gateway API support on (`config.gatewayAPI.enabled`,
  the 1.21 key; `enableGatewayAPI` is deprecated: release-notes-1.21.md and
  pkg/apis/config/controller/v1alpha1/types.go GatewayAPIConfig). It starts
  after Envoy Gateway's release when both are installed: cert-manager only
  watches Gateways when their CRDs exist at its start.
- with an ACME e-mail, a `ClusterIssuer` `letsencrypt` for Let's Encrypt's
  production directory, answering HTTP-01 through the app's Gateway
  (`dixi/dixi`, listener `http`), or through an Ingress of `ingress_class`
  when the app is routed by Ingress.
- the NVIDIA device plugin (`charts.NVIDIA_DEVICE_PLUGIN`) in its own
  namespace `nvidia-device-plugin`, as NVIDIA's README installs it (and the
  chart refuses `default`: templates/validation.yml); not `kube-system`,
  which managed clusters (AKS) reconcile as their own. It lands on the nodes
  of the `GpuPlacement` and tolerates their taints. The chart's default
  affinity requires NFD's labels (`feature.node.kubernetes.io/pci-10de.present`,
  `.../cpu-model.vendor_id`) or `nvidia.com/gpu.present=true`, and NFD is off
  unless `nfd.enabled`/`gfd.enabled` (values.yaml, Chart.yaml): on a plain AKS
  GPU pool the plugin would never schedule. So `affinity` is replaced by the
  placement's labels; `tolerations` (a list Helm replaces, not merges) keeps
  the chart's two and adds the placement's (AKS documents `sku=gpu:NoSchedule`).

What each release leaves at the chart's defaults, deliberately: images (the
chart's appVersion, so the pinned chart pins them), replicas (1 controller
each; the data plane is the Gateway's own Deployment), resources (Envoy
Gateway's controller requests 100m/256Mi, limit 1Gi; cert-manager and the
device plugin set none), and every security context: each chart already runs
non-root with RuntimeDefault seccomp, no privilege escalation, all
capabilities dropped and a read-only root filesystem (gateway-helm
values `deployment.envoyGateway.securityContext`; cert-manager values
`securityContext`/`containerSecurityContext`; the device plugin's
`nvidia-device-plugin.securityContext` helper: drop ALL, no escalation, with
hostPath mounts of the kubelet's device-plugin socket it cannot run without).
Also left out: GPU feature discovery and NFD, the GPU Operator (AKS installs
the driver), Prometheus monitors, Let's Encrypt staging, DNS-01.

All names here are cluster-wide singletons (CRDs, a controller per cluster):
one `ClusterAddons` per cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi
from pulumi import ResourceOptions
from pulumi_kubernetes.apiextensions import CustomResource

from infra.k8s.charts import CERT_MANAGER, ENVOY_GATEWAY, NVIDIA_DEVICE_PLUGIN, pinned_release
from infra.k8s.placement import GpuPlacement

GATEWAY_NAMESPACE: Final = "envoy-gateway-system"
# The chart's default `config.envoyGateway.gateway.controllerName` (values.tmpl.yaml); set
# explicitly so that the controller and the GatewayClass read one constant.
GATEWAY_CONTROLLER: Final = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_CLASS: Final = "envoy-gateway"
CERT_MANAGER_NAMESPACE: Final = "cert-manager"
DEVICE_PLUGIN_NAMESPACE: Final = "nvidia-device-plugin"

CLUSTER_ISSUER: Final = "letsencrypt"
LETSENCRYPT_PRODUCTION: Final = "https://acme-v02.api.letsencrypt.org/directory"
# Where cert-manager keeps the ACME account's private key (in its own namespace).
ACME_ACCOUNT_KEY_SECRET: Final = "letsencrypt-account-key"
# The app's Gateway (k8s-contract.md): the solver's HTTPRoute attaches to its port-80 listener.
APP_GATEWAY_NAME: Final = "dixi"
APP_GATEWAY_NAMESPACE: Final = "dixi"
APP_GATEWAY_HTTP_LISTENER: Final = "http"
# The HTTP-01 solver pod cert-manager starts in the Certificate's namespace (the app's): a
# default-deny namespace must let the gateway's proxies reach it on this port
# (pkg/apis/acme/v1/types.go SolverIdentificationLabelKey; pkg/issuer/acme/http/http.go acmeSolverListenPort).
ACME_SOLVER_POD_LABELS: Final = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT: Final = 8089

# The device plugin chart's own tolerations (values.yaml), kept because Helm replaces lists.
DEVICE_PLUGIN_TOLERATIONS: Final[tuple[Mapping[str, str], ...]] = (
    {"key": "CriticalAddonsOnly", "operator": "Exists"},
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
)

# Seconds Helm may wait for a release's workloads (and hooks) to be ready. Envoy Gateway and
# cert-manager run a certificate job and pull several images on first install.
CONTROLLER_TIMEOUT: Final = 600
DEVICE_PLUGIN_TIMEOUT: Final = 300

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ClusterAddonsArgs:
    gateway: bool  # Envoy Gateway (Helm) + a GatewayClass
    cert_manager: bool  # cert-manager (Helm, CRDs on, Gateway API support on)
    acme_email: str | None  # with cert_manager: a Let's Encrypt ClusterIssuer, HTTP-01 via the app Gateway (dixi/dixi)
    nvidia_device_plugin: bool
    gpu: GpuPlacement  # so the device plugin lands on (and tolerates) the GPU nodes
    # Ingress routing: the IngressClass the ACME solver answers through; cert-manager then
    # runs without Gateway API support (whose CRDs such a cluster may not have).
    ingress_class: str | None = None

    def __post_init__(self) -> None:
        if self.acme_email is not None:
            if not self.cert_manager:
                raise ValueError("an ACME e-mail needs cert-manager: the ClusterIssuer is a cert-manager object (dixi:installCertManager)")
            if not _EMAIL.match(self.acme_email):
                raise ValueError(f"the ACME e-mail {self.acme_email!r} is not an e-mail address; Let's Encrypt refuses the account")
        if self.nvidia_device_plugin and not self.gpu.node_selector:
            raise ValueError(
                "the NVIDIA device plugin needs the GPU nodes' label (GpuPlacement.node_selector): "
                "without it the chart's default affinity wants Node Feature Discovery's labels"
            )


class ClusterAddons(pulumi.ComponentResource):
    gateway_class: str | None
    gateway_namespace: str
    cluster_issuer: str | None
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:k8s:ClusterAddons", name, None, opts)
        self.gateway_class = None
        # Envoy Gateway's namespace even when it is not installed here: the caller then names
        # the namespace of the cluster's own implementation.
        self.gateway_namespace = GATEWAY_NAMESPACE
        self.cluster_issuer = None
        self.ready = []

        gateway_release: pulumi.Resource | None = None
        if args.gateway:
            gateway_release = self._envoy_gateway(name)
        if args.cert_manager:
            cert_manager = self._cert_manager(name, args, gateway_release)
            if args.acme_email is not None:
                self._cluster_issuer(name, args, args.acme_email, cert_manager)
        if args.nvidia_device_plugin:
            self._device_plugin(name, args.gpu)

        self.register_outputs(
            {
                "gatewayClass": self.gateway_class,
                "gatewayNamespace": self.gateway_namespace,
                "clusterIssuer": self.cluster_issuer,
                "ready": [r.urn for r in self.ready],
            }
        )

    def _envoy_gateway(self, name: str) -> pulumi.Resource:
        release = pinned_release(
            f"{name}-envoy-gateway",
            ENVOY_GATEWAY,
            release_name="envoy-gateway",
            namespace=GATEWAY_NAMESPACE,
            values={
                # The chart's default, stated: the Gateway API CRDs come with this release.
                "crds": {"enabled": True},
                "config": {"envoyGateway": {"gateway": {"controllerName": GATEWAY_CONTROLLER}}},
            },
            create_namespace=True,
            timeout=CONTROLLER_TIMEOUT,
            opts=ResourceOptions(parent=self),
        )
        gateway_class = CustomResource(
            f"{name}-gateway-class",
            api_version="gateway.networking.k8s.io/v1",
            kind="GatewayClass",
            metadata={"name": GATEWAY_CLASS},
            spec={"controllerName": GATEWAY_CONTROLLER},
            # The GatewayClass CRD arrives with the release.
            opts=ResourceOptions(parent=self, depends_on=[release]),
        )
        self.gateway_class = GATEWAY_CLASS
        self.ready += [release, gateway_class]
        return release

    def _cert_manager(self, name: str, args: ClusterAddonsArgs, gateway_release: pulumi.Resource | None) -> pulumi.Resource:
        config: dict[str, Any] = {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration"}
        if args.ingress_class is None:
            config["gatewayAPI"] = {"enabled": True}
        release = pinned_release(
            f"{name}-cert-manager",
            CERT_MANAGER,
            release_name="cert-manager",
            namespace=CERT_MANAGER_NAMESPACE,
            values={"crds": {"enabled": True, "keep": True}, "config": config},
            create_namespace=True,
            timeout=CONTROLLER_TIMEOUT,
            opts=ResourceOptions(parent=self, depends_on=[gateway_release] if gateway_release is not None else None),
        )
        self.ready.append(release)
        return release

    def _cluster_issuer(self, name: str, args: ClusterAddonsArgs, email: str, cert_manager: pulumi.Resource) -> None:
        http01: dict[str, Any]
        if args.ingress_class is None:
            parent = {"name": APP_GATEWAY_NAME, "namespace": APP_GATEWAY_NAMESPACE, "kind": "Gateway", "sectionName": APP_GATEWAY_HTTP_LISTENER}
            http01 = {"gatewayHTTPRoute": {"parentRefs": [parent]}}
        else:
            http01 = {"ingress": {"ingressClassName": args.ingress_class}}
        issuer = CustomResource(
            f"{name}-cluster-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": CLUSTER_ISSUER},
            spec={
                "acme": {
                    "server": LETSENCRYPT_PRODUCTION,
                    "email": email,
                    "privateKeySecretRef": {"name": ACME_ACCOUNT_KEY_SECRET},
                    "solvers": [{"http01": http01}],
                }
            },
            # The ClusterIssuer CRD and cert-manager's webhook arrive with the release.
            opts=ResourceOptions(parent=self, depends_on=[cert_manager]),
        )
        self.cluster_issuer = CLUSTER_ISSUER
        self.ready.append(issuer)

    def _device_plugin(self, name: str, gpu: GpuPlacement) -> None:
        terms = [{"matchExpressions": [{"key": k, "operator": "In", "values": [v]} for k, v in sorted(gpu.node_selector.items())]}]
        release = pinned_release(
            f"{name}-nvidia-device-plugin",
            NVIDIA_DEVICE_PLUGIN,
            release_name="nvidia-device-plugin",
            namespace=DEVICE_PLUGIN_NAMESPACE,
            values={
                "nodeSelector": dict(gpu.node_selector),
                # Replaces the chart's NFD-based terms (a list: Helm does not merge it).
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}},
                "tolerations": _tolerations(DEVICE_PLUGIN_TOLERATIONS, gpu.tolerations),
            },
            create_namespace=True,
            timeout=DEVICE_PLUGIN_TIMEOUT,
            opts=ResourceOptions(parent=self),
        )
        self.ready.append(release)


def _tolerations(*groups: tuple[Mapping[str, str], ...]) -> list[dict[str, str]]:
    """The tolerations of every group, in order, each once."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    result = []
    for group in groups:
        for toleration in group:
            key = tuple(sorted(toleration.items()))
            if key not in seen:
                seen.add(key)
                result.append(dict(toleration))
    return result
