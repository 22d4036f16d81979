"""What Google Cloud offers that the gcp stack kind accepts: regions, GPU machine types and accelerators, Cloud Run GPUs.

The checks read this module (`infra.gcp.checks`: `gce-gpu-vm`,
`cloud-run-gpu`), and so will the gcp config model when issue 10 lands. Prices
live in `infra.gcp.prices`. Each fact names where it comes from; "second-hand"
marks a fact read only in a copy or a quote of Google's page (a mirror, a
GKE page, a document that quotes the table), not on cloud.google.com itself.

Left out on purpose: per-zone availability (Google lists T4 and L4 in
several zones of every region below, but the zones change; the deploy picks
a zone that `gcp.compute.get_zones` answers for), the vCPU and memory limits
that go with each N1 GPU count (not confirmed: see `N1_GPU_COUNTS`), GPU
quota (none by default on Cloud Run; per project and region on Compute Engine)
and the newer accelerator-optimized series (A4, A4X, G4) the stack never picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# The regions the gcp stack accepts. Compute Engine offers T4 (attached to N1)
# and L4 (G2) in each of them: https://cloud.google.com/compute/docs/gpus/gpu-regions-zones
# (the table was not readable through the sources at hand; these six are the
# regions the T4 and L4 rows list in the copies seen, second-hand). Cloud Run
# L4 is offered in fewer: `CLOUD_RUN_GPUS`.
REGIONS: Final = ("us-central1", "us-east4", "us-west1", "europe-west1", "europe-west4", "asia-southeast1")


@dataclass(frozen=True)
class GpuMachineType:
    """An accelerator-optimized machine type: the GPUs it brings built in, which no attached accelerator changes."""

    accelerator: str
    gpus: int


# Accelerator types that can be attached (`guestAccelerators`) to N1
# general-purpose machine types, and only to them, with the GPU counts one VM
# may have. "For N1 general-purpose machine types, except for the N1
# shared-core (f1-micro and g1-small), you can attach a select set of GPU
# models"; "For the A and G series accelerator-optimized machine types, the
# specified GPU model automatically attaches to the instance"
# (https://cloud.google.com/compute/docs/gpus, "GPU machine types"; the
# models and their names, nvidia-tesla-t4/-v100/-p100/-p4, first-hand on the
# same page). Counts: T4 1, 2 or 4 (second-hand: GKE's "Deploy GPU workloads
# in Autopilot" table, docs.cloud.google.com/kubernetes-engine, lists
# nvidia-tesla-t4 "1, 2, 4"); V100 1, 2, 4 or 8, P4 and P100 1, 2 or 4 as
# Google's N1 tables have long listed them (not re-confirmed here).
N1_GPU_COUNTS: Final = MappingProxyType(
    {
        "nvidia-tesla-t4": (1, 2, 4),
        "nvidia-tesla-v100": (1, 2, 4, 8),
        "nvidia-tesla-p4": (1, 2, 4),
        "nvidia-tesla-p100": (1, 2, 4),
    }
)
# N1 machine types that take no GPU at all (same page: "except for the N1 shared-core").
N1_SHARED_CORE: Final = ("f1-micro", "g1-small")

# Accelerator-optimized machine types, each with its GPU model built in.
# G2 (NVIDIA L4, nvidia-l4): "To run NVIDIA L4 GPUs, you must use a G2
# accelerator-optimized machine type. Each G2 machine type has a fixed number
# of NVIDIA L4 GPUs and vCPUs attached" (https://cloud.google.com/compute/docs/gpus/,
# first-hand for g2-standard-4 and -8; the whole table second-hand, as quoted from
# https://docs.cloud.google.com/compute/docs/accelerator-optimized-machines:
# 4/8/12/16/32 vCPUs carry 1 L4, 24 carry 2, 48 carry 4, 96 carry 8).
# A2 (A100 40GB nvidia-tesla-a100, A100 80GB nvidia-a100-80gb) and A3 (H100
# 80GB nvidia-h100-80gb, H100 Mega nvidia-h100-mega-80gb): the GPU models per
# series are first-hand (https://cloud.google.com/compute/docs/gpus/ , "GPUs
# for compute workloads"; a3-highgpu-8g 8 GPUs, 208 vCPUs, 1872 GB first-hand);
# the other A2/A3 sizes follow the `-<n>g` naming (n GPUs) and are second-hand.
GPU_MACHINE_TYPES: Final = MappingProxyType(
    {
        "g2-standard-4": GpuMachineType("nvidia-l4", 1),
        "g2-standard-8": GpuMachineType("nvidia-l4", 1),
        "g2-standard-12": GpuMachineType("nvidia-l4", 1),
        "g2-standard-16": GpuMachineType("nvidia-l4", 1),
        "g2-standard-24": GpuMachineType("nvidia-l4", 2),
        "g2-standard-32": GpuMachineType("nvidia-l4", 1),
        "g2-standard-48": GpuMachineType("nvidia-l4", 4),
        "g2-standard-96": GpuMachineType("nvidia-l4", 8),
        "a2-highgpu-1g": GpuMachineType("nvidia-tesla-a100", 1),
        "a2-highgpu-2g": GpuMachineType("nvidia-tesla-a100", 2),
        "a2-highgpu-4g": GpuMachineType("nvidia-tesla-a100", 4),
        "a2-highgpu-8g": GpuMachineType("nvidia-tesla-a100", 8),
        "a2-megagpu-16g": GpuMachineType("nvidia-tesla-a100", 16),
        "a2-ultragpu-1g": GpuMachineType("nvidia-a100-80gb", 1),
        "a2-ultragpu-2g": GpuMachineType("nvidia-a100-80gb", 2),
        "a2-ultragpu-4g": GpuMachineType("nvidia-a100-80gb", 4),
        "a2-ultragpu-8g": GpuMachineType("nvidia-a100-80gb", 8),
        "a3-highgpu-1g": GpuMachineType("nvidia-h100-80gb", 1),
        "a3-highgpu-2g": GpuMachineType("nvidia-h100-80gb", 2),
        "a3-highgpu-4g": GpuMachineType("nvidia-h100-80gb", 4),
        "a3-highgpu-8g": GpuMachineType("nvidia-h100-80gb", 8),
        "a3-megagpu-8g": GpuMachineType("nvidia-h100-mega-80gb", 8),
    }
)
# Series whose every machine type brings a GPU: a size of theirs not listed
# above is not judged rather than taken for a VM without GPUs.
GPU_SERIES: Final = ("g2", "a2", "a3", "a4", "a4x", "g4")
# General-purpose and compute- or memory-optimized series that take no
# attached GPU (only N1 does, per the GPU machine types page above).
NO_GPU_SERIES: Final = ("e2", "n2", "n2d", "n4", "n4d", "c2", "c2d", "c3", "c3d", "c4", "c4a", "c4d", "t2d", "t2a", "m1", "m2", "m3", "m4", "h3", "z3")

# The stack's default GPU VM (issue 10): an N1 with one T4; a G2 with its L4 is accepted.
DEFAULT_GPU_MACHINE_TYPE: Final = "n1-standard-4"
DEFAULT_GPU_ACCELERATOR: Final = "nvidia-tesla-t4"


@dataclass(frozen=True)
class CloudRunGpu:
    """A GPU Cloud Run services can attach: the least CPU and memory an instance with it needs, and where."""

    min_cpu: float
    min_memory_gib: float
    regions: tuple[str, ...]
    preview: bool = False


# Cloud Run GPUs, by the value of `template.nodeSelector.accelerator`
# (pulumi_gcp cloudrunv2/service.py, "Cloudrunv2 Service Gpu" example:
# node_selector accelerator "nvidia-l4", limits nvidia.com/gpu "1").
# https://cloud.google.com/run/docs/configuring/services/gpu: "You can configure
# one GPU per Cloud Run instance"; "If you use sidecar containers, note that the
# GPU can only be attached to one container"; "You must use a minimum of 4 CPU and
# 16 GiB of memory" (L4); "Because you must use CPU always allocated to use the
# GPU feature" (later copies: "instance-based billing"), i.e. cpuIdle false.
#
# L4 regions. Google's own copy of that page seen here lists only us-central1
# and asia-southeast1 (an early one); later copies list asia-southeast1,
# europe-west1, europe-west4, us-central1, us-east4 and asia-south1 "by
# invitation only" (second-hand: the dudasite copy of .../services/gpu and the
# cloud-dot-devsite copy of .../workerpools/gpu; europe-west1/-west4 also on the
# cloud-dot-devsite copy of .../services/gpu). Conflict: a newer worker-pools
# copy (cloud-facts.md) marks L4 in us-central1 "invitation only". Decision:
# us-central1 stays accepted, because every services page (the resource this
# stack deploys) lists it without that note, and the Japanese zonal-redundancy
# page (cloud.google.com/run/docs/configuring/services/gpu-zonal-redundancy?hl=ja)
# lists it too; a project refused there gets a quota error at deploy, not a
# broken plan. asia-south1 (invitation only) is not accepted.
#
# RTX PRO 6000 Blackwell (Preview): at least 20 CPU and 80 GiB; regions
# asia-southeast1, europe-west4, us-central1 (asia-south2 by invitation). Second-hand:
# the movatter copy of .../services/gpu and cloud-facts.md. Known so the rule
# judges it by its own minimums; the stack does not pick it.
#
# Max instances: Google states no GPU-specific maximum beyond the GPU quota
# (none found); `cloud-run-gpu` asks for a bound of its own (cost).
CLOUD_RUN_GPUS: Final = MappingProxyType(
    {
        "nvidia-l4": CloudRunGpu(4, 16, ("us-central1", "us-east4", "europe-west1", "europe-west4", "asia-southeast1")),
        "nvidia-rtx-pro-6000": CloudRunGpu(20, 80, ("us-central1", "europe-west4", "asia-southeast1"), preview=True),
    }
)
CLOUD_RUN_GPUS_PER_INSTANCE: Final = 1
# Cloud Run's defaults when a container sets no limit: 1 CPU
# (https://cloud.google.com/run/docs/configuring/services/cpu) and 512 MiB
# (https://cloud.google.com/run/docs/configuring/services/memory-limits).
CLOUD_RUN_DEFAULT_CPU: Final = 1.0
CLOUD_RUN_DEFAULT_MEMORY_GIB: Final = 0.5


def machine_type_name(value: str) -> str:
    """`n1-standard-4` from a bare name or a URL such as `zones/us-central1-a/machineTypes/n1-standard-4`."""
    return value.rstrip("/").rsplit("/", 1)[-1]


def series_of(machine_type: str) -> str:
    """The machine series (`n1`, `g2`, ...) of a machine type; N1 custom types are `custom-<cpus>-<mib>`."""
    name = machine_type_name(machine_type)
    if name.startswith("custom-"):
        return "n1"
    return name.split("-", 1)[0]


# The GPU VMs the `gcp` stack accepts for Ollama (each has a price in
# infra/gcp/prices.py): N1 with one attached T4, or G2 with its built-in L4.
STACK_GPU_MACHINE_TYPES: Final = ("n1-standard-4", "n1-standard-8", "g2-standard-4", "g2-standard-8")
# The GPU Ollama gets on Cloud Run (dixi:ollamaRuntime "cloud-run").
CLOUD_RUN_OLLAMA_GPU: Final = "nvidia-l4"


def attached_accelerator(machine_type: str) -> str | None:
    """The GPU the stack attaches to `machine_type`: a T4 on N1, none where the type brings its own."""
    return DEFAULT_GPU_ACCELERATOR if series_of(machine_type) == "n1" else None


# Registries whose public images Cloud Run and the GPU VM pull without
# credentials. Private images must live in the stack's own project's Artifact
# Registry (`<region>-docker.pkg.dev/<project>/...`), which each service
# account is granted to read.
PUBLIC_REGISTRIES: Final = ("docker.io", "ghcr.io", "quay.io", "public.ecr.aws", "registry.k8s.io", "mcr.microsoft.com")
ARTIFACT_REGISTRY_HOST: Final = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev$")
