"""Config model of the `azure` stack kind: AKS with a system pool and a GPU pool, ACR, Blob storage, Log Analytics.

Limits come from `infra.azure.catalog`, which says where each comes from.
The keys the `azure` and `k8s` kinds share (routing, add-ons, event bus,
storage class) come from `infra.k8s.config.ClusterAppConfig`; this model adds
the cluster's own and says where GPU work lands (`gpu_placement`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from infra.azure import catalog
from infra.config import Bad, address_ranges, int_in, one_of, registry_host, suggest, text
from infra.k8s.config import ClusterAppConfig
from infra.k8s.placement import GpuPlacement

# AKS takes "major.minor" (the latest patch) or "major.minor.patch" (az aks get-versions);
# only the first is accepted: the cluster upgrades patches itself (auto-upgrade channel
# `patch`), and a pinned patch would then ask the next `up` to downgrade it.
_K8S_VERSION = re.compile(r"^1\.\d{2}$")


def _size(allowed: tuple[str, ...], what: str) -> BeforeValidator:
    def check(value: Any) -> str:
        found = text(value)
        if found not in allowed:
            if found.lower().startswith("standard_b"):
                raise Bad(f"is a B-series size, which AKS does not support for {what}; {suggest(found, allowed)}")
            raise Bad(f"is not a {what} size this stack can run and price; {suggest(found, allowed)}")
        return found

    return BeforeValidator(check)


def _k8s_version(value: Any) -> str | None:
    found = text(value)
    if not found:
        return None
    if not _K8S_VERSION.match(found):
        raise Bad("is not a Kubernetes version AKS takes; use '' for AKS's default, or a minor version such as '1.34' (az aks get-versions); patches upgrade automatically")
    return found


# AKS takes at most 200 authorized ranges, of IPv4 addresses (learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges).
MAX_API_SERVER_RANGES = 200


def _api_ranges(value: Any) -> list[str]:
    found = address_ranges(value, "leave the list empty for an API server open to any address", ipv4_only=True)
    if len(found) > MAX_API_SERVER_RANGES:
        raise Bad(f"has {len(found)} ranges; AKS takes at most {MAX_API_SERVER_RANGES}")
    return found


class AzureConfig(ClusterAppConfig):
    """`azure`: AKS (a system pool, a GPU user pool), ACR, a models container, Log Analytics."""

    stack_kind: Literal["azure"] = Field(alias="dixi:target")
    region: Annotated[str, one_of(catalog.LOCATIONS, "a region this stack can run and price")] = Field(alias="azure-native:location")
    system_vm_size: Annotated[str, _size(tuple(catalog.SYSTEM_VM_SIZES), "system node pool")] = Field(alias="dixi:aksSystemVmSize")
    system_nodes: Annotated[
        int, int_in(catalog.SYSTEM_MIN_NODES, catalog.SYSTEM_MAX_NODES, "AKS: a system pool must contain at least two nodes")
    ] = Field(alias="dixi:aksSystemNodes")
    gpu_vm_size: Annotated[str, _size(tuple(catalog.GPU_VM_SIZES), "GPU node pool")] = Field(alias="dixi:aksGpuVmSize")
    gpu_min_nodes: Annotated[int, int_in(0, catalog.GPU_MAX_NODES, "0 lets the autoscaler remove idle GPU nodes")] = Field(alias="dixi:aksGpuMinNodes")
    gpu_max_nodes: Annotated[int, int_in(1, catalog.GPU_MAX_NODES, "Ollama needs one GPU node")] = Field(alias="dixi:aksGpuMaxNodes")
    tier: Annotated[str, one_of(catalog.TIERS, "an AKS pricing tier")] = Field(alias="dixi:aksTier")
    kubernetes_version: Annotated[str | None, BeforeValidator(_k8s_version)] = Field(alias="dixi:aksKubernetesVersion")
    api_server_ranges: Annotated[list[str], BeforeValidator(_api_ranges)] = Field(alias="dixi:aksApiServerAllowedRanges")

    @property
    def location(self) -> str:
        return self.region

    def gpu_placement(self) -> GpuPlacement:
        """The GPU pool's label to select and its taint to tolerate (infra/azure/aks.py puts both on the pool)."""
        toleration = {"key": catalog.GPU_TAINT_KEY, "operator": "Equal", "value": catalog.GPU_TAINT_VALUE, "effect": catalog.GPU_TAINT_EFFECT}
        return GpuPlacement(dict(catalog.GPU_LABEL), (toleration,))

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures = super().cross_checks()
        if self.gpu_max_nodes < self.gpu_min_nodes:
            failures.append(("dixi:aksGpuMaxNodes", self.gpu_max_nodes, f"is below dixi:aksGpuMinNodes ({self.gpu_min_nodes})"))
        gpu_pods = 1 + (1 if self.vision_gpu else 0)
        if self.gpu_max_nodes * catalog.GPU_VM_SIZES[self.gpu_vm_size].gpus < gpu_pods:
            failures.append(
                ("dixi:aksGpuMaxNodes", self.gpu_max_nodes, f"leaves no GPU for vision: with dixi:visionGpu, Ollama and vision need {gpu_pods} GPUs")
            )
        for service, reference in sorted(self.images.items()):
            host = registry_host(reference)
            if host not in catalog.PUBLIC_REGISTRIES:
                failures.append(
                    (
                        "dixi:images",
                        f"{service}={reference}",
                        f"pulls from {host}, which the cluster cannot read: its kubelet identity has AcrPull on the stack's own registry "
                        f"only; leave the service out to build it there, or use a public image on {', '.join(catalog.PUBLIC_REGISTRIES)}",
                    )
                )
        return failures
