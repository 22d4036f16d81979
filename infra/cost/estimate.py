"""Turn a recorded plan into monthly figures (730 hours a month).

Each priced resource becomes one or more items with the SKU it is billed as;
usage-priced items say the usage they assume. Resources that cost nothing by
themselves (VPCs, security groups, IAM, standard SSM parameters, ACM public
certificates) get no item. Unknown priced types are not guessed at: they are
listed in `unpriced` so a reader sees what the total leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.cost import prices as p
from infra.plan.engine import RecordedPlan, RecordedResource, ResourceKey

FREE_TYPES_PREFIXES = (
    "aws:ec2/vpc:", "aws:ec2/subnet:", "aws:ec2/internetGateway:", "aws:ec2/routeTable",
    "aws:ec2/securityGroup:", "aws:ec2/defaultSecurityGroup:", "aws:vpc/securityGroup", "aws:iam/",
    "aws:ssm/parameter:", "aws:acm/", "aws:lb/targetGroup", "aws:lb/listener:", "aws:ecr/lifecyclePolicy:", "aws:ec2/volumeAttachment:",
    "aws:s3/bucketVersioning:", "aws:s3/bucketServerSide", "aws:s3/bucketPublicAccessBlock:",
    "aws:s3/bucketOwnershipControls:", "aws:s3/bucketPolicy:", "random:", "docker-build:", "pulumi:",
)  # fmt: skip


@dataclass(frozen=True)
class CostItem:
    resource: ResourceKey
    sku: str
    monthly: float

    def as_json(self) -> dict[str, Any]:
        return {"resource": self.resource.as_json(), "sku": self.sku, "monthly": round(self.monthly, 2)}


@dataclass
class CostReport:
    items: list[CostItem] = field(default_factory=list)
    unpriced: list[ResourceKey] = field(default_factory=list)
    seed_monthly: float | None = None

    @property
    def monthly(self) -> float:
        return round(sum(sorted(i.monthly for i in self.items)), 2)

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "currency": "USD",
            "hours_per_month": p.HOURS_PER_MONTH,
            "monthly": self.monthly,
            "items": [i.as_json() for i in self.items],
            "prices_as_of": p.AS_OF,
        }
        if self.unpriced:
            result["unpriced"] = [k.as_json() for k in self.unpriced]
        if self.seed_monthly is not None:
            result["seed_monthly"] = self.seed_monthly
        return result


def _hours(price: p.Price, count: float = 1.0) -> float:
    return price.amount * p.HOURS_PER_MONTH * count


def _aws_items(r: RecordedResource, region: str) -> list[tuple[str, float]] | None:
    i = r.inputs
    if r.type == "aws:ec2/instance:Instance":
        kind = str(i.get("instanceType"))
        table = p.AWS_INSTANCE_HOURLY.get(region)
        hourly = table.get(kind) if table is not None else None
        if hourly is None:
            return None
        size = float((i.get("rootBlockDevice") or {}).get("volumeSize") or 8)
        items = [
            (f"{kind} on-demand {region}", _hours(hourly)),
            (f"EBS gp3 {size:g} GB (root volume)", p.AWS_EBS_GP3_GB_MONTH.amount * size),
        ]
        if i.get("associatePublicIpAddress"):
            items.append(("public IPv4 address (host)", _hours(p.AWS_PUBLIC_IPV4_HOUR)))
        return items
    if r.type == "aws:ebs/volume:Volume":
        size = float(i.get("size") or 0)
        return [(f"EBS {i.get('type', 'gp3')} {size:g} GB (data volume)", p.AWS_EBS_GP3_GB_MONTH.amount * size)]
    if r.type in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
        items = [
            (f"Application Load Balancer {region}", _hours(p.AWS_ALB_HOUR)),
            (f"ALB {p.ASSUMED_ALB_LCUS:g} LCU (assumed)", _hours(p.AWS_ALB_LCU_HOUR, p.ASSUMED_ALB_LCUS)),
        ]
        if not i.get("internal"):
            addresses = len(i.get("subnets") or []) * p.ALB_PUBLIC_IPS_PER_SUBNET
            items.append((f"public IPv4 addresses x{addresses} (ALB)", _hours(p.AWS_PUBLIC_IPV4_HOUR, addresses)))
        return items
    if r.type == "aws:s3/bucket:Bucket":
        return [(f"S3 Standard {p.ASSUMED_MODELS_GB:g} GB (assumed)", p.AWS_S3_STANDARD_GB_MONTH.amount * p.ASSUMED_MODELS_GB)]
    if r.type == "aws:cloudwatch/logGroup:LogGroup":
        days = float(i.get("retentionInDays") or 3653)
        stored = p.ASSUMED_LOGS_GB_PER_MONTH * days / 30
        return [
            (f"CloudWatch Logs ingest {p.ASSUMED_LOGS_GB_PER_MONTH:g} GB/month (assumed)", p.AWS_LOGS_INGEST_GB.amount * p.ASSUMED_LOGS_GB_PER_MONTH),
            (f"CloudWatch Logs storage {stored:g} GB ({days:g}-day retention)", p.AWS_LOGS_STORE_GB_MONTH.amount * stored),
        ]
    if r.type == "aws:ecr/repository:Repository":
        return [(f"ECR storage {p.ASSUMED_IMAGES_GB_PER_REPO:g} GB (assumed)", p.AWS_ECR_GB_MONTH.amount * p.ASSUMED_IMAGES_GB_PER_REPO)]
    return None


def estimate(plan: RecordedPlan) -> CostReport:
    report = CostReport()
    region = getattr(plan.config, "region", "")
    kind = getattr(plan.config, "stack_kind", "")
    if kind.startswith("aws"):
        report.seed_monthly = p.SEED_MONTHLY_USD["aws"]
    for r in plan.resources:
        if not r.custom:
            continue
        items = _aws_items(r, region) if r.type.startswith("aws:") else None
        if items is None:
            if not r.type.startswith(FREE_TYPES_PREFIXES):
                report.unpriced.append(r.key)
            continue
        # Cents per item, so the items add up to the total exactly, in any order.
        report.items.extend(CostItem(r.key, sku, round(monthly, 2)) for sku, monthly in items)
    return report
