"""Azure prices, dated and sourced, and how each Azure resource the `azure` stack kind creates is billed.

Every figure carries its source and the date it was read (`infra.cost.pricing.AS_OF`).
Azure's retail price pages render their tables by script and the Retail Prices
API could not be reached from here, so most figures are second-hand: the
source says "second-hand" and names the third party (or Microsoft's own
document that quotes the figure as an example). East US only; other regions
are not accepted by the config (infra/azure/catalog.py) until their prices are read.

How the stack is billed:
- AKS control plane: Free tier $0; Standard tier per cluster-hour.
- Nodes: the system pool's VMs and the GPU pool's, each with its managed OS
  disk. The GPU pool is billed at the nodes its GPU pods need (at least one,
  within its bounds): Ollama always runs and
  requests a GPU, so the autoscaler keeps one GPU node up even with a minimum
  of 0 (a minimum of 0 only matters when nothing asks for a GPU). AKS gives
  managed OS disks of VM sizes with premium storage support (the "s" sizes)
  Premium SSD; both pools' 128 GiB disks bill as P10 (assumed, not confirmed
  on Microsoft's pages).
- The Standard load balancer and public IPs AKS creates in its node resource
  group are billed on the cluster: one balancer (the first five rules, with
  the gateway Service's two rules and the outbound rule), one managed outbound
  IP and the gateway Service's IP, and assumed data processed.
- ACR Basic per day; the models container at an assumed size; Log Analytics
  ingestion at an assumed volume, the daily cap's worth.

Left out: taxes, internet egress (traffic the plan cannot know), reservations
and savings plans, Log Analytics' free 5 GB per billing account (not deducted,
as the other clouds' free tiers are not), blob transactions (cents),
Kubernetes objects (billed as the nodes they run on).

`SEED_MONTHLY` prices the seed's own architecture (shared/seed/deployment-architecture.md:
the backend on two small VMs, vision on a GPU VM, Ollama on a GPU VM, a load
balancer, 100 GB of storage, logging) from the same table; see its comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from infra.azure import catalog
from infra.cost.pricing import HOURS_PER_MONTH, Price, Pricer
from infra.k8s.prices import requests
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.model import as_dict as _dict
from infra.plan.model import as_list as _list
from infra.plan.model import as_number as _number

EAST_US: Final = "eastus"

# --- Assumptions (each appears in the SKU text of the item it prices) --------------

# Data through the load balancer, inbound plus outbound (as the other clouds assume).
ASSUMED_LB_GB_PER_MONTH: Final = 100.0
# Load-balancing rules on the AKS balancer: the gateway Service's 80 and 443, and AKS's outbound rule.
ASSUMED_LB_RULES: Final = 3
# Public IPs in the node resource group: AKS's managed outbound IP and the gateway Service's.
ASSUMED_PUBLIC_IPS: Final = 2
# The models container: the seed's storage figure.
ASSUMED_MODELS_GB: Final = 100.0
# Log Analytics ingestion: the workspace's daily cap (infra/azure/monitoring.py, 0.1 GB) for a month.
ASSUMED_LOG_GB_PER_MONTH: Final = round(0.1 * HOURS_PER_MONTH / 24, 2)

# --- Compute (East US, Linux, pay as you go) ----------------------------------------

_VM: Final = "https://azure.microsoft.com/pricing/details/virtual-machines/linux/ (East US, Linux, pay as you go"
VM_HOURLY: Final = MappingProxyType(
    {
        EAST_US: MappingProxyType(
            {
                # shared/cloud-facts.md section 9 ("about $0.526/hour in East US", several repos) and a public
                # cost note: "NC4as T4 v3 GPU 1xT4 CPU 4 RAM 28 ... $0.526 ($384)".
                "Standard_NC4as_T4_v3": Price(0.526, "hour", f"{_VM}; second-hand: public cost notes and repos, consistent)"),
                # c3x.dev/blog/azure-vm-types-compared: "D2s_v5 (2 vCPU, 8 GB, general): $0.096/hour = $70.08/month" (June 2026).
                "Standard_D2s_v5": Price(0.096, "hour", f"{_VM}; second-hand: https://c3x.dev/blog/azure-vm-types-compared, June 2026)"),
                # Dsv5 prices scale with vCPUs (D4s_v5 twice D2s_v5); second-hand, not confirmed.
                "Standard_D4s_v5": Price(0.192, "hour", f"{_VM}; second-hand: twice D2s_v5 as Dsv5 prices scale, not confirmed)"),
                # For the seed's two small backend VMs (seed AWS: t3.medium, 2 vCPU 4 GiB burstable):
                # "Standard_B2s | 2 | 4 GB | ~$30.37" (a public Azure module's cost notes, East US).
                "Standard_B2s": Price(0.0416, "hour", f"{_VM}; second-hand: public cost notes, $30.37/month)"),
            }
        )
    }
)

# Managed disks, per disk-month. P10 (128 GiB Premium SSD): "$19.71" (searchcloudcomputing.techtarget.com,
# "How does Azure Premium Storage billing work?", second-hand and old; the figure still quoted for East US).
DISK_MONTH: Final = MappingProxyType(
    {EAST_US: MappingProxyType({128: Price(19.71, "disk-month", "https://azure.microsoft.com/pricing/details/managed-disks/ (P10 Premium SSD LRS, 128 GiB; second-hand: searchcloudcomputing.techtarget.com)")})}
)
DISK_TIERS_GIB: Final = (128,)  # a disk bills as the next tier up

# AKS Standard tier: "at a cost of $0.10/hour per cluster" (Microsoft's AKS Uptime SLA announcement,
# techcommunity.microsoft.com/t5/apps-on-azure-blog/aks-introduces-uptime-sla, 2020; the Standard tier
# replaced it at that price: shared/cloud-facts.md section 10, second-hand).
AKS_STANDARD_HOUR: Final = Price(0.10, "cluster-hour", "https://azure.microsoft.com/pricing/details/kubernetes-service/ (Standard tier; Microsoft's Uptime SLA announcement, 2020)")

# --- Networking ------------------------------------------------------------------------

# "Standard SKU at $0.025/hour + $0.005 per processed GB ... First 5 rules included" (c3x.dev/resources/azure/azurerm_lb).
LB_FIRST5_HOUR: Final = Price(0.025, "hour", "https://azure.microsoft.com/pricing/details/load-balancer/ (Standard, first 5 rules; second-hand: https://c3x.dev/resources/azure/azurerm_lb)")
LB_EXTRA_RULE_HOUR: Final = Price(0.01, "rule-hour", "https://azure.microsoft.com/pricing/details/load-balancer/ (each rule past the fifth; second-hand: c3x.dev)")
LB_DATA_GB: Final = Price(0.005, "GB", "https://azure.microsoft.com/pricing/details/load-balancer/ (data processed; second-hand: c3x.dev)")
# "Standard SKU at $0.005/hour ($3.65/month)" (c3x.dev/resources/azure/azurerm_public_ip).
PUBLIC_IP_HOUR: Final = Price(0.005, "hour", "https://azure.microsoft.com/pricing/details/ip-addresses/ (Standard static IPv4; second-hand: https://c3x.dev/resources/azure/azurerm_public_ip)")

# --- Registry, storage, logs -------------------------------------------------------------

# "If you purchase a Basic tier registry, it includes a storage of 10 GB. The price you pay here is
# $0.167 per day" (learn.microsoft.com/azure/container-registry/container-registry-skus, an example on Microsoft's page).
ACR_BASIC_DAY: Final = Price(0.167, "day", "https://learn.microsoft.com/azure/container-registry/container-registry-skus (Basic, 10 GB included)")
# Hot LRS, first 50 TB: "$0.0184/GB/month (LRS)" (a public calculator quoting Microsoft's rates, Q3 2023; second-hand).
BLOB_HOT_LRS_GB_MONTH: Final = Price(0.0184, "GB-month", "https://azure.microsoft.com/pricing/details/storage/blobs/ (Hot, LRS, first 50 TB; second-hand: cal53.calculator.city)")
# Analytics logs, pay as you go, East US: "PerGB2018 - $2.76/GB ingested (East US)" in a public cost calculator;
# another public document quotes $2.30/GB without a region. The higher East US figure is used. Second-hand.
LOG_ANALYTICS_GB: Final = Price(2.76, "GB", "https://azure.microsoft.com/pricing/details/monitor/ (Analytics logs, pay as you go, East US; second-hand: a public cost calculator)")

# --- Reading the plan ----------------------------------------------------------------------

CLUSTER: Final = "azure-native:containerservice:ManagedCluster"
AGENT_POOL: Final = "azure-native:containerservice:AgentPool"
FREE: Final = (
    "azure-native:resources:ResourceGroup",
    "azure-native:authorization:",
    "azure-native:managedidentity:",
    "azure-native:storage:BlobContainer",  # billed as its account's storage
    "azure-native:monitor:DataCollectionRule",  # and its associations: ingestion is billed on the workspace
)
_NO_PRICES: Final[Mapping[Any, Price]] = MappingProxyType({})


def _region(r: RecordedResource, plan: RecordedPlan) -> str:
    return str(r.inputs.get("location") or getattr(plan.config, "region", "") or "").lower().replace(" ", "")


def _cluster_region(pool: RecordedResource, plan: RecordedPlan) -> str:
    cluster = next((c for c in plan.of_type(CLUSTER) if c.state.get("name") == pool.inputs.get("resourceName")), None)
    return _region(cluster, plan) if cluster is not None else str(getattr(plan.config, "region", "") or "")


def _disk_tier(gib: float) -> int | None:
    return next((tier for tier in DISK_TIERS_GIB if gib <= tier), None)


def _nodes(what: str, vm_size: str, count: int, os_disk_gib: float, region: str) -> list[tuple[str, float]] | None:
    hourly = VM_HOURLY.get(region, _NO_PRICES).get(vm_size)
    tier = _disk_tier(os_disk_gib or 128)  # AKS's default OS disk: 128 GB
    disk = DISK_MONTH.get(region, _NO_PRICES).get(tier) if tier else None
    if hourly is None or disk is None:
        return None
    return [
        (f"{vm_size} on-demand {region} x{count} ({what})", hourly.monthly(count)),
        (f"Premium SSD P10 {os_disk_gib or 128:g} GiB OS disk x{count} ({what}; assumed Premium: AKS's managed OS disk)", disk.monthly(count)),
    ]


def _cluster(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    region = _region(r, plan)
    items: list[tuple[str, float]] = []
    tier = str(_dict(r.inputs.get("sku")).get("tier") or "Free")
    if tier == "Standard":
        items.append(("AKS Standard tier (uptime SLA)", AKS_STANDARD_HOUR.monthly()))
    elif tier != "Free":
        return None  # Premium: not priced here
    for profile in map(_dict, _list(r.inputs.get("agentPoolProfiles"))):
        count = int(_number(profile.get("minCount") if profile.get("enableAutoScaling") else profile.get("count"), 1))
        nodes = _nodes(f"pool {profile.get('name')}", str(profile.get("vmSize") or ""), count, _number(profile.get("osDiskSizeGB")), region)
        if nodes is None:
            return None
        items += nodes
    extra_rules = max(0, ASSUMED_LB_RULES - 5)
    items.append((f"Standard load balancer (AKS-managed), first 5 rules ({ASSUMED_LB_RULES} assumed: gateway 80/443, outbound)", LB_FIRST5_HOUR.monthly()))
    if extra_rules:
        items.append((f"load balancer rules past the fifth x{extra_rules}", LB_EXTRA_RULE_HOUR.monthly(extra_rules)))
    items.append((f"load balancer data processed {ASSUMED_LB_GB_PER_MONTH:g} GB/month (assumed)", LB_DATA_GB.monthly(ASSUMED_LB_GB_PER_MONTH)))
    items.append((f"Standard public IPv4 x{ASSUMED_PUBLIC_IPS} (AKS outbound and the gateway Service; assumed)", PUBLIC_IP_HOUR.monthly(ASSUMED_PUBLIC_IPS)))
    return items


def gpu_pool_nodes(r: RecordedResource, plan: RecordedPlan) -> int:
    """The GPU nodes that run: as many as the plan's workloads need for the GPUs they ask for
    (Ollama always runs and asks for one; vision a second with dixi:visionGpu), within the
    autoscaler's bounds, and at least one (see the module docstring)."""
    if not r.inputs.get("enableAutoScaling"):
        return int(_number(r.inputs.get("count"), 1))
    least, most = int(_number(r.inputs.get("minCount"))), int(_number(r.inputs.get("maxCount"), 1))
    size = catalog.GPU_VM_SIZES.get(str(r.inputs.get("vmSize") or ""))
    wanted = (requests(plan) or {}).get("gpus", 1)
    per_node = size.gpus if size is not None and size.gpus else 1
    return min(max(least, -(-int(wanted) // per_node), 1), max(most, 1))


def _agent_pool(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    nodes = gpu_pool_nodes(r, plan)
    least = int(_number(r.inputs.get("minCount")))
    why = f"pool {r.inputs.get('agentPoolName') or r.name}" + (f", min {least}: the workloads' GPUs keep {nodes} up" if nodes > least else "")
    return _nodes(why, str(r.inputs.get("vmSize") or ""), nodes, _number(r.inputs.get("osDiskSizeGB")), _cluster_region(r, plan))


def _registry(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    if str(_dict(r.inputs.get("sku")).get("name")) != "Basic":
        return None
    return [("Container Registry Basic (10 GB included)", ACR_BASIC_DAY.amount * HOURS_PER_MONTH / 24)]


def _account(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    if str(_dict(r.inputs.get("sku")).get("name")) != "Standard_LRS" or str(r.inputs.get("accessTier") or "Hot") != "Hot" or _region(r, plan) != EAST_US:
        return None
    return [(f"Blob storage Hot LRS {ASSUMED_MODELS_GB:g} GB (assumed: the models)", BLOB_HOT_LRS_GB_MONTH.monthly(ASSUMED_MODELS_GB))]


def _workspace(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    if _region(r, plan) != EAST_US:
        return None
    gb = ASSUMED_LOG_GB_PER_MONTH
    return [(f"Log Analytics ingestion {gb:g} GB/month (assumed: the daily cap reached every day)", LOG_ANALYTICS_GB.monthly(gb))]


_PRICERS: Final = MappingProxyType(
    {
        CLUSTER: _cluster,
        AGENT_POOL: _agent_pool,
        "azure-native:containerregistry:Registry": _registry,
        "azure-native:storage:StorageAccount": _account,
        "azure-native:operationalinsights:Workspace": _workspace,
    }
)


def price(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    found = _PRICERS.get(r.type)
    return found(r, plan) if found is not None else None


def gpus(r: RecordedResource, plan: RecordedPlan) -> int:
    if r.type != AGENT_POOL:
        return 0
    size = catalog.GPU_VM_SIZES.get(str(r.inputs.get("vmSize") or ""))
    return gpu_pool_nodes(r, plan) * size.gpus if size is not None else 0


def _seed_monthly() -> float:
    """The seed's architecture on Azure, priced from the tables above (East US).

    2 x Standard_B2s (backend, like the seed's t3.medium)     2 x 30.37  =  60.74
    2 x Standard_NC4as_T4_v3 (vision, Ollama)                2 x 383.98 = 767.96
    4 x P10 OS disk (128 GiB: the GPU VMs need the room)     4 x 19.71  =  78.84
    Standard load balancer, first 5 rules, 100 GB            18.25 + 0.50 = 18.75
    2 x Standard public IP (the balancer's, outbound)        2 x 3.65   =   7.30
    Blob storage 100 GB Hot LRS                                            1.84
    Log Analytics, the same ingestion as the stack          3.04 x 2.76 =   8.39
                                                                   total ~ 943.82
    """
    vm = VM_HOURLY[EAST_US]
    return round(
        vm["Standard_B2s"].monthly(2)
        + vm["Standard_NC4as_T4_v3"].monthly(2)
        + DISK_MONTH[EAST_US][128].monthly(4)
        + LB_FIRST5_HOUR.monthly()
        + LB_DATA_GB.monthly(ASSUMED_LB_GB_PER_MONTH)
        + PUBLIC_IP_HOUR.monthly(2)
        + BLOB_HOT_LRS_GB_MONTH.monthly(ASSUMED_MODELS_GB)
        + LOG_ANALYTICS_GB.monthly(ASSUMED_LOG_GB_PER_MONTH),
        2,
    )


SEED_MONTHLY: Final = _seed_monthly()

PRICER = Pricer(
    price=price,
    free=FREE,
    prices=(
        *VM_HOURLY[EAST_US].values(),
        *DISK_MONTH[EAST_US].values(),
        AKS_STANDARD_HOUR,
        LB_FIRST5_HOUR,
        LB_EXTRA_RULE_HOUR,
        LB_DATA_GB,
        PUBLIC_IP_HOUR,
        ACR_BASIC_DAY,
        BLOB_HOT_LRS_GB_MONTH,
        LOG_ANALYTICS_GB,
    ),
    seed_monthly=SEED_MONTHLY,
    gpus=gpus,
)
