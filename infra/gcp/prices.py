"""Google Cloud prices, dated and sourced, and how each GCP resource the `gcp` stack kind creates is billed.

Every figure carries its source and the date it was read (`infra.cost.pricing.AS_OF`).
Usage-priced items (busy Cloud Run time and requests, load-balancer and NAT
data, bucket and registry storage, secret accesses) state the usage the
estimate assumes in the SKU text the plan prints (the `ASSUMED_...` constants
below), so nobody mistakes an assumption for a measurement.

First- and second-hand. Google's pricing pages render most of their tables
from a script the stored copies do not run. Where a stored copy of Google's
own page showed the figure, the source is that page alone. Where it did not,
the figure was read in a third party's copy or quotation and the source says
"second-hand" and names it; "not confirmed" means no copy of Google's page
showed that row at all.

Regions. us-central1 throughout. us-east4 and europe-west4 have rows only where
a source gave them or the page says the price is the same everywhere:
- Cloud Run: the three are Tier 1 regions on cloud.google.com/run/pricing as
  far as we know; Tier 1 rates (and the L4 GPU rates, read for us-central1)
  are assumed equal in all three. Not confirmed for us-east4 and europe-west4.
- Cloud NAT ("the data processing price is the same across all regions"),
  Secret Manager, Artifact Registry ("the same for regional and multi-regional
  repositories") and global forwarding rules publish one price.
- Load-balancer data processing varies by region; only the us-central1 figure
  was read, and it is assumed for the other two (not confirmed).
- Cloud Storage Standard: us-central1 and us-east4 read from the page;
  europe-west4 assumed equal to us-central1 (not confirmed).
- Compute Engine machines, GPUs, disks and Memorystore: us-central1 only.
  Elsewhere those resources are listed as unpriced rather than guessed at.

Free tiers (Cloud Run's monthly vCPU-, GiB-seconds and requests, Secret
Manager's 6 versions and 10,000 accesses, Artifact Registry's 0.5 GB) are per
billing account, which other projects may already use up: they are not
deducted, so the estimate is an upper bound by at most a few dollars.

Left out: taxes, internet data transfer out (it depends on traffic the plan
cannot know), committed-use and sustained-use discounts, Spot VMs (billed at
the on-demand rate, and the SKU says so), Cloud Logging (no resource in the
plan bills it; ingestion beyond the free 50 GiB a project is usage the plan
cannot see), Memorystore for Redis Standard (HA) and Valkey node types other
than shared-core-nano (no stored source gave their rates: unpriced).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from infra.cost.pricing import HOURS_PER_MONTH, Price, Pricer
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.model import as_dict as _dict
from infra.plan.model import as_list as _list
from infra.plan.model import as_number as _number

SEED_MONTHLY: Final = 970.0
_NO_PRICES: Final[Mapping[str, Price]] = MappingProxyType({})
SECONDS_PER_MONTH: Final = HOURS_PER_MONTH * 3600
US_CENTRAL1: Final = "us-central1"
TIER1_REGIONS: Final = ("us-central1", "us-east4", "europe-west4")

# --- Assumptions (each appears in the SKU text of the item it prices) --------

# Instance time a request-driven Cloud Run service runs above its minimum:
# about two hours a day of one extra instance (bursts, cold starts, idle tails).
ASSUMED_BUSY_HOURS: Final = 60.0
# Requests a month to a request-based (CPU idle between requests) service.
ASSUMED_REQUESTS_MILLIONS: Final = 1.0
# Data through the global external Application Load Balancer, inbound plus outbound.
ASSUMED_LB_GB_PER_MONTH: Final = 100.0
# Data through Cloud NAT: OS and driver updates, image and model pulls from outside Google.
ASSUMED_NAT_GB_PER_MONTH: Final = 50.0
# IP addresses a gateway with AUTO_ONLY allocation takes (one serves up to 64k ports).
ASSUMED_NAT_AUTO_IPS: Final = 1
# The models bucket: the seed's figure.
ASSUMED_MODELS_GB: Final = 100.0
# Images per Artifact Registry repository (frontend, backend, vision; Ollama with a baked model is larger).
ASSUMED_IMAGES_GB_PER_REPO: Final = 10.0
# Secret reads a month per secret (Cloud Run resolves secrets at each instance start and deploy).
ASSUMED_SECRET_ACCESSES_PER_MONTH: Final = 10_000
# Size of a VM disk that names no size: the image's, which the plan does not know
# (Deep Learning VM images ask for at least 50 GB).
ASSUMED_IMAGE_DISK_GB: Final = 50.0

# --- Cloud Run ----------------------------------------------------------------

_RUN: Final = "https://cloud.google.com/run/pricing"
# Instance-based billing ("CPU always allocated"), Tier 1. The CPU rate is on the
# stored copy of Google's page; the memory rate was cut off there, second-hand:
# a public planning document quoting the page ($0.000018 per vCPU-second and
# $0.000002 per GiB-second), and the Cloud Billing API catalog as read by a third
# party (shared/cloud-facts.md, 2026-08).
RUN_INSTANCE_VCPU_SECOND: Final = Price(0.000018, "vCPU-second", f"{_RUN} (Tier 1, instance-based billing)")
RUN_INSTANCE_GIB_SECOND: Final = Price(0.000002, "GiB-second", f"{_RUN} (Tier 1, instance-based billing; second-hand: a public GitHub planning document quoting the page)")
# Request-based billing ("CPU only allocated during request processing"), Tier 1.
# CPU from an older stored copy of Google's page (cloud.google.com/run/pricing?authuser=2);
# memory and requests second-hand (cloudchipr.com and cloudwebschool.com agree).
RUN_REQUEST_VCPU_SECOND: Final = Price(0.000024, "vCPU-second", f"{_RUN} (Tier 1, request-based billing)")
RUN_REQUEST_GIB_SECOND: Final = Price(0.0000025, "GiB-second", f"{_RUN} (Tier 1, request-based billing; second-hand: https://cloudchipr.com/blog/cloud-run-pricing)")
RUN_MILLION_REQUESTS: Final = Price(0.40, "million requests", f"{_RUN} (request-based billing; second-hand: https://cloudchipr.com/blog/cloud-run-pricing)")
# NVIDIA L4, us-central1. Second-hand: read from the Cloud Billing API by a third
# party (shared/cloud-facts.md, 2026-08); "roughly $0.67 per hour" (0.0001867 x 3600)
# also in brandonseppa.com (2026-04). Google's GPU rows did not render. Not confirmed.
RUN_L4_SECOND: Final = Price(0.0001867, "GPU-second", f"{_RUN} (NVIDIA L4, zonal redundancy off; second-hand: https://brandonseppa.com/2026/04/gpu-inference-without-the-cluster-cloud-run-finally-makes-that-real)")
RUN_L4_REDUNDANT_SECOND: Final = Price(0.0002909, "GPU-second", f"{_RUN} (NVIDIA L4, zonal redundancy on; second-hand: the Cloud Billing API catalog as quoted in public GitHub files, not confirmed)")
# nodeSelector.accelerator -> (redundancy off, redundancy on)
RUN_GPU_RATES: Final = MappingProxyType({"nvidia-l4": (RUN_L4_SECOND, RUN_L4_REDUNDANT_SECOND)})

# --- Compute Engine (us-central1) ---------------------------------------------

_VM: Final = "https://cloud.google.com/compute/vm-instance-pricing"
_GPU: Final = "https://cloud.google.com/compute/gpus-pricing"
_VM_2ND: Final = "second-hand: on-demand tables in public GitHub cost scripts, consistent across several; Google's page renders them by script"


def _vm(hourly: float, note: str = "") -> Price:
    return Price(hourly, "hour", f"{_VM} (us-central1, on-demand{note}; {_VM_2ND})")


# Machine type -> hourly price. g2 prices include their L4 GPUs. g2-standard-4
# is quoted between $0.70 and $0.72 (0.70, 0.708, 0.7068, 0.71, 0.7111, 0.72):
# $0.71 is the middle; g2-standard-8 from one source only.
MACHINE_HOURLY: Final = MappingProxyType(
    {
        US_CENTRAL1: MappingProxyType(
            {
                "n1-standard-4": _vm(0.19),
                "n1-standard-8": _vm(0.38),
                "g2-standard-4": _vm(0.71, ", 1 NVIDIA L4 included"),
                "g2-standard-8": _vm(0.85, ", 1 NVIDIA L4 included; one source"),
            }
        )
    }
)
# Accelerators attached to N1 machines, per GPU.
ACCELERATOR_HOURLY: Final = MappingProxyType(
    {US_CENTRAL1: MappingProxyType({"nvidia-tesla-t4": Price(0.35, "hour", f"{_GPU} (NVIDIA T4, us-central1, on-demand; {_VM_2ND})")})}
)
# GPUs built into accelerator-optimized machine types (compute/docs/accelerator-optimized-machines):
# g2-standard-4, -8, -12, -16 and -32 carry one L4, -24 two, -48 four, -96 eight.
BUILT_IN_GPUS: Final = MappingProxyType(
    {
        **{f"g2-standard-{n}": ("nvidia-l4", 1) for n in (4, 8, 12, 16, 32)},
        "g2-standard-24": ("nvidia-l4", 2),
        "g2-standard-48": ("nvidia-l4", 4),
        "g2-standard-96": ("nvidia-l4", 8),
    }
)

# Persistent Disk, provisioned GB-month. Second-hand: c3x.dev (2026), which the
# Clouds-Against-Humanity wiki's figures agree with; the disk page renders by script.
_PD: Final = "https://cloud.google.com/compute/disks-image-pricing"
_PD_2ND: Final = "second-hand: https://c3x.dev/blog/gcp-persistent-disk-types-cost/"
DISK_GB_MONTH: Final = MappingProxyType(
    {
        US_CENTRAL1: MappingProxyType(
            {
                "pd-balanced": Price(0.10, "GB-month", f"{_PD} (pd-balanced, us-central1; {_PD_2ND})"),
                "pd-ssd": Price(0.17, "GB-month", f"{_PD} (pd-ssd, us-central1; {_PD_2ND})"),
                "pd-standard": Price(0.04, "GB-month", f"{_PD} (pd-standard, us-central1; {_PD_2ND})"),
            }
        )
    }
)
DEFAULT_DISK_TYPE: Final = "pd-balanced"  # the console's default for new disks and boot disks

# An external IPv4 address in use on a standard (not Spot) VM. Second-hand: the
# Clouds-Against-Humanity wiki, "read from Google's network pricing page, 2026-10-16".
EXTERNAL_IP_HOUR: Final = Price(0.005, "hour", "https://cloud.google.com/vpc/network-pricing (external IP in use on a standard VM; second-hand: https://github.com/ChiefGyk3D/Clouds-Against-Humanity/wiki/Provider-GCP-Cost-Lesson)")

# --- Networking -----------------------------------------------------------------

# Cloud NAT (Public NAT), from a stored copy of Google's page: $0.0014 an hour per
# VM using the gateway up to 32 VMs, $0.044 an hour from 33 on; $0.045 per GiB
# processed, inbound and outbound, in every region; $0.005 an hour per external IP
# the gateway uses. Google counts VM instances that get a NAT assignment; how
# Cloud Run's Direct VPC egress through a gateway counts is not on the page (not
# confirmed): a gateway serving no VM in the plan is billed only its IPs and data.
_NAT: Final = "https://cloud.google.com/nat/pricing"
NAT_VM_HOUR: Final = Price(0.0014, "VM-hour", f"{_NAT} (per VM using the gateway, up to 32)")
NAT_GATEWAY_MAX_HOUR: Final = Price(0.044, "hour", f"{_NAT} (more than 32 VMs)")
NAT_MAX_VMS: Final = 32
NAT_GB: Final = Price(0.045, "GB", f"{_NAT} (data processed, inbound and outbound)")
NAT_IP_HOUR: Final = Price(0.005, "hour", f"{_NAT} (static or ephemeral external IP used by the gateway)")

# Global forwarding rules and data processed, from stored copies of Google's page.
# "First 5 forwarding rules: $0.025 per hour" is one charge for up to five rules
# in a project (as most readers take it; c3x.dev reads it as per rule), each rule
# past the fifth $0.01 an hour. Data processing is $0.008 per GiB inbound and
# outbound in Iowa (us-central1); other regions differ and are assumed equal.
_LB: Final = "https://cloud.google.com/load-balancing/pricing"
FORWARDING_RULES_FIRST5_HOUR: Final = Price(0.025, "hour", f"{_LB} (global forwarding rules, the first 5)")
FORWARDING_RULE_EXTRA_HOUR: Final = Price(0.01, "hour", f"{_LB} (each global forwarding rule past the fifth)")
LB_DATA_GB: Final = Price(0.008, "GB", f"{_LB} (data processed inbound and outbound, us-central1)")
FIRST_RULES_SHARED: Final = 5
# A static external IP in use by a forwarding rule: not billed by itself (Google's
# compute IP-address pricing note, 2020, as quoted in a stored blog copy; the
# current network-pricing table did not render: not confirmed). Unused, it bills:
# such an address is listed as unpriced.

# --- Memorystore (us-central1) --------------------------------------------------

# Valkey shared-core-nano, per node-hour. Second-hand: a public GitHub planning
# document quoting the page ($0.0318/h, 2026); one source only, not confirmed.
VALKEY_NODE_HOUR: Final = MappingProxyType(
    {
        US_CENTRAL1: MappingProxyType(
            {"SHARED_CORE_NANO": Price(0.0318, "node-hour", "https://cloud.google.com/memorystore/docs/valkey/pricing (shared-core-nano, us-central1; second-hand: a public GitHub planning document, one source)")}
        )
    }
)
# Redis Basic tier, M1 capacity (1 to 4 GB), per GB-hour. Second-hand: public
# GitHub cost notes agree on $0.049 ("1GB x $0.049/GiB/hour x 730 hours = $35.77";
# several put a 1 GB Basic instance at ~$35/month). Other capacity tiers and
# Standard (HA) are unpriced.
REDIS_BASIC_M1_GB_HOUR: Final = MappingProxyType(
    {US_CENTRAL1: Price(0.049, "GB-hour", "https://cloud.google.com/memorystore/docs/redis/pricing (Basic, M1 1-4 GB, us-central1; second-hand: public GitHub cost notes)")}
)
REDIS_M1_GB: Final = (1.0, 4.0)

# --- Storage, registry, secrets -------------------------------------------------

# Cloud Storage Standard, regional, from stored copies of Google's page (2022 and 2026):
# Iowa $0.020, Northern Virginia $0.023. Netherlands assumed equal to Iowa (not confirmed).
_GCS: Final = "https://cloud.google.com/storage/pricing"
GCS_STANDARD_GB_MONTH: Final = MappingProxyType(
    {
        "us-central1": Price(0.020, "GB-month", f"{_GCS} (Standard, us-central1)"),
        "us-east4": Price(0.023, "GB-month", f"{_GCS} (Standard, us-east4)"),
        "europe-west4": Price(0.020, "GB-month", f"{_GCS} (Standard, europe-west4 assumed equal to us-central1, not confirmed)"),
    }
)
# Artifact Registry storage, stored copies of Google's page: $0.10 per GB-month
# over the free 0.5 GB, the same for regional and multi-regional repositories.
AR_GB_MONTH: Final = Price(0.10, "GB-month", "https://cloud.google.com/artifact-registry/pricing (storage over 0.5 GB)")
# Secret Manager, stored copies of Google's page: $0.06 per active version per
# location a month; $0.03 per 10,000 access operations.
SECRET_VERSION_MONTH: Final = Price(0.06, "version-month", "https://cloud.google.com/secret-manager/pricing (active secret version, per location)")
SECRET_10K_ACCESSES: Final = Price(0.03, "10,000 operations", "https://cloud.google.com/secret-manager/pricing (access operations)")

# --- Free resources -------------------------------------------------------------

FREE: Final = (
    "gcp:projects/service:", "gcp:projects/iAMMember:", "gcp:projects/iAMBinding:", "gcp:serviceaccount/",
    "gcp:cloudrunv2/serviceIamMember:", "gcp:cloudrunv2/serviceIamBinding:",
    "gcp:storage/bucketIAMMember:", "gcp:storage/bucketIAMBinding:", "gcp:storage/bucketObject:",
    "gcp:artifactregistry/repositoryIamMember:", "gcp:secretmanager/secretIamMember:",
    "gcp:compute/network:", "gcp:compute/subnetwork:", "gcp:compute/firewall:", "gcp:compute/router:",
    "gcp:compute/regionNetworkEndpointGroup:", "gcp:compute/backendService:", "gcp:compute/uRLMap:",
    "gcp:compute/targetHttpProxy:", "gcp:compute/targetHttpsProxy:", "gcp:compute/managedSslCertificate:",
    # SSL policies carry no charge (Cloud Load Balancing pricing bills rules and data, not policies).
    "gcp:compute/sSLPolicy:",
    "gcp:compute/healthCheck:", "gcp:networkconnectivity/serviceConnectionPolicy:",
    # Billed through the group that runs them; a template no group uses runs nothing.
    "gcp:compute/instanceTemplate:", "gcp:compute/regionInstanceTemplate:",
    # Billed on its secret (active versions are counted there).
    "gcp:secretmanager/secretVersion:",
    # Billed through its group (group_size counts it).
    "gcp:compute/perInstanceConfig:",
)  # fmt: skip

SERVICE: Final = "gcp:cloudrunv2/service:Service"
GROUP: Final = "gcp:compute/instanceGroupManager:InstanceGroupManager"
REGION_GROUP: Final = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
TEMPLATES: Final = ("gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
INSTANCE: Final = "gcp:compute/instance:Instance"
FORWARDING_RULE: Final = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
NAT: Final = "gcp:compute/routerNat:RouterNat"
SECRET: Final = "gcp:secretmanager/secret:Secret"
SECRET_VERSION: Final = "gcp:secretmanager/secretVersion:SecretVersion"

# --- Reading the plan -----------------------------------------------------------


def _last(value: Any) -> str:
    """The last path segment: `zones/us-central1-a/machineTypes/n1-standard-4` -> `n1-standard-4`."""
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


def _region(r: RecordedResource, plan: RecordedPlan) -> str:
    """The resource's region: its location, region or zone (less its letter), else the stack's region."""
    for key in ("location", "region", "zone"):
        value = _last(r.inputs.get(key)).lower()
        if value:
            zone = _ZONE.match(value)
            return zone.group(1) if zone else value
    return str(getattr(plan.config, "region", "") or "")


def _cpu(value: Any) -> float:
    """A Kubernetes-style CPU quantity: "1", "2", "1000m", "0.5"."""
    text = str(value or "").strip()
    return _number(text[:-1]) / 1000 if text.endswith("m") else _number(text)


_MEMORY_UNITS: Final = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1.0, "Ti": 2**10, "k": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}


def _gib(value: Any) -> float:
    """A Kubernetes-style memory quantity in GiB: "512Mi" -> 0.5, "1Gi" -> 1, "2G" -> 1.86."""
    text = str(value or "").strip()
    for unit in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return _number(text[: -len(unit)]) * _MEMORY_UNITS[unit]
    return _number(text) / 2**30  # plain bytes


# --- Cloud Run ------------------------------------------------------------------


def _run_shape(r: RecordedResource) -> tuple[float, float, int, bool, str]:
    """vCPU, GiB and GPUs of one instance, whether CPU is always allocated, and the GPU type."""
    template = _dict(r.inputs.get("template"))
    vcpu = gib = 0.0
    gpus = 0
    always = False
    for i, container in enumerate(_list(template.get("containers"))):
        resources = _dict(_dict(container).get("resources"))
        limits = _dict(resources.get("limits"))
        # Cloud Run's defaults: 1 vCPU and 512 MiB a container (run/docs/configuring/services/cpu, memory-limits).
        vcpu += _cpu(limits.get("cpu", "1"))
        gib += _gib(limits.get("memory", "512Mi"))
        gpus += int(_number(limits.get("nvidia.com/gpu")))
        if i == 0:
            always = resources.get("cpuIdle") is False  # unset: request-based (CPU idle between requests)
    accelerator = str(_dict(template.get("nodeSelector")).get("accelerator") or ("nvidia-l4" if gpus else ""))
    return vcpu, gib, gpus, always or gpus > 0, accelerator


def _run_scaling(r: RecordedResource) -> tuple[int, int | None]:
    """Minimum instances (the template's or the service's, whichever is higher) and the maximum, None if unbounded."""
    service = _dict(r.inputs.get("scaling"))
    if str(service.get("scalingMode") or "") == "MANUAL":
        count = int(_number(service.get("manualInstanceCount")))
        return count, count
    template = _dict(_dict(r.inputs.get("template")).get("scaling"))
    least = int(max(_number(template.get("minInstanceCount")), _number(service.get("minInstanceCount"))))
    most = template.get("maxInstanceCount", service.get("maxInstanceCount"))
    return least, (int(_number(most)) if most is not None else None)


def _cloud_run(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """Minimum instances for the whole month, assumed busy time above them, and requests when billed per request."""
    region = _region(r, plan)
    if region not in TIER1_REGIONS:
        return None
    vcpu, gib, gpus, always, accelerator = _run_shape(r)
    gpu_rate = 0.0
    gpu_note = ""
    if gpus:
        rates = RUN_GPU_RATES.get(accelerator)
        if rates is None:
            return None  # RTX PRO 6000 and anything newer: no price read
        redundancy_off = bool(_dict(r.inputs.get("template")).get("gpuZonalRedundancyDisabled"))
        gpu_rate = (rates[0] if redundancy_off else rates[1]).amount * gpus
        gpu_note = f" + {gpus} {accelerator.upper().removeprefix('NVIDIA-')} GPU ({'no ' if redundancy_off else ''}zonal redundancy)"
    cpu_rate, mem_rate = (RUN_INSTANCE_VCPU_SECOND, RUN_INSTANCE_GIB_SECOND) if always else (RUN_REQUEST_VCPU_SECOND, RUN_REQUEST_GIB_SECOND)
    per_second = vcpu * cpu_rate.amount + gib * mem_rate.amount + gpu_rate
    shape = f"{vcpu:g} vCPU / {gib:g} GiB{gpu_note}"
    mode = "instance-based billing" if always else "request-based billing"
    least, most = _run_scaling(r)
    items: list[tuple[str, float]] = []
    if least:
        note = mode if always else f"{mode}, idle minimum instances at the active rate: an upper bound"
        items.append((f"Cloud Run {region} {least} min instances x {shape}, always on ({note})", per_second * SECONDS_PER_MONTH * least))
    if most is None or most > least:
        hours = ASSUMED_BUSY_HOURS
        items.append(
            (
                f"Cloud Run {region} {hours:g} instance-hours/month above the minimum x {shape} ({mode}; assumed: request-driven bursts)",
                per_second * hours * 3600,
            )
        )
    if not always:
        millions = ASSUMED_REQUESTS_MILLIONS
        items.append((f"Cloud Run requests {millions:g} million/month (assumed)", RUN_MILLION_REQUESTS.monthly(millions)))
    return items


# --- Compute Engine -------------------------------------------------------------


def _machine_gpus(machine: str, accelerators: Iterable[Any]) -> int:
    """GPUs of one VM: those its machine type brings, and those attached (an L4 named on a g2 is its own)."""
    built_in, total = BUILT_IN_GPUS.get(machine, ("", 0))
    for accelerator in accelerators:
        kind, count = _last(_dict(accelerator).get("type")), int(_number(_dict(accelerator).get("count"), 1))
        total = max(total, count) if kind == built_in else total + count
    return total


def _vm_items(inputs: Mapping[str, Any], count: int, region: str, what: str) -> list[tuple[str, float]] | None:
    """`count` VMs of an instance template's or an instance's shape: machine, attached GPUs, disks, external IPs."""
    machine = _last(inputs.get("machineType"))
    hourly = MACHINE_HOURLY.get(region, _NO_PRICES).get(machine)
    if hourly is None:
        return None
    spot = str(_dict(inputs.get("scheduling")).get("provisioningModel") or "") == "SPOT" or bool(_dict(inputs.get("scheduling")).get("preemptible"))
    note = ", Spot billed on-demand: an upper bound" if spot else ""
    items = [(f"{machine} on-demand {region} x{count} ({what}{note})", hourly.monthly(count))]
    built_in = BUILT_IN_GPUS.get(machine, ("", 0))[0]
    for accelerator in _list(inputs.get("guestAccelerators")):
        kind, per_vm = _last(_dict(accelerator).get("type")), int(_number(_dict(accelerator).get("count"), 1))
        if kind == built_in:
            continue  # the machine type's own GPU, in its price
        gpu = ACCELERATOR_HOURLY.get(region, _NO_PRICES).get(kind)
        if gpu is None:
            return None
        items.append((f"{kind} GPU x{per_vm * count} ({what})", gpu.monthly(per_vm * count)))
    disks = _list(inputs.get("disks"))
    boot = _dict(_dict(inputs.get("bootDisk")).get("initializeParams"))
    # A disk attached by `source` is an existing compute.Disk, billed as that resource (not once more per VM).
    specs = [(d.get("diskType"), d.get("diskSizeGb"), d.get("type")) for d in map(_dict, disks) if not d.get("source")]
    if inputs.get("bootDisk") is not None:
        specs.append((boot.get("type"), boot.get("size"), None))
    for kind_of_disk, size, mode in specs:
        if str(mode or "PERSISTENT") != "PERSISTENT":
            return None  # local SSD (SCRATCH): not priced here
        disk_type = _last(kind_of_disk) or DEFAULT_DISK_TYPE
        per_gb = DISK_GB_MONTH.get(region, _NO_PRICES).get(disk_type)
        if per_gb is None:
            return None
        gb = _number(size) or ASSUMED_IMAGE_DISK_GB
        sized = f"{gb:g} GB" if _number(size) else f"{gb:g} GB, the image's size, assumed"
        items.append((f"{disk_type} {sized} x{count} ({what} disks)", per_gb.monthly(gb * count)))
    addresses = sum(len(_list(_dict(n).get("accessConfigs"))) for n in _list(inputs.get("networkInterfaces")))
    if addresses:
        items.append((f"external IPv4 addresses x{addresses * count} ({what})", EXTERNAL_IP_HOUR.monthly(addresses * count)))
    return items


def _template_of(group: RecordedResource, plan: RecordedPlan) -> RecordedResource | None:
    versions = _list(group.inputs.get("versions"))
    ref = _dict(versions[0]).get("instanceTemplate") if versions else None
    return plan.producer(ref, *TEMPLATES)


PER_INSTANCE_CONFIG: Final = "gcp:compute/perInstanceConfig:PerInstanceConfig"


def group_size(r: RecordedResource, plan: RecordedPlan) -> int | None:
    """VMs a group runs: its targetSize, or its per-instance configs when there are more of them.

    A per-instance config creates its named VM through the group
    (`createInstances`), so a group created empty with one config runs one VM
    (infra/gcp/ollama_vm.py). None when neither says: a group an autoscaler
    sizes leaves targetSize unset.
    """
    names = {str(v) for v in (r.id, r.inputs.get("name"), r.state.get("name")) if v}
    configs = sum(1 for c in plan.of_type(PER_INSTANCE_CONFIG) if str(c.inputs.get("instanceGroupManager")) in names)
    size = r.inputs.get("targetSize")
    if size is None and not configs:
        return None
    return max(int(_number(size)), configs)


def _group(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """The group's VMs (`group_size`) of its (first version's) template."""
    template = _template_of(r, plan)
    size = group_size(r, plan)
    if template is None or size is None:
        return None
    return _vm_items(template.inputs, size, _region(r, plan), "instance group")


def _instance(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    return _vm_items(r.inputs, 1, _region(r, plan), "VM")


def _disk(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    disk_type = _last(r.inputs.get("type")) or DEFAULT_DISK_TYPE
    per_gb = DISK_GB_MONTH.get(_region(r, plan), _NO_PRICES).get(disk_type)
    size = _number(r.inputs.get("size"))
    if per_gb is None or not size:
        return None  # a size from an image or snapshot the plan does not know
    return [(f"{disk_type} {size:g} GB (disk)", per_gb.monthly(size))]


def _vms_in(plan: RecordedPlan) -> int:
    """VMs the plan runs: groups' target sizes and standalone instances."""
    groups = sum(group_size(g, plan) or 0 for g in plan.of_type(GROUP, REGION_GROUP))
    return groups + len(plan.of_type(INSTANCE))


# --- Networking -------------------------------------------------------------------


def _share(total: float, r: RecordedResource, plan: RecordedPlan) -> tuple[float, str]:
    """`total` split evenly over the plan's resources of `r`'s type, and how the SKU says so."""
    count = max(1, len(plan.of_type(r.type)))
    return total / count, (f" over {count}" if count > 1 else "")


def _router_nat(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    """The gateway's VM-hours (capped past 32 VMs), the IPs it uses, and assumed data processed."""
    items: list[tuple[str, float]] = []
    vms = _vms_in(plan)
    if vms > NAT_MAX_VMS:
        items.append((f"Cloud NAT gateway, {vms} VMs (the price for more than {NAT_MAX_VMS})", NAT_GATEWAY_MAX_HOUR.monthly()))
    elif vms:
        items.append((f"Cloud NAT gateway, {vms} VMs", NAT_VM_HOUR.monthly(vms)))
    if str(r.inputs.get("natIpAllocateOption") or "") == "MANUAL_ONLY":
        ips, how = len(_list(r.inputs.get("natIps"))), "reserved"
    else:
        ips, how = ASSUMED_NAT_AUTO_IPS, "auto-allocated, assumed"
    if ips:
        items.append((f"Cloud NAT external IPs x{ips} ({how})", NAT_IP_HOUR.monthly(ips)))
    gb, over = _share(ASSUMED_NAT_GB_PER_MONTH, r, plan)
    why = f"{ASSUMED_NAT_GB_PER_MONTH:g} GB/month of updates, image and model pulls{over}"
    items.append((f"Cloud NAT data processed {gb:g} GB/month (assumed: {why})", NAT_GB.monthly(gb)))
    return items


def _forwarding_rule(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """The first five global rules of a project share one hourly charge: the first (by name) pays it, with the data."""
    scheme = str(r.inputs.get("loadBalancingScheme") or "EXTERNAL")
    if scheme not in ("EXTERNAL", "EXTERNAL_MANAGED"):
        return None  # internal and Traffic Director schemes: not priced here
    rules = sorted(plan.of_type(FORWARDING_RULE), key=lambda x: x.name)  # registration order varies run to run
    rank = next((i for i, x in enumerate(rules) if x is r), 0)
    if rank >= FIRST_RULES_SHARED:
        return [("global forwarding rule past the fifth", FORWARDING_RULE_EXTRA_HOUR.monthly())]
    if rank:
        return [(f"global forwarding rule (one of the first {FIRST_RULES_SHARED}: billed on {rules[0].name})", 0.0)]
    gb = ASSUMED_LB_GB_PER_MONTH
    return [
        (f"global forwarding rules, the first {FIRST_RULES_SHARED} (one charge for up to {FIRST_RULES_SHARED} rules)", FORWARDING_RULES_FIRST5_HOUR.monthly()),
        (f"load balancer data processed {gb:g} GB/month in and out (assumed)", LB_DATA_GB.monthly(gb)),
    ]


def _references(r: RecordedResource) -> set[str]:
    return {v for v in (r.id, *r.state.values(), r.inputs.get("name")) if isinstance(v, str) and v}


def _global_address(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """An address a forwarding rule uses bills nothing by itself; an unused one bills at a rate no source gave."""
    names = _references(r)
    if any(rule.inputs.get("ipAddress") in names for rule in plan.of_type(FORWARDING_RULE)):
        return []
    return None


def _address(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """An internal address costs nothing; a regional address a NAT gateway uses is billed on the gateway; others are not priced here.

    Internal IPv4 addresses, static or not, carry no charge on the VPC pricing
    page (https://cloud.google.com/vpc/network-pricing, "IP address pricing";
    as recalled, not re-read this session).
    """
    if str(r.inputs.get("addressType") or "EXTERNAL").upper() == "INTERNAL":
        return []
    names = _references(r)
    if any(names & set(map(str, _list(nat.inputs.get("natIps")))) for nat in plan.of_type(NAT)):
        return []
    return None


# --- Data services ------------------------------------------------------------------


def _valkey(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    node_type = str(r.inputs.get("nodeType") or "")
    hourly = VALKEY_NODE_HOUR.get(_region(r, plan), _NO_PRICES).get(node_type)
    if hourly is None:
        return None
    shards = int(_number(r.inputs.get("shardCount"), 1)) or 1
    nodes = shards * (int(_number(r.inputs.get("replicaCount"))) + 1)
    return [(f"Memorystore for Valkey {node_type.lower().replace('_', '-')} x{nodes} nodes ({shards} shards)", hourly.monthly(nodes))]


def _redis(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    tier = str(r.inputs.get("tier") or "BASIC")
    gb = _number(r.inputs.get("memorySizeGb"))
    per_gb = REDIS_BASIC_M1_GB_HOUR.get(_region(r, plan))
    if tier != "BASIC" or per_gb is None or not REDIS_M1_GB[0] <= gb <= REDIS_M1_GB[1]:
        return None  # Standard (HA) and larger capacity tiers: no rate read
    return [(f"Memorystore for Redis Basic {gb:g} GB", per_gb.monthly(gb))]


def _bucket(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    if str(r.inputs.get("storageClass") or "STANDARD") != "STANDARD":
        return None
    per_gb = GCS_STANDARD_GB_MONTH.get(_region(r, plan))
    if per_gb is None:
        return None  # multi-region (US, EU) and other regions: not priced here
    return [(f"Cloud Storage Standard {ASSUMED_MODELS_GB:g} GB (assumed: the models)", per_gb.monthly(ASSUMED_MODELS_GB))]


def _repository(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    gb = ASSUMED_IMAGES_GB_PER_REPO
    return [(f"Artifact Registry storage {gb:g} GB (assumed; the free 0.5 GB a billing account not deducted)", AR_GB_MONTH.monthly(gb))]


def _secret(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    """Active versions (the plan's versions of this secret, else one) in each replica location, and assumed reads."""
    versions = sum(1 for v in plan.of_type(SECRET_VERSION) if plan.producer(v.inputs.get("secret"), SECRET) is r)
    counted = "" if versions else ", assumed"
    replication = _dict(r.inputs.get("replication"))
    locations = len(_list(_dict(replication.get("userManaged")).get("replicas"))) or 1  # automatic: billed as one location
    active = max(versions, 1) * locations
    reads = ASSUMED_SECRET_ACCESSES_PER_MONTH
    return [
        (f"Secret Manager {active} active versions ({locations} locations{counted})", SECRET_VERSION_MONTH.monthly(active)),
        (f"Secret Manager {reads:,} accesses/month (assumed)", SECRET_10K_ACCESSES.monthly(reads / 10_000)),
    ]


_PRICERS: Final = MappingProxyType(
    {
        SERVICE: _cloud_run,
        GROUP: _group,
        REGION_GROUP: _group,
        INSTANCE: _instance,
        "gcp:compute/disk:Disk": _disk,
        NAT: _router_nat,
        FORWARDING_RULE: _forwarding_rule,
        "gcp:compute/globalAddress:GlobalAddress": _global_address,
        "gcp:compute/address:Address": _address,
        "gcp:memorystore/instance:Instance": _valkey,
        "gcp:redis/instance:Instance": _redis,
        "gcp:storage/bucket:Bucket": _bucket,
        "gcp:artifactregistry/repository:Repository": _repository,
        SECRET: _secret,
    }
)


def price(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    found = _PRICERS.get(r.type)
    return found(r, plan) if found is not None else None


def gpus(r: RecordedResource, plan: RecordedPlan) -> int:
    """GPUs a resource runs: a group's targetSize x its template's, an instance's, and a GPU Cloud Run service's.

    A Cloud Run service counts its minimum instances' GPUs, and at least one
    instance's if it has none (it can run one whenever a request comes).
    """
    if r.type in (GROUP, REGION_GROUP):
        template = _template_of(r, plan)
        if template is None:
            return 0
        return (group_size(r, plan) or 0) * _machine_gpus(_last(template.inputs.get("machineType")), _list(template.inputs.get("guestAccelerators")))
    if r.type == INSTANCE:
        return _machine_gpus(_last(r.inputs.get("machineType")), _list(r.inputs.get("guestAccelerators")))
    if r.type == SERVICE:
        _, _, per_instance, _, _ = _run_shape(r)
        least, most = _run_scaling(r)
        return per_instance * (least or (1 if most is None or most > 0 else 0))
    return 0


def _all(*groups: Iterable[Price]) -> tuple[Price, ...]:
    return tuple(p for group in groups for p in group)


def _nested(table: Mapping[str, Mapping[str, Price]]) -> Iterable[Price]:
    return (p for rows in table.values() for p in rows.values())


PRICER = Pricer(
    price=price,
    free=FREE,
    prices=_all(
        (RUN_INSTANCE_VCPU_SECOND, RUN_INSTANCE_GIB_SECOND, RUN_REQUEST_VCPU_SECOND, RUN_REQUEST_GIB_SECOND, RUN_MILLION_REQUESTS),
        (RUN_L4_SECOND, RUN_L4_REDUNDANT_SECOND),
        _nested(MACHINE_HOURLY), _nested(ACCELERATOR_HOURLY), _nested(DISK_GB_MONTH), (EXTERNAL_IP_HOUR,),
        (NAT_VM_HOUR, NAT_GATEWAY_MAX_HOUR, NAT_GB, NAT_IP_HOUR),
        (FORWARDING_RULES_FIRST5_HOUR, FORWARDING_RULE_EXTRA_HOUR, LB_DATA_GB),
        _nested(VALKEY_NODE_HOUR), REDIS_BASIC_M1_GB_HOUR.values(),
        GCS_STANDARD_GB_MONTH.values(), (AR_GB_MONTH, SECRET_VERSION_MONTH, SECRET_10K_ACCESSES),
    ),
    seed_monthly=SEED_MONTHLY,
    gpus=gpus,
)
