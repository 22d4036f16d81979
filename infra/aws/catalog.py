"""What AWS offers that the AWS stack kinds accept: regions, GPU instance types, limits.

Config validation reads this module (not the price tables), and so do the
checks that need to know, say, how many GPUs an instance type has. Each fact
names where it comes from. Prices live in `infra.aws.prices`; a test holds the
two together (every type accepted here has a price in every region).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class GpuType:
    gpus: int
    vcpus: int
    memory_gib: int
    gpu: str


# https://aws.amazon.com/ec2/instance-types/g4/ , /g5/ , /g6/ (accelerated computing):
# each size below carries one GPU.
GPU_TYPES: Final = MappingProxyType(
    {
        "g4dn.xlarge": GpuType(1, 4, 16, "NVIDIA T4 16 GB"),
        "g4dn.2xlarge": GpuType(1, 8, 32, "NVIDIA T4 16 GB"),
        "g4dn.4xlarge": GpuType(1, 16, 64, "NVIDIA T4 16 GB"),
        "g5.xlarge": GpuType(1, 4, 16, "NVIDIA A10G 24 GB"),
        "g5.2xlarge": GpuType(1, 8, 32, "NVIDIA A10G 24 GB"),
        "g6.xlarge": GpuType(1, 4, 16, "NVIDIA L4 24 GB"),
        "g6.2xlarge": GpuType(1, 8, 32, "NVIDIA L4 24 GB"),
    }
)

# Regions the stacks run in: each offers every type above and has a row in
# infra/aws/prices.py. Adding one is adding its prices.
REGIONS: Final = ("us-east-1", "us-east-2", "us-west-2")

# The GPU Deep Learning Base AMI's root snapshot is 75 GiB, so no root
# volume may be smaller (EC2 refuses: "Volume of size N is smaller than
# snapshot"). Source: AWS Deep Learning AMI release notes, "AWS Deep Learning
# Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04)": default EBS volume 75 GB.
GPU_AMI_ROOT_SNAPSHOT_GIB: Final = 75
# gp3 volumes are 1 GiB to 16 TiB: https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html
GP3_MAX_GIB: Final = 16384

# CloudWatch Logs' allowed retention values (PutRetentionPolicy, retentionInDays).
LOG_RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip

# Registries whose public images a host pulls without logging in. Private
# images must live in ECR (any account that grants the stack's role pull).
PUBLIC_REGISTRIES: Final = ("docker.io", "ghcr.io", "quay.io", "public.ecr.aws", "registry.k8s.io", "mcr.microsoft.com")
ECR_REGISTRY: Final = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


def gpus_of(instance_type: str) -> int:
    """GPUs in an instance type; 0 for a type that is not a GPU type we know."""
    found = GPU_TYPES.get(instance_type)
    return found.gpus if found else 0

# Fargate task sizes: CPU units -> the memory sizes (MiB) Fargate accepts with
# them; any other pair is refused by RegisterTaskDefinition. Source:
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: Final = MappingProxyType(
    {
        256: (512, 1024, 2048),
        512: tuple(range(1024, 4096 + 1, 1024)),
        1024: tuple(range(2048, 8192 + 1, 1024)),
        2048: tuple(range(4096, 16384 + 1, 1024)),
        4096: tuple(range(8192, 30720 + 1, 1024)),
        8192: tuple(range(16384, 61440 + 1, 4096)),
        16384: tuple(range(32768, 122880 + 1, 8192)),
    }
)


def fargate_size(cpu_units: int, memory_mib: int) -> tuple[int, int]:
    """The smallest Fargate task size with at least `cpu_units` and `memory_mib` (ValueError past the largest)."""
    for cpu, memories in FARGATE_SIZES.items():
        if cpu < cpu_units:
            continue
        for memory in memories:
            if memory >= memory_mib:
                return cpu, memory
    raise ValueError(f"no Fargate task size holds {cpu_units} CPU units and {memory_mib} MiB")


# The ECS-optimized Amazon Linux 2023 GPU AMI, from AWS's public SSM parameter
# (the AL2 ECS AMIs reached end of life on 2026-06-30). Source:
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/retrieve-ecs-optimized_AMI.html
# and github.com/aws/amazon-ecs-ami (al2023gpu.pkr.hcl).
ECS_GPU_AMI_PARAMETER: Final = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
# Its root snapshot is 30 GiB on /dev/xvda: aws/amazon-ecs-ami variables.pkr.hcl
# (block_device_size_gb, default 30) and al2023gpu.pkr.hcl (launch_block_device_mappings).
ECS_GPU_AMI_ROOT_SNAPSHOT_GIB: Final = 30
ECS_GPU_AMI_ROOT_DEVICE: Final = "/dev/xvda"
