"""What DigitalOcean offers that the `do` stack kind accepts: regions, Droplet sizes, GPU regions, images, limits.

Config validation and the `do-catalog` rule read this module; so do the
components and `infra.digitalocean.prices` (the prices of the sizes below are
the only table of Droplet prices). Every fact names where it was read and when
(all read 2026-11-30, `infra.cost.pricing.AS_OF`). "first-hand" marks a fact
read on DigitalOcean's own page, API specification or provider source;
"second-hand" marks one read only in a third party's copy, quote or capture
of the API (lower confidence). Where sources conflict the comment says so and
the choice is the conservative one (the higher price, the narrower range).

Sources named below:
- DO-DOCS: docs.digitalocean.com, read in stored copies of the pages (the
  copy's "Validated on" date is given).
- DO-OPENAPI: github.com/digitalocean/openapi, specification/ (snapshot
  7c1300c, 2026-08-07), first-hand.
- DO-TF: github.com/digitalocean/terraform-provider-digitalocean (snapshot
  401992a, 2026-08-06), the provider pulumi-digitalocean bridges, first-hand.
- PULUMI-DO: pulumi_digitalocean 4.84.1 as installed (its docstrings).

GPU capacity moves week to week: a size can have an empty region list in
`GET /v2/sizes` for weeks (a 2026-09-03 capture of the API showed no region
at all for gpu-4000adax1-20gb, second-hand). `GPU_REGIONS` says where each
size was last seen; it cannot promise capacity on the day of a deploy.

Left out on purpose: Premium (`-amd`/`-intel`) and storage-variant Droplet
sizes, memory- and storage-optimized plans, v5 Droplet configurations
(released 2026-08-25), Spot and per-contract GPU plans (slugs not in the
self-service `/v2/sizes`: DO-DOCS Droplet pricing, validated 2026-05-28), the
legacy datacenters ams2/sfo1, and the datacenters launched in August 2026
(mkc1, mem1): DO's release notes (DO-DOCS release-notes, last verified
2026-07-30, entries to 2026-09-01) announce them (mkc1 "supports GPU Droplets,
Kubernetes, Managed Databases, Spaces object storage ...") but name only "v5
Droplet configurations" among CPU Droplets there, so whether the plans below
are sold in them is not confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from infra.cost.pricing import HOURS_PER_MONTH


@dataclass(frozen=True)
class Size:
    """A Droplet size (plan). `monthly_usd` is what a Droplet kept all month costs.

    CPU sizes bill hourly up to a monthly cap (`price_monthly` in `/v2/sizes`).
    GPU sizes are priced per hour only (DO-DOCS Droplet pricing, validated
    2026-05-28: "CPU and GPU Droplets use different plan catalogs and rates",
    the GPU table in $ per hour); whether a monthly cap applies to them is not
    confirmed, so their `monthly_usd` is `hourly_usd` x 730: an upper bound.
    `gpu_memory_gib` is the size's total GPU memory (all its GPUs).
    """

    slug: str
    vcpus: int
    memory_gib: float
    disk_gib: int
    monthly_usd: float
    gpus: int = 0
    gpu_model: str | None = None  # "RTX 4000 Ada", "H100", "MI300X"
    gpu_memory_gib: int = 0
    gpu_vendor: str = ""  # "nvidia" | "amd"
    hourly_usd: float = 0.0
    source: str = ""  # where the price was read


# --- Regions ----------------------------------------------------------------------------------

# Droplet regions (slugs). The general-purpose datacenters: DO-TF's Spaces list
# (below) and DO-OPENAPI's Valkey options example (databases/responses/options.yml)
# together name ams3 atl1 blr1 fra1 lon1 nyc1 nyc3 ric1 sfo2 sfo3 sgp1 syd1 tor1, and
# DO-DOCS VPC limits (validated 2025-08-28) reserves a range in each of them but ric1
# (first-hand). nyc2 is kept for its GPU capacity (GPU Droplets seen there 2026-07-11
# and 2026-09-03 in captures of the API, second-hand); ric1 (Richmond) for its
# Managed Databases (DO-OPENAPI, first-hand) and v5 Droplets (DO-DOCS release notes,
# 2026-08-25). pulumi_digitalocean's own `Region` enum (PULUMI-DO _enums.py) is older
# (no atl1, ric1) and is not what the API accepts.
REGIONS: Final = (
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc1",
    "nyc2",
    "nyc3",
    "ric1",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
)

# Spaces regions: DO-TF digitalocean/spaces/spaces_entities.go `SpacesRegions`, the
# list the provider validates a bucket's region against (first-hand, 2026-08-06).
# DO's release notes say mkc1 (launched 2026-08-04) has Spaces too, but the
# provider's list does not take it yet, so it is left out.
SPACES_REGIONS: Final = (
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc3",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
)

# DOCR regions: DO-OPENAPI registry/responses/registry_options_response.yml example
# (`available_regions`: nyc3 sfo3 ams3 sgp1 fra1; first-hand, but an example: the live
# `GET /v2/registry/options` is authoritative and may list more).
REGISTRY_REGIONS: Final = ("ams3", "fra1", "nyc3", "sfo3", "sgp1")

# Managed Valkey regions: DO-OPENAPI databases/responses/options.yml, `valkey.regions`
# (first-hand; an example answer of `GET /v2/databases/options`, 2026-08).
VALKEY_REGIONS: Final = (
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc1",
    "nyc3",
    "ric1",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
)

# Where a service missing from a region is taken instead: the nearest region that has
# it (by distance between the cities; the choice is ours, not DO's).
_NEAREST: Final = MappingProxyType(
    {
        "nyc1": ("nyc3",),
        "nyc2": ("nyc3",),
        "ric1": ("nyc3", "atl1"),
        "atl1": ("nyc3",),
        "tor1": ("nyc3",),
        "sfo2": ("sfo3",),
        "lon1": ("ams3", "fra1"),
        "blr1": ("sgp1",),
        "syd1": ("sgp1",),
    }
)


def _nearest(region: str, offered: tuple[str, ...], what: str) -> str:
    if region not in REGIONS:
        raise ValueError(
            f"{region!r} is not a DigitalOcean region this stack knows: {', '.join(REGIONS)}"
        )
    if region in offered:
        return region
    for candidate in _NEAREST.get(region, ()):
        if candidate in offered:
            return candidate
    raise ValueError(f"no {what} region near {region!r}: {what} is offered in {', '.join(offered)}")


def spaces_region(region: str) -> str:
    """The Spaces region for Droplets in `region`: the same when Spaces is there, else the nearest."""
    return _nearest(region, SPACES_REGIONS, "Spaces")


def registry_region(region: str) -> str:
    """The container registry region for Droplets in `region`: the same when DOCR is there, else the nearest."""
    return _nearest(region, REGISTRY_REGIONS, "DOCR")


# --- Droplet sizes ------------------------------------------------------------------------------

# CPU sizes: one price per size in every region (DO-OPENAPI sizes/models/size.yml: a
# size has one `price_monthly`/`price_hourly` and a list of `regions`). Figures as
# `GET /v2/sizes` gives them: vCPUs, memory (MiB there), disk (GB), price_monthly,
# price_hourly. Second-hand: captures of `/v2/sizes` in public repositories
# (s-2vcpu-4gb 4096 MiB, 80 GB, $24.00, $0.03571; g-2vcpu-8gb 8192 MiB, 25 GB, $63.00,
# $0.09375) and a public 2026 price table "pulled from the official pricing pages"
# (the Basic, CPU-Optimized and General Purpose rows below; consistent with the captures).
_CPU_PRICES: Final = "https://www.digitalocean.com/pricing/droplets (second-hand: /v2/sizes captures and a 2026 copy of the table)"


def _cpu(
    slug: str, vcpus: int, memory_gib: float, disk_gib: int, monthly: float, hourly: float
) -> Size:
    return Size(slug, vcpus, memory_gib, disk_gib, monthly, hourly_usd=hourly, source=_CPU_PRICES)


# GPU sizes, all nine self-service plans (DO-DOCS Droplet pricing lists the GPUs; the
# slugs second-hand from /v2/sizes captures and public lists "all nine documented
# self-service plans"). Specs (vCPUs, memory, boot disk) second-hand from /v2/sizes
# captures: gpu-4000adax1-20gb "8 vCPUs, 32768 MB, 500 GB, one nvidia_rtx4000_ada of
# 20 GiB"; RTX 6000 Ada and L40S 8 vCPUs, 65536 MB, 500 GB; H100x1 20 vCPUs, 245760 MB,
# 720 GB; H100x8 160 vCPUs, 1966080 MB, 2046 GB (another capture says 5760 GB: scratch
# included); MI300X 20 vCPUs, 240 GiB; H200x1 24 vCPUs, 240 GB and H200x8 192 vCPUs,
# 1920 GB (a public monitor's table; their disks assumed as H100's).
#
# Hourly prices. Two sources disagree for the larger GPUs:
# - DO-DOCS Droplet pricing (copy validated 2025-07-29, first-hand; the 2026-05-28
#   copy agrees where it is readable): MI300X $1.99, MI300X x8 $15.92, H100 $3.39,
#   H100 x8 $23.92, L40S $1.57, RTX 4000 $0.76, RTX 6000 $1.57, H200 $3.44, H200 x8 $27.52.
# - `price_hourly` in captures of `GET /v2/sizes` (2026-07..09, second-hand) and a
#   2026 "on-demand" table: RTX 4000 $0.76, RTX 6000 $1.57, L40S $1.57, MI300X $2.59,
#   H100 $4.41, H200 $4.47, MI300X x8 $20.72, H100 x8 $35.28, H200 x8 $35.76.
# What the API answers is what is billed, and it is the higher: the API's figures are
# used. (An older docs copy, validated 2025-04-22, gave RTX 6000 $1.89: superseded by
# both sources above.)
_GPU_PRICES: Final = "https://docs.digitalocean.com/products/droplets/details/pricing/"


def _gpu(
    slug: str,
    vcpus: int,
    memory_gib: float,
    disk_gib: int,
    hourly: float,
    gpus: int,
    model: str,
    gpu_gib: int,
    vendor: str,
    docs: float,
) -> Size:
    if hourly == docs:
        source = f"{_GPU_PRICES} (first-hand, validated 2025-07-29; the API's price_hourly agrees, second-hand)"
    else:
        source = f"{_GPU_PRICES} (on-demand price_hourly in GET /v2/sizes, 2026, second-hand: captures of the API; the docs say ${docs:g})"
    return Size(
        slug,
        vcpus,
        memory_gib,
        disk_gib,
        round(hourly * HOURS_PER_MONTH, 2),
        gpus,
        model,
        gpu_gib,
        vendor,
        hourly,
        source,
    )


_SIZES: Final = (
    # Basic (shared CPU)
    _cpu("s-1vcpu-2gb", 1, 2, 50, 12.00, 0.01786),
    _cpu("s-2vcpu-2gb", 2, 2, 60, 18.00, 0.02679),
    _cpu("s-2vcpu-4gb", 2, 4, 80, 24.00, 0.03571),
    _cpu("s-4vcpu-8gb", 4, 8, 160, 48.00, 0.07143),
    _cpu("s-8vcpu-16gb", 8, 16, 320, 96.00, 0.14286),
    # CPU-Optimized (dedicated)
    _cpu("c-2", 2, 4, 25, 42.00, 0.0625),
    _cpu("c-4", 4, 8, 50, 84.00, 0.125),
    # General Purpose (dedicated)
    _cpu("g-2vcpu-8gb", 2, 8, 25, 63.00, 0.09375),
    _cpu("g-4vcpu-16gb", 4, 16, 50, 126.00, 0.1875),
    # GPU: the hourly price used, and the docs' hourly price (docs=)
    _gpu("gpu-4000adax1-20gb", 8, 32, 500, 0.76, 1, "RTX 4000 Ada", 20, "nvidia", docs=0.76),
    _gpu("gpu-6000adax1-48gb", 8, 64, 500, 1.57, 1, "RTX 6000 Ada", 48, "nvidia", docs=1.57),
    _gpu("gpu-l40sx1-48gb", 8, 64, 500, 1.57, 1, "L40S", 48, "nvidia", docs=1.57),
    _gpu("gpu-h100x1-80gb", 20, 240, 720, 4.41, 1, "H100", 80, "nvidia", docs=3.39),
    _gpu("gpu-h100x8-640gb", 160, 1920, 2046, 35.28, 8, "H100", 640, "nvidia", docs=23.92),
    _gpu("gpu-h200x1-141gb", 24, 240, 720, 4.47, 1, "H200", 141, "nvidia", docs=3.44),
    _gpu("gpu-h200x8-1128gb", 192, 1920, 2046, 35.76, 8, "H200", 1128, "nvidia", docs=27.52),
    _gpu("gpu-mi300x1-192gb", 20, 240, 720, 2.59, 1, "MI300X", 192, "amd", docs=1.99),
    _gpu("gpu-mi300x8-1536gb", 160, 1920, 2046, 20.72, 8, "MI300X", 1536, "amd", docs=15.92),
)
SIZES: Final[Mapping[str, Size]] = MappingProxyType({s.slug: s for s in _SIZES})

# Where each GPU size was last seen offered (`regions` of the size in GET /v2/sizes).
# Second-hand unless marked; dated by the capture:
# - gpu-4000adax1-20gb: nyc2 (an account's `doctl compute size list`, 2026-07-11),
#   tor1 (a capture "in tor1 only"; deployed there 2026-08-13; none anywhere on 2026-09-03).
# - gpu-6000adax1-48gb: tor1 (2026-09-03), nyc2 and tor1 (another capture).
# - gpu-l40sx1-48gb: tor1 (public deploy scripts, 2026; captures since show none).
# - gpu-h100x1-80gb: ams3, nyc2, tor1 (2026-09-03); ams3 also first-hand (DO-DOCS
#   release notes, 2025-09-26: "H100 GPUs are now available in AMS3").
# - gpu-h100x8-640gb: ams3 (2026-09-03), nyc2 (another capture).
# - gpu-h200x1-141gb, gpu-h200x8-1128gb: atl1, first-hand (DO-DOCS release notes,
#   2025-10-17: "GPU Droplets with NVIDIA H200 GPUs are now available in ATL1").
# - gpu-mi300x1-192gb: ams3 (2026-09-03), atl1 (another capture); x8: atl1.
GPU_REGIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "gpu-4000adax1-20gb": ("nyc2", "tor1"),
        "gpu-6000adax1-48gb": ("nyc2", "tor1"),
        "gpu-l40sx1-48gb": ("tor1",),
        "gpu-h100x1-80gb": ("ams3", "nyc2", "tor1"),
        "gpu-h100x8-640gb": ("ams3", "nyc2"),
        "gpu-h200x1-141gb": ("atl1",),
        "gpu-h200x8-1128gb": ("atl1",),
        "gpu-mi300x1-192gb": ("ams3", "atl1"),
        "gpu-mi300x8-1536gb": ("atl1",),
    }
)


def size(slug: str) -> Size | None:
    """The catalog's size `slug`, or None."""
    return SIZES.get(slug)


def cheapest_gpu_size() -> Size:
    """The cheapest single-GPU size (any GPU runs the default model: llama3.2 3B is ~2 GB in 4-bit)."""
    return min((s for s in SIZES.values() if s.gpus == 1), key=lambda s: (s.monthly_usd, s.slug))


# The app Droplets' default: 2 vCPUs, 4 GiB (the seed's "4GB RAM" backend Droplets).
DEFAULT_APP_SIZE: Final = "s-2vcpu-4gb"
# The cheapest single-GPU size (`cheapest_gpu_size()`, a test holds them together).
DEFAULT_GPU_SIZE: Final = "gpu-4000adax1-20gb"
# A region that offered DEFAULT_GPU_SIZE when last seen (2026-08-13, second-hand), and
# also the RTX 6000 Ada and H100 (2026-09-03), with Spaces, Managed Valkey and the
# CPU sizes. Check `GET /v2/sizes` before a deploy: GPU capacity moves.
DEFAULT_REGION: Final = "tor1"

# --- Images -----------------------------------------------------------------------------------

# Ubuntu 24.04 LTS base image (slug as DO-TF's acceptance tests and docs use it,
# docs/resources/droplet_autoscale.md; PULUMI-DO droplet_autoscale.py likewise).
APP_IMAGE: Final = "ubuntu-24-04-x64"
# "NVIDIA AI/ML Ready (gpu-h100x1-base, gpu-h100x8-base) Droplet base images ... based on
# Ubuntu 24.04 ... include NVIDIA driver 580.173.02 and CUDA 13.1 ... Despite their slug
# names, these images are compatible with all NVIDIA GPU Droplet types" (DO-DOCS release
# notes, 2026-08-24, first-hand). Whether they ship Docker is not confirmed.
GPU_IMAGE: Final = "gpu-h100x1-base"
GPU_IMAGE_MULTI: Final = "gpu-h100x8-base"  # NVLink, for 8-GPU NVIDIA sizes (same note)
# AMD's AI/ML Ready image (slug second-hand: /v2/images captures, "AMD AI/ML Ready Image").
AMD_GPU_IMAGE: Final = "gpu-amd-base"

_GPU_SLUG: Final = re.compile(r"^gpu-(?P<model>[a-z0-9]+?)x(?P<count>\d+)-")


def gpu_image(size_slug: str) -> str:
    """The AI/ML Ready base image for a GPU size: AMD's for MI-series GPUs, NVIDIA's (NVLink for 8 GPUs) otherwise."""
    found = SIZES.get(size_slug)
    if found is not None and found.gpus:
        vendor, gpus = found.gpu_vendor, found.gpus
    else:
        match = _GPU_SLUG.match(size_slug)
        if match is None:
            raise ValueError(f"{size_slug!r} is not a GPU Droplet size")
        vendor, gpus = ("amd" if match["model"].startswith("mi") else "nvidia"), int(match["count"])
    if vendor == "amd":
        return AMD_GPU_IMAGE
    return GPU_IMAGE_MULTI if gpus > 1 else GPU_IMAGE


# --- Managed Valkey -----------------------------------------------------------------------------

# db size slug -> USD a month per node. Prices second-hand: a public 2026 table "pulled
# from the official pricing pages" (Valkey 1 GiB $15, 2 GiB $30, 4 GiB $60, 8 GiB $120,
# 16 GiB $240, 32 GiB $480, 64 GiB $960); shared/cloud-facts.md section 9 has $15 for
# db-s-1vcpu-1gb from other 2026 tables. Slugs first-hand (DO-OPENAPI options.yml,
# `valkey.layouts`: db-s-1vcpu-1gb is offered for 1-node clusters only).
VALKEY_SIZES: Final[Mapping[str, float]] = MappingProxyType(
    {
        "db-s-1vcpu-1gb": 15.0,
        "db-s-1vcpu-2gb": 30.0,
        "db-s-2vcpu-4gb": 60.0,
        "db-s-4vcpu-8gb": 120.0,
        "db-s-6vcpu-16gb": 240.0,
        "db-s-8vcpu-32gb": 480.0,
        "db-s-16vcpu-64gb": 960.0,
    }
)
VALKEY_SINGLE_NODE_ONLY: Final = ("db-s-1vcpu-1gb",)
# The only version offered (DO-OPENAPI options.yml: `versions: ["8"]`, default "8").
VALKEY_VERSION: Final = "8"
# TLS port. Valkey's `valkey_ssl` ("Require SSL to access Valkey") defaults to true
# (DO-OPENAPI databases/models/advanced_config/valkey_advanced_config.yml, first-hand);
# with SSL required the engine accepts "only SSL connections on port 25061", and
# 25060 opens for plain connections only when SSL is turned off (DO-TF
# docs/resources/database_redis_config.md, the Redis predecessor's setting, first-hand).
# A 2026 deployment note shows a Managed Valkey cluster on 25061 with TLS required
# (second-hand). Clients connect with `rediss://`.
VALKEY_PORT: Final = 25061
VALKEY_PLAINTEXT_PORT: Final = 25060
VALKEY_TLS_REQUIRED: Final = True

# --- Container Registry -----------------------------------------------------------------------------

# Subscription tier -> USD a month: Starter $0 (1 repository, 500 MiB), Basic $5
# (5 repositories, 5 GiB), Professional $20 (unlimited, 100 GiB); extra storage
# $0.02/GiB (DO-DOCS container-registry/details/pricing, first-hand; the same cents,
# `monthly_price_in_cents` 0/500/2000, in DO-OPENAPI registry_options_response.yml).
# The tier slugs are the ones DO-TF accepts (registry/resource_container_registry.go).
REGISTRY_TIERS: Final[Mapping[str, float]] = MappingProxyType(
    {"starter": 0.0, "basic": 5.0, "professional": 20.0}
)

# --- Networking and storage limits -------------------------------------------------------------

# "The 10.244.0.0/16, 10.245.0.0/16, 10.246.0.0/24, and 10.229.0.0/16 IP address ranges are
# reserved in all regions for DigitalOcean internal use" (DO-DOCS VPC limits, validated
# 2025-08-28, last edited 2025-12-16, first-hand).
RESERVED_VPC_RANGES: Final = ("10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/24", "10.229.0.0/16")
# "We also reserve the following IP ranges in these regions" (same page). A VPC in
# nyc1 cannot use 10.10.0.0/16; one in tor1 cannot use 10.20.0.0/16.
REGION_RESERVED_VPC_RANGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ams3": "10.18.0.0/16",
        "atl1": "10.50.0.0/16",
        "blr1": "10.47.0.0/16",
        "fra1": "10.19.0.0/16",
        "lon1": "10.16.0.0/16",
        "nyc1": "10.10.0.0/16",
        "nyc2": "10.13.0.0/16",
        "nyc3": "10.17.0.0/16",
        "sfo2": "10.46.0.0/16",
        "sfo3": "10.48.0.0/16",
        "sgp1": "10.15.0.0/16",
        "syd1": "10.49.0.0/16",
        "tor1": "10.20.0.0/16",
    }
)


def reserved_vpc_ranges(region: str) -> tuple[str, ...]:
    """The ranges a VPC in `region` may not overlap: DO's everywhere, and the region's own."""
    own = REGION_RESERVED_VPC_RANGES.get(region)
    return (*RESERVED_VPC_RANGES, own) if own else RESERVED_VPC_RANGES


# VPC prefix lengths. PULUMI-DO vpc.py and DO-TF: "It may not be larger than /16 or smaller
# than /24"; DO-OPENAPI vpcs/models/vpc.yml and DO-DOCS say /16 to /28. The narrower
# range is taken.
VPC_PREFIX_LENGTHS: Final = range(16, 25)

# Volume sizes in GiB: DO-OPENAPI volumes/models/volume_action_post_resize.yml
# `size_gigabytes` maximum 16384 (first-hand); DO-TF validates at least 1; "Volumes range
# from 1 GiB to 16 TiB" (a 2026 guide quoting DO-DOCS, second-hand).
VOLUME_GIB: Final = range(1, 16385)

# Load balancer nodes (`size_unit`). PULUMI-DO load_balancer.py: "It must be in the range
# (1, 200). Defaults to `1`"; DO-TF validation.IntBetween(1, 200); DO-DOCS load balancer
# pricing: "up to 200 nodes ... if your account limits allow it". DO-OPENAPI
# load_balancers/models/load_balancer_base.yml says minimum 1, maximum 100. The narrower
# range is taken.
LB_SIZE_UNITS: Final = range(1, 101)
# `http_idle_timeout_seconds`: DO-OPENAPI load_balancer_base.yml minimum 30, maximum 600,
# default 60 (first-hand; the provider does not validate it).
LB_IDLE_TIMEOUT_SECONDS: Final = range(30, 601)
LB_IDLE_TIMEOUT_DEFAULT: Final = 60

# --- Prices used by infra.digitalocean.prices (sources there) ----------------------------------

# The Spaces subscription: 250 GiB stored, 1 TiB out, any number of buckets.
SPACES_MONTHLY: Final = 5.0
VOLUME_GIB_MONTHLY: Final = 0.10
LB_NODE_MONTHLY: Final = 12.0  # regional HTTP load balancer, per node
LB_NETWORK_NODE_MONTHLY: Final = 15.0  # regional network load balancer, per node
LB_GLOBAL_MONTHLY: Final = 15.0
