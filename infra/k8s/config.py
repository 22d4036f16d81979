"""Config models of the Kubernetes stack kinds: the keys every cluster target reads, and the `k8s` kind.

`ClusterAppConfig` holds what the workloads and the cluster add-ons need on
any cluster (how traffic comes in, which add-ons to install, the event bus,
storage); `K8sConfig` adds how to reach a cluster you already have and where
the images come from. The `azure` kind extends `ClusterAppConfig` with its
cluster's keys (infra/azure/config.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field

from infra import spec
from infra.config import Bad, DixiConfig, boolean, entries, one_of, text
from infra.k8s.placement import GpuPlacement

ROUTINGS = ("gateway", "ingress")
# Envoy Gateway runs the proxies of every Gateway in its own namespace
# (its default deploy mode; gateway.envoyproxy.io/docs/tasks/operations/deployment-mode/).
ENVOY_GATEWAY_NAMESPACE = "envoy-gateway-system"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# RFC 1123 label (namespaces, class names) and a qualified label key (kubernetes.io/docs/concepts/overview/working-with-objects/labels/).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REGISTRY = re.compile(r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)*$")


def _optional_name(pattern: re.Pattern[str], what: str) -> BeforeValidator:
    def check(value: Any) -> str:
        found = text(value)
        if found and not pattern.match(found):
            raise Bad(f"is not {what}")
        return found

    return BeforeValidator(check)


def _email(value: Any) -> str:
    found = text(value)
    if found and not _EMAIL.match(found):
        raise Bad("is not an email address; Let's Encrypt sends certificate expiry notices to it")
    return found


def _bus_url(value: Any) -> str:
    found = text(value)
    if not found:
        return ""
    parts = urlsplit(found)
    bus = spec.EVENT_BUS
    if parts.scheme not in bus.schemes or not parts.hostname:
        raise Bad(f"is not a bus URL; use {' or '.join(f'{s}://host:port' for s in bus.schemes)}, or '' for a Valkey in the cluster")
    if parts.password:
        raise Bad("carries a password, which would land in plain text in a ConfigMap; give a bus reachable without one from the cluster, or '' for a Valkey in the cluster with a generated password")
    return found


def _node_selector(value: Any) -> dict[str, str]:
    """`key=value` entries: the labels of the GPU nodes."""
    found: dict[str, str] = {}
    for entry in entries(value):
        key, sep, label = entry.partition("=")
        if not sep or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(label):
            raise Bad(f"has {entry!r}, which is not a node label key=value (e.g. 'nvidia.com/gpu.present=true')")
        found[key] = label
    if not found:
        raise Bad("is empty; name the label of the GPU nodes (e.g. 'nvidia.com/gpu.present=true'), or Ollama could land on a node without a GPU")
    return found


def _taints(value: Any) -> list[dict[str, str]]:
    """`key[=value]:Effect` entries: the taints of the GPU nodes, as tolerations."""
    tolerations = []
    for entry in entries(value):
        key_value, sep, effect = entry.rpartition(":")
        key, has_value, taint_value = key_value.partition("=")
        if not sep or effect not in TAINT_EFFECTS or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(taint_value):
            raise Bad(f"has {entry!r}, which is not a taint key[=value]:Effect with Effect one of {', '.join(TAINT_EFFECTS)} (e.g. 'nvidia.com/gpu:NoSchedule')")
        toleration = {"key": key, "operator": "Equal" if has_value else "Exists", "effect": effect}
        if has_value:
            toleration["value"] = taint_value
        tolerations.append(toleration)
    return tolerations


class ClusterAppConfig(DixiConfig):
    """What every Kubernetes target reads: traffic in, add-ons, event bus, storage."""

    routing: Annotated[str, one_of(ROUTINGS, "a way this stack routes traffic in")] = Field(alias="dixi:routing")
    ingress_class: Annotated[str, _optional_name(_DNS_SUBDOMAIN, "an IngressClass name")] = Field(alias="dixi:ingressClass")
    proxy_namespace: Annotated[str, _optional_name(_DNS_LABEL, "a namespace name")] = Field(alias="dixi:proxyNamespace")
    install_gateway: Annotated[bool, BeforeValidator(boolean)] = Field(alias="dixi:installGateway")
    install_cert_manager: Annotated[bool, BeforeValidator(boolean)] = Field(alias="dixi:installCertManager")
    install_gpu_plugin: Annotated[bool, BeforeValidator(boolean)] = Field(alias="dixi:installGpuPlugin")
    acme_email: Annotated[str, BeforeValidator(_email)] = Field(alias="dixi:acmeEmail")
    event_bus_url: Annotated[str, BeforeValidator(_bus_url)] = Field(alias="dixi:eventBusUrl")
    storage_class: Annotated[str, _optional_name(_DNS_SUBDOMAIN, "a StorageClass name")] = Field(alias="dixi:storageClass")

    @property
    def gateway_installed(self) -> bool:
        """Whether the stack installs Envoy Gateway: only where traffic comes in through a Gateway."""
        return self.routing == "gateway" and self.install_gateway

    @property
    def traffic_namespace(self) -> str:
        """The namespace of the pods that carry traffic in, the only ones NetworkPolicies let reach the web tier."""
        return self.proxy_namespace or ENVOY_GATEWAY_NAMESPACE

    def gpu_placement(self) -> GpuPlacement:
        raise NotImplementedError  # each kind knows its GPU nodes

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures = super().cross_checks()
        if self.routing == "ingress" and not self.ingress_class:
            failures.append(("dixi:ingressClass", "", "is empty; with dixi:routing 'ingress' name the IngressClass of the controller the cluster runs"))
        if self.routing == "ingress" and not self.proxy_namespace:
            failures.append(("dixi:proxyNamespace", "", "is empty; with dixi:routing 'ingress' name the namespace the ingress controller's pods run in (NetworkPolicies admit only them)"))
        if self.routing == "gateway" and not self.install_gateway and not self.proxy_namespace:
            failures.append(("dixi:proxyNamespace", "", "is empty; without dixi:installGateway name the namespace your Gateway implementation runs its proxies in"))
        if self.domain and self.install_cert_manager and not self.acme_email:
            failures.append(("dixi:acmeEmail", "", "is empty; with dixi:domain and cert-manager, Let's Encrypt needs an email address for the certificate"))
        return failures


def _registry(value: Any) -> str:
    found = text(value).rstrip("/")
    if found and not _REGISTRY.match(found):
        raise Bad("is not a registry path; use e.g. 'ghcr.io/acme' or 'registry.example.com:5000/dixi'")
    return found


class K8sConfig(ClusterAppConfig):
    """`k8s`: the workloads and the chosen add-ons on a cluster you already have; no cloud resources."""

    stack_kind: Literal["k8s"] = Field(alias="dixi:target")
    kubeconfig: Annotated[str, BeforeValidator(text)] = Field(alias="dixi:kubeconfig")
    kube_context: Annotated[str, BeforeValidator(text)] = Field(alias="dixi:kubeContext")
    image_registry: Annotated[str, BeforeValidator(_registry)] = Field(alias="dixi:imageRegistry")
    gpu_node_selector: Annotated[dict[str, str], BeforeValidator(_node_selector)] = Field(alias="dixi:gpuNodeSelector")
    gpu_taints: Annotated[list[dict[str, str]], BeforeValidator(_taints)] = Field(alias="dixi:gpuTaints")

    @property
    def location(self) -> str:
        return self.kube_context or "current kubeconfig context"

    def gpu_placement(self) -> GpuPlacement:
        return GpuPlacement(dict(self.gpu_node_selector), tuple(self.gpu_taints))

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures = super().cross_checks()
        built = [s.name for s in spec.SERVICES if s.name not in self.images]
        if built and not self.image_registry:
            failures.append(
                (
                    "dixi:imageRegistry",
                    "",
                    f"is empty, so nothing can hold the images `pulumi up` builds for {', '.join(built)}; name a registry the cluster can pull from, or give every service in dixi:images",
                )
            )
        return failures
