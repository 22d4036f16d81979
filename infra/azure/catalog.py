"""What Azure offers that the `azure` stack kind accepts: regions, node VM sizes, AKS limits, built-in roles.

Config validation reads this module (not the price tables), and so do the
components. Each fact names where it comes from; "second-hand" marks one read
only in a third party's copy. Prices live in `infra.azure.prices`; a test
holds the two together (every size accepted here has a price in every
accepted region).

Left out on purpose: per-region GPU quota (none by default for NCasT4_v3 on
a new subscription: ask for it before `pulumi up`), availability zones (a
GPU node pool pinned to zones fails where the zone lacks the size), spot
pools, and GPU sizes other than the NCasT4_v3 family.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class VmSize:
    vcpus: int
    memory_gib: float
    gpus: int = 0
    gpu: str = ""


# Regions the stack accepts: each has a price row in infra/azure/prices.py for
# every size below. NCasT4_v3 is offered in East US (the region Microsoft's
# AKS GPU article and most price quotes use); other regions are left out until
# their prices are read, rather than priced by guess. `use-nvidia-gpu.md`
# (MicrosoftDocs/azure-aks-docs, articles/aks) says to check a region's sizes
# with `az vm list-skus` before creating a GPU pool.
LOCATIONS: Final = ("eastus",)

# GPU node sizes. Standard_NC4as_T4_v3 is "the minimum recommended" size for
# AKS GPU pools, NVv4 (AMD) is not supported (use-nvidia-gpu.md, 2026-07-02,
# shared/cloud-facts.md section 9). NCasT4_v3: 4/8/16 vCPUs with one T4, 64
# with four; memory 28/56/110/440 GiB (Azure's NCasT4_v3 size page,
# second-hand: public price tables quote "NC4as T4 v3 ... CPU 4 RAM 28").
# Only the 4-vCPU size is accepted: it is the only one with a read price
# (infra/azure/prices.py); the larger sizes join with theirs.
GPU_VM_SIZES: Final = MappingProxyType(
    {
        "Standard_NC4as_T4_v3": VmSize(4, 28, 1, "NVIDIA T4 16 GB"),
    }
)
DEFAULT_GPU_VM_SIZE: Final = "Standard_NC4as_T4_v3"

# System pool sizes. "System node pools require a VM SKU of at least 4 vCPUs
# and 4 GB of memory" and "B series VMs aren't supported for system node
# pools" (use-system-pools.md, 2026-04-30); quotas-skus-regions.md says "you
# might not be able to use VM versions with fewer than two vCPUs and 4 GB" and
# AKS "doesn't support B series VMs for system node pools"; the quickstarts
# still create one-node 2-vCPU system pools. The API's enforced floor is
# 2 vCPUs and 4 GB (we accept 2-vCPU D-series v5 sizes), B series is refused
# by this stack, and a single-node pool is refused too: the same article says
# a production system pool "must contain at least two nodes".
# Dsv5: 2 vCPUs 8 GiB, 4 vCPUs 16 GiB (Azure's Dsv5 size page, second-hand:
# c3x.dev "D2s_v5 (2 vCPU, 8 GB, general)").
SYSTEM_VM_SIZES: Final = MappingProxyType(
    {
        "Standard_D2s_v5": VmSize(2, 8),
        "Standard_D4s_v5": VmSize(4, 16),
    }
)
DEFAULT_SYSTEM_VM_SIZE: Final = "Standard_D2s_v5"
SYSTEM_MIN_VCPUS: Final = 2
SYSTEM_MIN_MEMORY_GIB: Final = 4
SYSTEM_MIN_NODES: Final = 2
# The cluster autoscaler's own bound on a node pool (use-nvidia-gpu.md: user
# pools 0 to 1000 nodes); the stack keeps it far lower: each GPU node costs
# hundreds of dollars a month.
GPU_MAX_NODES: Final = 10
SYSTEM_MAX_NODES: Final = 10

# The GPU pool's taint and label. The taint is the one Microsoft's GPU article
# uses (`sku=gpu:NoSchedule`); the label is what the NVIDIA device plugin
# chart's default node affinity selects (`nvidia.com/gpu.present=true`,
# NVIDIA/k8s-device-plugin values.yaml, shared/cloud-facts.md section 13).
GPU_TAINT_KEY: Final = "sku"
GPU_TAINT_VALUE: Final = "gpu"
GPU_TAINT_EFFECT: Final = "NoSchedule"
GPU_TAINT: Final = f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}"
GPU_LABEL: Final = MappingProxyType({"nvidia.com/gpu.present": "true"})

# OS disks (GiB). AKS gives managed OS disks 128 GB unless told; the GPU node
# image carries the NVIDIA driver and pulls the Ollama image (several GB), so
# the GPU pool keeps 128. System nodes keep AKS's 128 too: a smaller managed
# disk saves little and has fewer IOPS (Premium SSD performance scales with size).
GPU_OS_DISK_GIB: Final = 128
SYSTEM_OS_DISK_GIB: Final = 128

# AKS pricing tiers (free-standard-pricing-tiers.md, 2026-07): Free has no SLA
# and suits under 10 nodes; Standard adds the uptime SLA; Premium adds LTS.
TIERS: Final = ("Free", "Standard")
DEFAULT_TIER: Final = "Free"

# Azure built-in role definition IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
# AcrPull is also quoted in MicrosoftDocs/azure-aks-docs articles/aks/airflow-create-infrastructure.md
# (a role assignment listing); the other two as recalled from the built-in roles page, not re-read here.
ROLE_ACR_PULL: Final = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ROLE_STORAGE_BLOB_DATA_READER: Final = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
ROLE_AKS_RBAC_CLUSTER_ADMIN: Final = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"

# Workload identity (workload-identity-deploy-cluster.md, shared/cloud-facts.md section 10).
WORKLOAD_IDENTITY_AUDIENCE: Final = "api://AzureADTokenExchange"
WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION: Final = "azure.workload.identity/client-id"
WORKLOAD_IDENTITY_USE_LABEL: Final = "azure.workload.identity/use"

# AKS's Microsoft Entra server application (kubelogin-authentication.md): the
# audience of the tokens kubelogin gets for any AKS cluster.
AKS_ENTRA_SERVER_ID: Final = "6dae42f8-4368-4678-94ff-3960e28e3630"

# Registries whose public images the nodes pull without credentials. Private
# images come from the stack's own registry, on which the kubelet identity has
# AcrPull (cluster-container-registry-integration.md); no image pull secret is used.
PUBLIC_REGISTRIES: Final = ("docker.io", "ghcr.io", "quay.io", "mcr.microsoft.com", "registry.k8s.io", "public.ecr.aws")

# The Blob CSI driver's name (create-volume-azure-blob-storage.md).
BLOB_CSI_DRIVER: Final = "blob.csi.azure.com"


def service_account_subject(namespace: str, service_account: str) -> str:
    """The federated credential subject Kubernetes puts in a service account's tokens."""
    return f"system:serviceaccount:{namespace}:{service_account}"
