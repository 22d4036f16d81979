"""AWS prices, dated and sourced, and how each AWS resource the stacks create is billed.

Every figure carries its source and the date it was read (`infra.cost.pricing.AS_OF`).
Usage-priced items (storage, log ingestion, load-balancer capacity units)
state the usage the estimate assumes in the SKU text the plan prints, so
nobody mistakes an assumption for a measurement.

Left out: taxes, data transfer out (it depends on traffic the plan cannot
know), Savings Plans and Spot discounts.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from infra.aws import catalog
from infra.cost.pricing import Price, Pricer
from infra.plan.model import RecordedPlan, RecordedResource

EC2_SOURCE: Final = "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, shared tenancy)"


def _ec2(hourly: float) -> Price:
    return Price(hourly, "hour", EC2_SOURCE)


# The three US regions publish the same on-demand rates for these families.
_US_GPU: Final = MappingProxyType(
    {
        "g4dn.xlarge": _ec2(0.526),
        "g4dn.2xlarge": _ec2(0.752),
        "g4dn.4xlarge": _ec2(1.204),
        "g5.xlarge": _ec2(1.006),
        "g5.2xlarge": _ec2(1.212),
        "g6.xlarge": _ec2(0.8048),
        "g6.2xlarge": _ec2(0.9776),
    }
)
INSTANCE_HOURLY: Final = MappingProxyType({"us-east-1": _US_GPU, "us-east-2": _US_GPU, "us-west-2": _US_GPU})

# Region-independent in the three US regions above.
ALB_HOUR: Final = Price(0.0225, "hour", "https://aws.amazon.com/elasticloadbalancing/pricing/")
ALB_LCU_HOUR: Final = Price(0.008, "LCU-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/")
EBS_GP3_GB_MONTH: Final = Price(0.08, "GB-month", "https://aws.amazon.com/ebs/pricing/")
PUBLIC_IPV4_HOUR: Final = Price(0.005, "hour", "https://aws.amazon.com/vpc/pricing/ (public IPv4 addresses)")
S3_STANDARD_GB_MONTH: Final = Price(0.023, "GB-month", "https://aws.amazon.com/s3/pricing/ (first 50 TB)")
LOGS_INGEST_GB: Final = Price(0.50, "GB", "https://aws.amazon.com/cloudwatch/pricing/ (custom logs, standard class)")
LOGS_STORE_GB_MONTH: Final = Price(0.03, "GB-month", "https://aws.amazon.com/cloudwatch/pricing/ (log storage)")
ECR_GB_MONTH: Final = Price(0.10, "GB-month", "https://aws.amazon.com/ecr/pricing/")
KMS_KEY_MONTH: Final = Price(1.00, "key-month", "https://aws.amazon.com/kms/pricing/ (customer managed key)")

# Usage the estimate assumes where the plan cannot know it. Printed with each item.
ASSUMED_ALB_LCUS: Final = 1.0
ASSUMED_MODELS_GB: Final = 100.0  # the seed's figure for S3
ASSUMED_LOGS_GB_PER_MONTH: Final = 10.0
ASSUMED_IMAGES_GB_PER_REPO: Final = 2.0
# An ALB holds one public IPv4 address per enabled subnet.
ALB_PUBLIC_IPS_PER_SUBNET: Final = 1
# The seed's AWS figure (shared/seed/deployment-architecture.md).
SEED_MONTHLY: Final = 892.0

FREE: Final = (
    "aws:ec2/vpc:", "aws:ec2/subnet:", "aws:ec2/internetGateway:", "aws:ec2/routeTable",
    "aws:ec2/securityGroup:", "aws:ec2/defaultSecurityGroup:", "aws:vpc/securityGroup", "aws:iam/",
    "aws:ssm/parameter:", "aws:acm/", "aws:lb/targetGroup", "aws:lb/listener:", "aws:ecr/lifecyclePolicy:",
    "aws:ec2/volumeAttachment:", "aws:s3/bucketVersioning:", "aws:s3/bucketServerSide",
    "aws:s3/bucketPublicAccessBlock:", "aws:s3/bucketOwnershipControls:", "aws:s3/bucketPolicy:",
    "aws:kms/alias:", "aws:route53/record:",
)  # fmt: skip


def _region(plan: RecordedPlan) -> str:
    return str(getattr(plan.config, "region", ""))


def price(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    i, region = r.inputs, _region(plan)
    if r.type == "aws:ec2/instance:Instance":
        kind = str(i.get("instanceType"))
        table = INSTANCE_HOURLY.get(region)
        hourly = table.get(kind) if table is not None else None
        if hourly is None:
            return None
        size = float((i.get("rootBlockDevice") or {}).get("volumeSize") or 8)
        items = [
            (f"{kind} on-demand {region}", hourly.monthly()),
            (f"EBS gp3 {size:g} GB (root volume)", EBS_GP3_GB_MONTH.monthly(size)),
        ]
        if i.get("associatePublicIpAddress"):
            items.append(("public IPv4 address (host)", PUBLIC_IPV4_HOUR.monthly()))
        return items
    if r.type == "aws:ebs/volume:Volume":
        size = float(i.get("size") or 0)
        return [(f"EBS {i.get('type', 'gp3')} {size:g} GB (data volume)", EBS_GP3_GB_MONTH.monthly(size))]
    if r.type in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
        items = [
            (f"Application Load Balancer {region}", ALB_HOUR.monthly()),
            (f"ALB {ASSUMED_ALB_LCUS:g} LCU (assumed)", ALB_LCU_HOUR.monthly(ASSUMED_ALB_LCUS)),
        ]
        if not i.get("internal"):
            addresses = len(i.get("subnets") or []) * ALB_PUBLIC_IPS_PER_SUBNET
            items.append((f"public IPv4 addresses x{addresses} (ALB)", PUBLIC_IPV4_HOUR.monthly(addresses)))
        return items
    if r.type == "aws:s3/bucket:Bucket":
        return [(f"S3 Standard {ASSUMED_MODELS_GB:g} GB (assumed)", S3_STANDARD_GB_MONTH.monthly(ASSUMED_MODELS_GB))]
    if r.type == "aws:cloudwatch/logGroup:LogGroup":
        days = float(i.get("retentionInDays") or 3653)
        stored = ASSUMED_LOGS_GB_PER_MONTH * days / 30
        return [
            (f"CloudWatch Logs ingest {ASSUMED_LOGS_GB_PER_MONTH:g} GB/month (assumed)", LOGS_INGEST_GB.monthly(ASSUMED_LOGS_GB_PER_MONTH)),
            (f"CloudWatch Logs storage {stored:g} GB ({days:g}-day retention)", LOGS_STORE_GB_MONTH.monthly(stored)),
        ]
    if r.type == "aws:ecr/repository:Repository":
        return [(f"ECR storage {ASSUMED_IMAGES_GB_PER_REPO:g} GB (assumed)", ECR_GB_MONTH.monthly(ASSUMED_IMAGES_GB_PER_REPO))]
    if r.type == "aws:kms/key:Key":
        return [("KMS customer managed key", KMS_KEY_MONTH.monthly())]
    return None


def gpus(r: RecordedResource) -> int:
    if r.type == "aws:ec2/instance:Instance":
        return catalog.gpus_of(str(r.inputs.get("instanceType")))
    return 0


PRICER = Pricer(
    price=price,
    free=FREE,
    prices=(
        *(p for table in INSTANCE_HOURLY.values() for p in table.values()),
        ALB_HOUR, ALB_LCU_HOUR, EBS_GP3_GB_MONTH, PUBLIC_IPV4_HOUR, S3_STANDARD_GB_MONTH,
        LOGS_INGEST_GB, LOGS_STORE_GB_MONTH, ECR_GB_MONTH, KMS_KEY_MONTH,
    ),
    seed_monthly=SEED_MONTHLY,
    gpus=gpus,
)
