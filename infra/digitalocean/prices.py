"""DigitalOcean prices, dated and sourced, and how each DigitalOcean resource the `do` stack kind creates is billed.

Every figure carries its source and the date it was read (`infra.cost.pricing.AS_OF`);
the Droplet sizes and their prices live in `infra.digitalocean.catalog` (one table for
config validation and pricing), the rest below. DigitalOcean prices a size the same in
every region (one price per size in `GET /v2/sizes`), so the region only names the item.

How the stack is billed:
- Droplets by size: CPU sizes at their monthly cap, GPU sizes at their hourly price x
  730 hours (GPU Droplets are listed per hour only; an upper bound if a cap applies).
  A Droplet with `backups` on is not priced here (backups bill a share of the Droplet).
- Volumes per GiB-month, whether attached or not.
- Load balancers per node (`sizeUnit`, 1 by default): regional HTTP, regional network,
  or a global load balancer's flat charge.
- Spaces: one subscription ($5: 250 GiB stored, 1 TiB out) per account however many
  buckets. The plan's first bucket (by name) carries it; the others are $0 items that
  say so. An account that already pays for Spaces pays nothing more.
- Managed Valkey per node (`size` x `nodeCount`); other database engines unpriced.
- The container registry by subscription tier.

Free: VPCs, cloud firewalls, Let's Encrypt certificates ("There is no additional cost
to use Let's Encrypt with load balancers", docs.digitalocean.com load balancer pricing), DNS (domains
and records), volume attachments, monitoring alerts, Spaces keys, registry credentials,
database firewalls and users, projects.

Left out: taxes, outbound transfer beyond the Droplets' pooled allowance ($0.01/GiB),
Spaces storage beyond 250 GiB and transfer beyond 1 TiB, registry storage beyond the
tier's, snapshots and backups.

`SEED_MONTHLY` is the seed's own DigitalOcean total (shared/seed/deployment-architecture.md,
"~$665/month", whose GPU Droplets at $300 are not a price DigitalOcean offers);
`SEED_SHAPE_MONTHLY` prices the seed's shape from the tables here (see its comment).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from infra.cost.pricing import Price, Pricer
from infra.digitalocean import catalog
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.model import as_number as _number

DROPLET: Final = "digitalocean:index/droplet:Droplet"
VOLUME: Final = "digitalocean:index/volume:Volume"
LOAD_BALANCER: Final = "digitalocean:index/loadBalancer:LoadBalancer"
SPACES_BUCKET: Final = "digitalocean:index/spacesBucket:SpacesBucket"
DATABASE_CLUSTER: Final = "digitalocean:index/databaseCluster:DatabaseCluster"
CONTAINER_REGISTRY: Final = "digitalocean:index/containerRegistry:ContainerRegistry"

# Type-token prefixes of the resources that cost nothing by themselves (the ":" keeps
# `vpc:` from matching the billed `vpcNatGateway:`).
FREE: Final = tuple(
    f"digitalocean:index/{kind}:"
    for kind in (
        "vpc",
        "firewall",
        "certificate",
        "domain",
        "dnsRecord",
        "volumeAttachment",
        "monitorAlert",
        "spacesKey",
        "containerRegistryDockerCredentials",
        "databaseFirewall",
        "databaseUser",
        "project",
        "projectResources",
        "tag",
    )
)

# --- Prices (amounts in infra.digitalocean.catalog; the sources here) ------------------------

# One per catalog size: CPU sizes a month (their cap), GPU sizes an hour.
DROPLET_PRICES: Final[Mapping[str, Price]] = MappingProxyType(
    {
        s.slug: Price(s.hourly_usd, "hour", s.source)
        if s.gpus
        else Price(s.monthly_usd, "month", s.source)
        for s in catalog.SIZES.values()
    }
)
# "$0.10 per GiB per month, hourly accrual; charged whether or not attached" (a 2026
# guide quoting https://docs.digitalocean.com/products/volumes/details/pricing/ and
# public cost tools; second-hand, consistent; shared/cloud-facts.md section 10).
VOLUME_GIB_MONTH: Final = Price(
    catalog.VOLUME_GIB_MONTHLY,
    "GiB-month",
    "https://docs.digitalocean.com/products/volumes/details/pricing/ (second-hand: 2026 guides quoting the page)",
)
# "Regional HTTP load balancers cost $12.00 per month per node. Regional network load
# balancers cost $15.00 per month per node. Global load balancers cost $15.00 per month"
# (docs.digitalocean.com load balancer pricing, validated 2025-02-27, a copy scraped 2026-01-07;
# first-hand). The older Load Balancers overview said $10 a node: superseded.
_LB: Final = "https://docs.digitalocean.com/products/networking/load-balancers/details/pricing/ (validated 2025-02-27)"
LB_NODE_MONTH: Final = Price(
    catalog.LB_NODE_MONTHLY, "node-month", f"{_LB}: regional HTTP, per node"
)
LB_NETWORK_NODE_MONTH: Final = Price(
    catalog.LB_NETWORK_NODE_MONTHLY, "node-month", f"{_LB}: regional network, per node"
)
LB_GLOBAL_MONTH: Final = Price(
    catalog.LB_GLOBAL_MONTHLY, "month", f"{_LB}: global, 25 million requests and 1 TB included"
)
# "The subscription includes 250 GiB of data storage (cumulative across all of your
# Spaces)" and "You can have one Space or a thousand Spaces ... you will only be charged
# $5" (DO staff on the community Q&A, first-hand but old, 2018); "$5/mo 250 GiB storage
# + 1 TiB outbound transfer" (a 2026 copy of the pricing page, second-hand).
SPACES_MONTH: Final = Price(
    catalog.SPACES_MONTHLY,
    "month",
    "https://www.digitalocean.com/community/questions/prices-explanation-5-per-space-or-5-for-spaces (DO staff, 2018; a 2026 copy of DigitalOcean's Spaces price, second-hand, agrees)",
)
# Managed Valkey per node (catalog.VALKEY_SIZES: second-hand 2026 copies of the table).
VALKEY_NODE_MONTH: Final[Mapping[str, Price]] = MappingProxyType(
    {
        slug: Price(
            amount,
            "node-month",
            "https://www.digitalocean.com/pricing/managed-databases (Valkey; second-hand: a 2026 copy of the table)",
        )
        for slug, amount in catalog.VALKEY_SIZES.items()
    }
)
# Registry tiers (catalog.REGISTRY_TIERS: first-hand). Starter costs nothing and has no Price.
REGISTRY_MONTH: Final[Mapping[str, Price]] = MappingProxyType(
    {
        tier: Price(
            amount,
            "month",
            "https://docs.digitalocean.com/products/container-registry/details/pricing/",
        )
        for tier, amount in catalog.REGISTRY_TIERS.items()
        if amount > 0
    }
)
_REGISTRY_INCLUDED: Final = MappingProxyType(
    {
        "starter": "1 repository, 500 MiB",
        "basic": "5 repositories, 5 GiB",
        "professional": "unlimited repositories, 100 GiB",
    }
)

# --- Reading the plan ----------------------------------------------------------------------------


def _region(r: RecordedResource, plan: RecordedPlan) -> str:
    return str(r.inputs.get("region") or getattr(plan.config, "region", "") or "").lower()


def _in(region: str) -> str:
    return f" {region}" if region else ""


def _droplet(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    found = catalog.size(str(r.inputs.get("size") or ""))
    if found is None or r.inputs.get("backups"):
        return None  # a size outside the catalog, or backups: not priced here
    price = DROPLET_PRICES[found.slug]
    if found.gpus:
        what = f"{found.slug} GPU droplet ({found.gpus} x {found.gpu_model}){_in(_region(r, plan))}"
    else:
        what = f"{found.slug} droplet{_in(_region(r, plan))}"
    return [(what, price.monthly())]


def _volume(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    gib = _number(r.inputs.get("size"))
    if not gib:
        return None  # sized by a snapshot the plan does not know
    return [(f"volume {gib:g} GiB{_in(_region(r, plan))}", VOLUME_GIB_MONTH.monthly(gib))]


def _load_balancer(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    kind = str(r.inputs.get("type") or "REGIONAL").upper()
    if kind == "GLOBAL":
        return [("global load balancer", LB_GLOBAL_MONTH.monthly())]
    if r.inputs.get("size") is not None and r.inputs.get("sizeUnit") is None:
        return None  # the legacy lb-small/-medium/-large sizes: not priced here
    nodes = int(_number(r.inputs.get("sizeUnit"), 1)) or 1
    price = LB_NETWORK_NODE_MONTH if kind == "REGIONAL_NETWORK" else LB_NODE_MONTH
    label = "network load balancer" if kind == "REGIONAL_NETWORK" else "load balancer"
    return [
        (
            f"{label} {nodes} node{'s' if nodes > 1 else ''}{_in(_region(r, plan))}",
            price.monthly(nodes),
        )
    ]


def _bucket_name(r: RecordedResource) -> str:
    return str(r.inputs.get("name") or r.state.get("name") or r.name)


def _spaces_bucket(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    """The Spaces subscription, once: on the plan's first bucket by name (registration order varies run to run)."""
    first = min(plan.of_type(SPACES_BUCKET), key=lambda b: (_bucket_name(b), b.name), default=r)
    if first is not r:
        return [
            (f"Spaces bucket (in the Spaces subscription billed on {_bucket_name(first)})", 0.0)
        ]
    return [
        (
            "Spaces subscription, 250 GiB and 1 TiB out included (once per account)",
            SPACES_MONTH.monthly(),
        )
    ]


def _database_cluster(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    if str(r.inputs.get("engine") or "") != "valkey":
        return None  # other engines: no price read
    node_size = str(r.inputs.get("size") or "")
    price = VALKEY_NODE_MONTH.get(node_size)
    if price is None:
        return None
    nodes = int(_number(r.inputs.get("nodeCount"), 1)) or 1
    return [
        (
            f"Managed Valkey {node_size} x{nodes} node{'s' if nodes > 1 else ''}{_in(_region(r, plan))}",
            price.monthly(nodes),
        )
    ]


def _registry(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    tier = str(r.inputs.get("subscriptionTierSlug") or "")
    if tier not in catalog.REGISTRY_TIERS:
        return None
    price = REGISTRY_MONTH.get(tier)
    return [
        (
            f"Container Registry {tier.capitalize()} ({_REGISTRY_INCLUDED[tier]})",
            price.monthly() if price else 0.0,
        )
    ]


_PRICERS: Final = MappingProxyType(
    {
        DROPLET: _droplet,
        VOLUME: _volume,
        LOAD_BALANCER: _load_balancer,
        SPACES_BUCKET: _spaces_bucket,
        DATABASE_CLUSTER: _database_cluster,
        CONTAINER_REGISTRY: _registry,
    }
)


def price(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    found = _PRICERS.get(r.type)
    return found(r, plan) if found is not None else None


def gpus(r: RecordedResource, plan: RecordedPlan) -> int:
    """GPUs a Droplet brings: its size's."""
    if r.type != DROPLET:
        return 0
    found = catalog.size(str(r.inputs.get("size") or ""))
    return found.gpus if found is not None else 0


# The seed's stated DigitalOcean total (shared/seed/deployment-architecture.md, "Cost
# Estimation", DigitalOcean: backend $48, vision $300, Ollama $300, LB $12, Spaces $5).
SEED_MONTHLY: Final = 665.0


def _seed_shape_monthly() -> float:
    """The seed's DigitalOcean shape priced from the tables above.

    2 x s-2vcpu-4gb (the seed's "4GB RAM x2" backend)           2 x 24.00 =   48.00
    2 x gpu-4000adax1-20gb (vision, Ollama: the cheapest GPU)   2 x 0.76 x 730 = 1109.60
    load balancer, 1 node                                                   12.00
    Spaces subscription                                                      5.00
                                                                  total   1174.60
    The seed's $300 GPU Droplets are not a price DigitalOcean offers: its cheapest
    GPU Droplet kept all month is $554.80.
    """
    gpu = catalog.cheapest_gpu_size()
    return round(
        DROPLET_PRICES["s-2vcpu-4gb"].monthly(2)
        + DROPLET_PRICES[gpu.slug].monthly(2)
        + LB_NODE_MONTH.monthly(1)
        + SPACES_MONTH.monthly(),
        2,
    )


SEED_SHAPE_MONTHLY: Final = _seed_shape_monthly()

PRICER = Pricer(
    price=price,
    free=FREE,
    prices=(
        *DROPLET_PRICES.values(),
        VOLUME_GIB_MONTH,
        LB_NODE_MONTH,
        LB_NETWORK_NODE_MONTH,
        LB_GLOBAL_MONTH,
        SPACES_MONTH,
        *VALKEY_NODE_MONTH.values(),
        *REGISTRY_MONTH.values(),
    ),
    seed_monthly=SEED_MONTHLY,
    gpus=gpus,
)
