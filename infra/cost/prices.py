"""Dated, sourced price tables: what each priced thing costs, per unit, per region.

Every figure carries its source and the date it was read. Usage-priced items
(storage, log ingestion, load-balancer capacity units) carry the usage the
estimate assumes, stated in the SKU text the plan prints, so nobody mistakes
an assumption for a measurement.

Left out: taxes, data transfer out (it depends on traffic the plan cannot
know), Savings Plans and Spot discounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

HOURS_PER_MONTH: Final = 730
AS_OF: Final = "2026-11-30"
AWS_EC2_SOURCE: Final = "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, shared tenancy)"


@dataclass(frozen=True)
class Price:
    amount: float  # USD per unit
    unit: str  # "hour", "GB-month", "GB", "LCU-hour", ...
    source: str
    as_of: str = AS_OF


def _ec2(hourly: float) -> Price:
    return Price(hourly, "hour", AWS_EC2_SOURCE)


# GPU instance types the AWS VM stack accepts. The three US regions publish the
# same on-demand rates for these families; a region is supported when it has a
# row here, so adding one is adding its prices.
_US_GPU: Final = MappingProxyType(
    {
        "g4dn.xlarge": _ec2(0.526),  # 1x T4 16 GB, 4 vCPU, 16 GiB
        "g4dn.2xlarge": _ec2(0.752),  # 1x T4 16 GB, 8 vCPU, 32 GiB
        "g4dn.4xlarge": _ec2(1.204),  # 1x T4 16 GB, 16 vCPU, 64 GiB
        "g5.xlarge": _ec2(1.006),  # 1x A10G 24 GB, 4 vCPU, 16 GiB
        "g5.2xlarge": _ec2(1.212),  # 1x A10G 24 GB, 8 vCPU, 32 GiB
        "g6.xlarge": _ec2(0.8048),  # 1x L4 24 GB, 4 vCPU, 16 GiB
        "g6.2xlarge": _ec2(0.9776),  # 1x L4 24 GB, 8 vCPU, 32 GiB
    }
)

AWS_INSTANCE_HOURLY: Final = MappingProxyType(
    {"us-east-1": _US_GPU, "us-east-2": _US_GPU, "us-west-2": _US_GPU}
)

# Region-independent in the three US regions above.
AWS_ALB_HOUR: Final = Price(0.0225, "hour", "https://aws.amazon.com/elasticloadbalancing/pricing/")
AWS_ALB_LCU_HOUR: Final = Price(0.008, "LCU-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/")
AWS_EBS_GP3_GB_MONTH: Final = Price(0.08, "GB-month", "https://aws.amazon.com/ebs/pricing/")
AWS_PUBLIC_IPV4_HOUR: Final = Price(0.005, "hour", "https://aws.amazon.com/vpc/pricing/ (public IPv4 addresses)")
AWS_S3_STANDARD_GB_MONTH: Final = Price(0.023, "GB-month", "https://aws.amazon.com/s3/pricing/ (first 50 TB)")
AWS_LOGS_INGEST_GB: Final = Price(0.50, "GB", "https://aws.amazon.com/cloudwatch/pricing/ (custom logs, standard class)")
AWS_LOGS_STORE_GB_MONTH: Final = Price(0.03, "GB-month", "https://aws.amazon.com/cloudwatch/pricing/ (log storage)")
AWS_ECR_GB_MONTH: Final = Price(0.10, "GB-month", "https://aws.amazon.com/ecr/pricing/")

# Usage the estimate assumes where the plan cannot know it. Printed with each item.
ASSUMED_ALB_LCUS: Final = 1.0
ASSUMED_MODELS_GB: Final = 100.0  # the seed's figure for S3
ASSUMED_LOGS_GB_PER_MONTH: Final = 10.0
ASSUMED_IMAGES_GB_PER_REPO: Final = 2.0
# An ALB holds one public IPv4 address per enabled subnet.
ALB_PUBLIC_IPS_PER_SUBNET: Final = 1

# The seed's own monthly totals (shared/seed/deployment-architecture.md), shown beside ours.
SEED_MONTHLY_USD: Final = MappingProxyType({"aws": 892.0, "gcp": 970.0, "digitalocean": 665.0})


def supported_aws_regions() -> tuple[str, ...]:
    return tuple(sorted(AWS_INSTANCE_HOURLY))


def aws_instance_types(region: str) -> tuple[str, ...]:
    return tuple(AWS_INSTANCE_HOURLY.get(region, {}))
