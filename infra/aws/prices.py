"""AWS prices, dated and sourced, and how each AWS resource the stacks create is billed.

Every figure carries its source and the date it was read (`infra.cost.pricing.AS_OF`).
Usage-priced items (storage, log ingestion, load-balancer capacity units,
NAT and endpoint data, cache requests) state the usage the estimate assumes
in the SKU text the plan prints, so nobody mistakes an assumption for a
measurement.

Where a source says "second-hand", AWS's own pricing page renders its rates
from a script the stored copies do not run, so the figure was read in a
third party's copy of it (named in the source); where two sources agree the
comment says so. us-east-1 figures throughout: the three accepted regions
(`catalog.REGIONS`) publish the same rates for everything below as far as
the sources say; where no source said so for us-east-2 and us-west-2, the
comment by the price says "not confirmed".

Left out: taxes, data transfer out and between zones (it depends on traffic
the plan cannot know), Savings Plans and Spot discounts (Spot prices move by
the hour and AWS publishes no dated table: aws.amazon.com/ec2/spot/pricing is
rendered live, so the estimate bills Spot capacity at the on-demand rate and
says so), Container Insights with enhanced observability (billed per
observation at a rate no stored source gave: such a cluster shows as
unpriced).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Final

from infra.aws import catalog
from infra.cost.pricing import Price, Pricer
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.model import as_dict as _dict
from infra.plan.model import as_list as _list
from infra.plan.model import as_number as _number

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
# AWS's own agent toolkit gives the same $0.005 an hour for every public IPv4
# address, in use or idle (github.com/aws/agent-toolkit-for-aws,
# skills/core-skills/aws-billing-and-cost-management/references/cost-audit.md, 2026-08).
PUBLIC_IPV4_HOUR: Final = Price(0.005, "hour", "https://aws.amazon.com/vpc/pricing/ (public IPv4 addresses)")
S3_STANDARD_GB_MONTH: Final = Price(0.023, "GB-month", "https://aws.amazon.com/s3/pricing/ (first 50 TB)")
LOGS_INGEST_GB: Final = Price(0.50, "GB", "https://aws.amazon.com/cloudwatch/pricing/ (custom logs, standard class)")
LOGS_STORE_GB_MONTH: Final = Price(0.03, "GB-month", "https://aws.amazon.com/cloudwatch/pricing/ (log storage)")
ECR_GB_MONTH: Final = Price(0.10, "GB-month", "https://aws.amazon.com/ecr/pricing/")
KMS_KEY_MONTH: Final = Price(1.00, "key-month", "https://aws.amazon.com/kms/pricing/ (customer managed key)")

# --- ECS (the `aws` stack kind) ---------------------------------------------

# Fargate, Linux. Hourly rates second-hand: vantage.sh/blog/fargate-pricing and
# cloudburn.io/blog/aws-fargate-pricing (2026-03) agree. They match the
# per-second rates of AWS's own worked examples ($0.000011244 per vCPU-second,
# $0.000001235 per GB-second, US East), as quoted from aws.amazon.com/fargate/pricing
# and aws.amazon.com/ecs/pricing in public repositories. Not confirmed for
# us-east-2 and us-west-2 (assumed equal, as for the other prices here).
_FARGATE: Final = "https://aws.amazon.com/fargate/pricing/"
FARGATE_X86_VCPU_HOUR: Final = Price(0.04048, "vCPU-hour", f"{_FARGATE} (Linux/x86; second-hand: https://www.vantage.sh/blog/fargate-pricing)")
FARGATE_X86_GB_HOUR: Final = Price(0.004445, "GB-hour", f"{_FARGATE} (Linux/x86; second-hand: https://www.vantage.sh/blog/fargate-pricing)")
FARGATE_ARM_VCPU_HOUR: Final = Price(0.03238, "vCPU-hour", f"{_FARGATE} (Linux/ARM; second-hand: https://www.vantage.sh/blog/fargate-pricing)")
FARGATE_ARM_GB_HOUR: Final = Price(0.00356, "GB-hour", f"{_FARGATE} (Linux/ARM; second-hand: https://www.vantage.sh/blog/fargate-pricing)")
# Ephemeral storage past the 20 GB every task gets (same two sources).
FARGATE_STORAGE_GB_HOUR: Final = Price(0.000111, "GB-hour", f"{_FARGATE} (ephemeral storage over 20 GB; second-hand: https://www.vantage.sh/blog/fargate-pricing)")
FARGATE_FREE_STORAGE_GIB: Final = 20
# CPU architecture -> (vCPU-hour, GB-hour)
FARGATE_RATES: Final = MappingProxyType(
    {"X86_64": (FARGATE_X86_VCPU_HOUR, FARGATE_X86_GB_HOUR), "ARM64": (FARGATE_ARM_VCPU_HOUR, FARGATE_ARM_GB_HOUR)}
)
FARGATE_PROVIDERS: Final = ("FARGATE", "FARGATE_SPOT")

# NAT gateway, US East: AWS's worked example on the VPC pricing page ("US East
# (Ohio)": $0.045 per hour and $0.045 per GB processed) as transcribed by
# api-evangelist/amazon-vpc (2026-09); us-east-1 second-hand: basavytix.com,
# cloudburn.io, and AWS's agent toolkit (service-optimization.md, 2026-08) give
# the same. us-west-2: cloudpipelines.pages.dev gives the same, not confirmed.
NAT_HOUR: Final = Price(0.045, "hour", "https://aws.amazon.com/vpc/pricing/ (NAT gateway; the page's US East example, second-hand)")
NAT_GB: Final = Price(0.045, "GB", "https://aws.amazon.com/vpc/pricing/ (NAT gateway data processed; the page's US East example, second-hand)")
# Interface endpoints (PrivateLink), per endpoint per zone. Second-hand: AWS's
# agent toolkit (service-optimization.md, "~$0.01/hr/AZ + ~$0.01/GB", 2026-08)
# and usage.ai (2026-05). Gateway endpoints (S3, DynamoDB) cost nothing.
INTERFACE_ENDPOINT_AZ_HOUR: Final = Price(0.01, "hour", "https://aws.amazon.com/privatelink/pricing/ (interface endpoint per AZ; second-hand: https://www.usage.ai/blogs/aws-network-costs/)")
INTERFACE_ENDPOINT_GB: Final = Price(0.01, "GB", "https://aws.amazon.com/privatelink/pricing/ (interface endpoint data processed, first PB; second-hand: https://www.usage.ai/blogs/aws-network-costs/)")

# ElastiCache Serverless. Valkey second-hand (usage.ai, 2026-06, citing pump.co);
# AWS's agent toolkit (amazon-elasticache/references/monitoring/cost-reporting.md,
# 2026-08) confirms the 100 MB minimum and "approximately $6/month" for an idle
# Valkey cache in us-east-1 (0.1 GB x $0.084 x 730 h = $6.13). Redis OSS (and
# Memcached, same rates) from AWS's own Database Blog worked example, which
# also states the 1 GB minimum. Not confirmed for us-east-2 and us-west-2.
_ELASTICACHE: Final = "https://aws.amazon.com/elasticache/pricing/"
_EC_BLOG: Final = "https://aws.amazon.com/blogs/database/unlock-on-demand-cost-optimized-performance-with-amazon-elasticache-serverless/"
VALKEY_SERVERLESS_GB_HOUR: Final = Price(0.084, "GB-hour", f"{_ELASTICACHE} (Serverless, Valkey, data stored; second-hand: https://www.usage.ai/blogs/aws/database-savings-plans/elasticache/serverless-pricing/)")
VALKEY_SERVERLESS_MILLION_ECPUS: Final = Price(0.0023, "million ECPUs", f"{_ELASTICACHE} (Serverless, Valkey; second-hand: https://www.usage.ai/blogs/aws/database-savings-plans/elasticache/serverless-pricing/)")
REDIS_SERVERLESS_GB_HOUR: Final = Price(0.125, "GB-hour", f"{_EC_BLOG} (Serverless, Redis OSS, data stored)")
REDIS_SERVERLESS_MILLION_ECPUS: Final = Price(0.0034, "million ECPUs", f"{_EC_BLOG} (Serverless, Redis OSS)")
# engine -> (GB-hour, million ECPUs, GB metered at least)
SERVERLESS_CACHE_RATES: Final = MappingProxyType(
    {
        "valkey": (VALKEY_SERVERLESS_GB_HOUR, VALKEY_SERVERLESS_MILLION_ECPUS, 0.1),
        "redis": (REDIS_SERVERLESS_GB_HOUR, REDIS_SERVERLESS_MILLION_ECPUS, 1.0),
        "memcached": (REDIS_SERVERLESS_GB_HOUR, REDIS_SERVERLESS_MILLION_ECPUS, 1.0),
    }
)

# EFS, us-east-1, second-hand. Standard (Regional) $0.30/GB-month is also what
# AWS's own (older) copy of aws.amazon.com/efs/pricing shows; One Zone $0.16 and
# Elastic throughput $0.03/GB read, $0.06/GB written from factualminds.com
# (2026-06) and cloudburn.io (2026-03), which agree. Not confirmed for
# us-east-2 and us-west-2.
_EFS: Final = "https://aws.amazon.com/efs/pricing/"
EFS_STANDARD_GB_MONTH: Final = Price(0.30, "GB-month", f"{_EFS} (Standard, Regional)")
EFS_ONE_ZONE_GB_MONTH: Final = Price(0.16, "GB-month", f"{_EFS} (One Zone; second-hand: https://www.factualminds.com/blog/amazon-efs-pricing-throughput-modes-storage-classes/)")
EFS_ELASTIC_READ_GB: Final = Price(0.03, "GB", f"{_EFS} (Elastic throughput, reads; second-hand: https://www.factualminds.com/blog/amazon-efs-pricing-throughput-modes-storage-classes/)")
EFS_ELASTIC_WRITE_GB: Final = Price(0.06, "GB", f"{_EFS} (Elastic throughput, writes; second-hand: https://www.factualminds.com/blog/amazon-efs-pricing-throughput-modes-storage-classes/)")

# CloudWatch. Container Insights (the "enabled" level) is billed as custom
# metrics: docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html
# ("the metrics are charged as custom metrics"). $0.30 per metric-month for the
# first 10,000, second-hand: c3x.dev/blog/aws-cloudwatch-metrics-cost (2026)
# and vantage.sh agree. Alarms: $0.10 per standard-resolution alarm metric, same sources.
CUSTOM_METRIC_MONTH: Final = Price(0.30, "metric-month", "https://aws.amazon.com/cloudwatch/pricing/ (custom metrics, first 10,000; second-hand: https://c3x.dev/blog/aws-cloudwatch-metrics-cost/)")
ALARM_MONTH: Final = Price(0.10, "alarm-month", "https://aws.amazon.com/cloudwatch/pricing/ (standard-resolution alarm metric; second-hand: https://c3x.dev/blog/aws-cloudwatch-metrics-cost/)")
# Metrics Container Insights publishes per cluster, per service and per task
# definition family (the "enabled" level), counted from AWS's table: 11 with
# the ClusterName dimension, 13 with ServiceName, 8 with TaskDefinitionFamily.
# Source: awsdocs/amazon-cloudwatch-user-guide, doc_source/Container-Insights-metrics-ECS.md
# (archived copy of the page above; newer metrics, such as Fargate's
# ephemeral storage ones, make these a lower bound).
CI_METRICS_PER_CLUSTER: Final = 11
CI_METRICS_PER_SERVICE: Final = 13
CI_METRICS_PER_TASK_FAMILY: Final = 8

# Cloud Map: $0.10 per registered resource a month, $1.00 per million discovery
# calls. Read in AWS's Price List data (AWSCloudMap.csv, effective 2025-08-01)
# as mirrored at huggingface.co/datasets/labofsahil/aws-pricing-dataset: the
# rows read (eu-south-2, us-gov-west-1) are all $0.10; the us-east-1 row was
# not in the excerpt. No source says whether the task instances ECS Service
# Connect registers are billed; they are billed here, an upper bound of cents.
# An HTTP namespace makes no Route 53 hosted zone, so it costs nothing itself.
CLOUD_MAP_RESOURCE_MONTH: Final = Price(0.10, "resource-month", "https://aws.amazon.com/cloud-map/pricing/ (registered resource; AWS Price List data, second-hand: https://huggingface.co/datasets/labofsahil/aws-pricing-dataset)")

# Usage the estimate assumes where the plan cannot know it. Printed with each item.
ASSUMED_ALB_LCUS: Final = 1.0
ASSUMED_MODELS_GB: Final = 100.0  # the seed's figure for S3
# The app's logs, in all: one group (aws-ec2) holds them all, several (one per
# ECS service) share them.
ASSUMED_LOGS_GB_PER_MONTH: Final = 10.0
ASSUMED_IMAGES_GB_PER_REPO: Final = 2.0
# Through the NAT gateways, in all: the app's logs on their way to CloudWatch
# (10 GB above; no interface endpoints), ECR API calls, public images and
# Ollama's model pulls from registry.ollama.ai (llama3.2 is ~2 GB, pulled once
# into EFS). ECR's image layers come from S3 through the free gateway endpoint.
ASSUMED_NAT_GB_PER_MONTH: Final = 20.0
ASSUMED_INTERFACE_ENDPOINT_GB_PER_MONTH: Final = 5.0
# The event bus: a few gesture events and answers a second, each published by
# one backend and read by three, at 1 ECPU per KB: about 40 ECPUs a second.
ASSUMED_ECPUS_MILLIONS_PER_MONTH: Final = 100.0
# Ollama's model store: llama3.2 (~2 GB) plus a couple of others.
ASSUMED_EFS_GB: Final = 10.0
# Elastic throughput: a model read at each container start (~2 GB, about ten
# starts a month), and one model pulled (written) a month.
ASSUMED_EFS_READ_GB_PER_MONTH: Final = 20.0
ASSUMED_EFS_WRITE_GB_PER_MONTH: Final = 2.0
# Container Insights' performance log events (one per task and per container a
# minute, about 1 KB each, for about ten tasks).
ASSUMED_CI_LOG_GB_PER_MONTH: Final = 1.0
# A launch template without a root volume size boots with the AMI's (the ECS
# GPU AMI's is 30 GiB: catalog.ECS_GPU_AMI_ROOT_SNAPSHOT_GIB).
ASSUMED_AMI_ROOT_GIB: Final = 30.0
# An ALB holds one public IPv4 address per enabled subnet.
ALB_PUBLIC_IPS_PER_SUBNET: Final = 1
# The seed's AWS figure (shared/seed/deployment-architecture.md).
SEED_MONTHLY: Final = 892.0

FREE: Final = (
    "aws:ec2/vpc:", "aws:ec2/subnet:", "aws:ec2/internetGateway:", "aws:ec2/routeTable",
    "aws:ec2/securityGroup:", "aws:ec2/defaultSecurityGroup:", "aws:vpc/securityGroup", "aws:iam/",
    "aws:ssm/parameter:", "aws:acm/", "aws:lb/targetGroup", "aws:lb/listener:", "aws:ecr/lifecyclePolicy:",
    "aws:ec2/volumeAttachment:", "aws:s3/bucketVersioning:", "aws:s3/bucketServerSide", "aws:s3/bucketLifecycleConfiguration:",
    "aws:s3/bucketPublicAccessBlock:", "aws:s3/bucketOwnershipControls:", "aws:s3/bucketPolicy:",
    "aws:kms/alias:", "aws:route53/record:",
    # ECS: billed through the services (Fargate) and the Auto Scaling group (EC2).
    "aws:ecs/taskDefinition:", "aws:ecs/capacityProvider:", "aws:ecs/clusterCapacityProviders:",
    "aws:ec2/launchTemplate:", "aws:appautoscaling/target:",
    "aws:ec2/route:", "aws:ec2/mainRouteTableAssociation:", "aws:lb/listenerRule:", "aws:ec2/securityGroupRule:",
    "aws:elasticache/user:", "aws:elasticache/userGroup:",
    "aws:efs/mountTarget:", "aws:efs/accessPoint:", "aws:efs/backupPolicy:", "aws:efs/fileSystemPolicy:",
    # Cloud Map bills registered instances and discovery calls, not its services.
    "aws:servicediscovery/service:", "aws:ecr/repositoryPolicy:",
    # Not all of aws:vpc/: its route servers are billed by the hour.
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
        return _log_group(r, plan)
    if r.type == "aws:ecr/repository:Repository":
        return [(f"ECR storage {ASSUMED_IMAGES_GB_PER_REPO:g} GB (assumed)", ECR_GB_MONTH.monthly(ASSUMED_IMAGES_GB_PER_REPO))]
    if r.type == "aws:kms/key:Key":
        return [("KMS customer managed key", KMS_KEY_MONTH.monthly())]
    ecs = _ECS_PRICERS.get(r.type)
    return ecs(r, plan) if ecs is not None else None


def _log_group(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    """The app's assumed log volume, split evenly over the plan's log groups (one per ECS service, or one for all)."""
    groups = max(1, len(plan.of_type(r.type)))
    ingested = ASSUMED_LOGS_GB_PER_MONTH / groups
    days = float(r.inputs.get("retentionInDays") or 3653)
    stored = ingested * days / 30
    assumed = "(assumed)" if groups == 1 else f"(assumed: {ASSUMED_LOGS_GB_PER_MONTH:g} GB/month of app logs over {groups} groups)"
    return [
        (f"CloudWatch Logs ingest {ingested:g} GB/month {assumed}", LOGS_INGEST_GB.monthly(ingested)),
        (f"CloudWatch Logs storage {stored:g} GB ({days:g}-day retention)", LOGS_STORE_GB_MONTH.monthly(stored)),
    ]


# --- ECS: services, their capacity, and what they reach ----------------------


def _strategy_providers(service: RecordedResource, plan: RecordedPlan) -> list[str] | None:
    """The capacity providers a service's tasks run on: its own strategy, else its cluster's default; None if unknown."""
    own = [str(_dict(s).get("capacityProvider")) for s in _list(service.inputs.get("capacityProviderStrategies"))]
    if own:
        return own
    cluster = plan.producer(service.inputs.get("cluster"), "aws:ecs/cluster:Cluster")
    names = {cluster.inputs.get("name"), cluster.state.get("name")} - {None} if cluster is not None else set()
    for defaults in plan.of_type("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"):
        if defaults.inputs.get("clusterName") in names:
            found = [str(_dict(s).get("capacityProvider")) for s in _list(defaults.inputs.get("defaultCapacityProviderStrategies"))]
            return found or None
    return None


def _service(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """Fargate: desired tasks x the task size; on EC2 capacity (the GPU group) nothing: the group bills its instances."""
    i = r.inputs
    launch = i.get("launchType")
    if launch == "EC2":
        return []
    if launch not in (None, "FARGATE"):
        return None  # EXTERNAL (ECS Anywhere) and anything newer: not priced here
    providers = ["FARGATE"] if launch == "FARGATE" else _strategy_providers(r, plan)
    if not providers:
        return None  # no launch type, no strategy, no cluster default: the plan cannot tell
    fargate = [p in FARGATE_PROVIDERS for p in providers]
    if not any(fargate):
        return []
    if not all(fargate):
        return None  # ECS refuses a strategy that mixes Fargate and Auto Scaling group providers
    task = plan.producer(i.get("taskDefinition"), "aws:ecs/taskDefinition:TaskDefinition")
    if task is None:
        return None
    t = task.inputs
    platform = _dict(t.get("runtimePlatform"))
    if str(platform.get("operatingSystemFamily") or "LINUX") != "LINUX":
        return None  # Windows adds a licence fee not priced here
    arch = str(platform.get("cpuArchitecture") or "X86_64")
    rates = FARGATE_RATES.get(arch)
    vcpu, gb = _number(t.get("cpu")) / 1024, _number(t.get("memory")) / 1024
    if rates is None or vcpu <= 0 or gb <= 0:
        return None
    tasks = int(_number(i.get("desiredCount")))
    hourly = vcpu * rates[0].amount + gb * rates[1].amount
    spot = "; FARGATE_SPOT at the on-demand rate, an upper bound" if "FARGATE_SPOT" in providers else ""
    items = [(f"Fargate {tasks} tasks x {vcpu:g} vCPU / {gb:g} GB ({arch}{spot})", Price(hourly, "hour", _FARGATE).monthly(tasks))]
    storage = _number(_dict(t.get("ephemeralStorage")).get("sizeInGiB"), FARGATE_FREE_STORAGE_GIB) - FARGATE_FREE_STORAGE_GIB
    if storage > 0:
        items.append((f"Fargate ephemeral storage {tasks} tasks x {storage:g} GB over the free 20 GB", FARGATE_STORAGE_GB_HOUR.monthly(tasks * storage)))
    network = _dict(i.get("networkConfiguration"))
    if network.get("assignPublicIp") in (True, "ENABLED", "true"):
        items.append((f"public IPv4 addresses x{tasks} (tasks)", PUBLIC_IPV4_HOUR.monthly(tasks)))
    return items


def _launch_template(group: RecordedResource, plan: RecordedPlan) -> tuple[RecordedResource | None, str | None, str]:
    """An Auto Scaling group's launch template, the instance type it launches, and a note on Spot."""
    i = group.inputs
    mixed = _dict(i.get("mixedInstancesPolicy"))
    if mixed:
        spec = _dict(_dict(mixed.get("launchTemplate")).get("launchTemplateSpecification"))
        ref = spec.get("launchTemplateId") or spec.get("launchTemplateName")
        overrides = [_dict(o).get("instanceType") for o in _list(_dict(mixed.get("launchTemplate")).get("overrides"))]
        on_demand = _number(_dict(mixed.get("instancesDistribution")).get("onDemandPercentageAboveBaseCapacity"), 100)
        note = ", Spot share billed on-demand: an upper bound" if on_demand < 100 else ""
    else:
        spec = _dict(i.get("launchTemplate"))
        ref = spec.get("id") or spec.get("name")
        overrides, note = [], ""
    template = plan.producer(ref, "aws:ec2/launchTemplate:LaunchTemplate")
    # The group launches the first override it can, so the first one is what it bills at most.
    kind = next((str(o) for o in overrides if o), None) or (str(template.inputs.get("instanceType")) if template is not None else None)
    return template, kind, note


def _auto_scaling_group(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """maxSize instances of the launch template's type, with their root volumes.

    The ECS capacity provider's managed scaling keeps as many GPU instances as
    GPU tasks, and the stack sets maxSize to that count, so maxSize is what runs.
    """
    template, kind, note = _launch_template(r, plan)
    table = INSTANCE_HOURLY.get(_region(plan))
    hourly = table.get(kind) if table is not None and kind is not None else None
    if template is None or hourly is None:
        return None
    count = int(_number(r.inputs.get("maxSize")))
    mappings = _list(template.inputs.get("blockDeviceMappings"))
    size = _number(_dict(_dict(mappings[0]).get("ebs")).get("volumeSize")) if mappings else 0.0
    root = f"EBS gp3 {size:g} GB x{count} (root volumes)" if size else f"EBS gp3 {ASSUMED_AMI_ROOT_GIB:g} GB x{count} (root volumes, the AMI's size, assumed)"
    return [
        (f"{kind} on-demand {_region(plan)} x{count} (ASG max{note})", hourly.monthly(count)),
        (root, EBS_GP3_GB_MONTH.monthly(count * (size or ASSUMED_AMI_ROOT_GIB))),
    ]


def _share(total: float, r: RecordedResource, plan: RecordedPlan) -> tuple[float, str]:
    """`total` split evenly over the plan's resources of `r`'s type, and how the SKU says so."""
    count = max(1, len(plan.of_type(r.type)))
    return total / count, (f" over {count}" if count > 1 else "")


def _nat_gateway(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    gb, over = _share(ASSUMED_NAT_GB_PER_MONTH, r, plan)
    why = f"{ASSUMED_NAT_GB_PER_MONTH:g} GB/month of logs, image and model pulls{over}"
    return [
        (f"NAT gateway {_region(plan)}", NAT_HOUR.monthly()),
        (f"NAT data processed {gb:g} GB/month (assumed: {why})", NAT_GB.monthly(gb)),
    ]


def _eip(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    return [("public IPv4 address (Elastic IP)", PUBLIC_IPV4_HOUR.monthly())]


def _vpc_endpoint(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    kind = str(r.inputs.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        return []  # S3 and DynamoDB gateway endpoints: no hourly or data charge
    if kind != "Interface":
        return None  # GatewayLoadBalancer, Resource, ServiceNetwork: not priced here
    zones = len(_list(r.inputs.get("subnetIds")))
    service = str(r.inputs.get("serviceName") or "").rsplit(".", 1)[-1] or "?"
    gb = ASSUMED_INTERFACE_ENDPOINT_GB_PER_MONTH
    return [
        (f"interface endpoint {service} x{zones} AZ", INTERFACE_ENDPOINT_AZ_HOUR.monthly(zones)),
        (f"interface endpoint data {gb:g} GB/month (assumed)", INTERFACE_ENDPOINT_GB.monthly(gb)),
    ]


def _serverless_cache(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """The metered minimum of data (or the cache's own minimum, if higher), and an assumed request volume."""
    engine = str(r.inputs.get("engine") or "").lower()
    rates = SERVERLESS_CACHE_RATES.get(engine)
    if rates is None:
        return None
    per_gb_hour, per_million_ecpus, least_gb = rates
    limits = _dict(r.inputs.get("cacheUsageLimits"))
    storage = _dict(limits.get("dataStorage"))
    floor = _number(storage.get("minimum")) / (1000 if str(storage.get("unit") or "GB") == "MB" else 1)
    stored = max(least_gb, floor)
    per_second = max((_number(_dict(e).get("minimum")) for e in _list(limits.get("ecpuPerSeconds"))), default=0.0)
    ecpus = max(ASSUMED_ECPUS_MILLIONS_PER_MONTH, per_second * 3600 * 730 / 1e6)
    name = {"valkey": "Valkey", "redis": "Redis OSS", "memcached": "Memcached"}[engine]
    why = "the metered minimum" if stored == least_gb else "the cache's minimum"
    return [
        (f"ElastiCache Serverless {name} {stored:g} GB stored ({why})", per_gb_hour.monthly(stored)),
        (f"ElastiCache Serverless {name} {ecpus:g} million ECPUs/month (assumed: a few events a second)", per_million_ecpus.monthly(ecpus)),
    ]


def _file_system(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """Assumed stored GB at the storage class's price, plus Elastic throughput's per-GB reads and writes."""
    i = r.inputs
    one_zone = bool(i.get("availabilityZoneName"))
    per_gb, kind = (EFS_ONE_ZONE_GB_MONTH, "One Zone") if one_zone else (EFS_STANDARD_GB_MONTH, "Standard")
    mode = str(i.get("throughputMode") or "bursting")
    if mode not in ("bursting", "elastic"):
        return None  # provisioned throughput bills MB/s-months, not priced here
    items = [(f"EFS {kind} {ASSUMED_EFS_GB:g} GB (assumed: the model store)", per_gb.monthly(ASSUMED_EFS_GB))]
    if mode == "elastic":
        items += [
            (f"EFS Elastic reads {ASSUMED_EFS_READ_GB_PER_MONTH:g} GB/month (assumed: model loads)", EFS_ELASTIC_READ_GB.monthly(ASSUMED_EFS_READ_GB_PER_MONTH)),
            (f"EFS Elastic writes {ASSUMED_EFS_WRITE_GB_PER_MONTH:g} GB/month (assumed: a model pull)", EFS_ELASTIC_WRITE_GB.monthly(ASSUMED_EFS_WRITE_GB_PER_MONTH)),
        ]
    return items


def _on_cluster(service: RecordedResource, cluster: RecordedResource, plan: RecordedPlan, clusters: int) -> bool:
    found = plan.producer(service.inputs.get("cluster"), "aws:ecs/cluster:Cluster")
    return found is cluster or (found is None and clusters == 1)


def _cluster(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    """Container Insights: its custom metrics for the cluster, its services and task families, and its performance logs."""
    level = next((str(_dict(s).get("value")) for s in _list(r.inputs.get("settings")) if _dict(s).get("name") == "containerInsights"), "disabled")
    if level == "disabled":
        return []
    if level != "enabled":
        return None  # "enhanced": billed per observation at a rate no stored source gave
    clusters = len(plan.of_type(r.type))
    services = [s for s in plan.of_type("aws:ecs/service:Service") if _on_cluster(s, r, plan, clusters)]
    families = set()
    for s in services:
        task = plan.producer(s.inputs.get("taskDefinition"), "aws:ecs/taskDefinition:TaskDefinition")
        families.add(task.inputs.get("family") if task is not None else s.inputs.get("taskDefinition"))
    metrics = CI_METRICS_PER_CLUSTER + CI_METRICS_PER_SERVICE * len(services) + CI_METRICS_PER_TASK_FAMILY * len(families)
    gb = ASSUMED_CI_LOG_GB_PER_MONTH
    return [
        (
            f"Container Insights {metrics} custom metrics (1 cluster, {len(services)} services, {len(families)} task families)",
            CUSTOM_METRIC_MONTH.monthly(metrics),
        ),
        (f"Container Insights performance logs {gb:g} GB/month (assumed)", LOGS_INGEST_GB.monthly(gb)),
    ]


def _registers_in(service: RecordedResource, namespace: RecordedResource) -> bool:
    connect = _dict(service.inputs.get("serviceConnectConfiguration"))
    ref = connect.get("namespace")
    names = {namespace.id, *(v for v in (*namespace.state.values(), namespace.inputs.get("name")) if isinstance(v, str))}
    return bool(connect.get("enabled", True)) and ref in names


def _namespace(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    """Cloud Map: each task of a Service Connect server service is an instance of each of its discovery names."""
    instances = 0
    for service in plan.of_type("aws:ecs/service:Service"):
        if _registers_in(service, r):
            names = len(_list(_dict(service.inputs.get("serviceConnectConfiguration")).get("services")))
            instances += int(_number(service.inputs.get("desiredCount"))) * names
    if not instances:
        return []
    return [(f"Cloud Map {instances} registered task instances (Service Connect)", CLOUD_MAP_RESOURCE_MONTH.monthly(instances))]


def _scaling_policy(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]]:
    """Target tracking makes its own CloudWatch alarms: one to scale out, one to scale in unless that is off."""
    if r.inputs.get("policyType") != "TargetTrackingScaling":
        return []  # step scaling uses alarms the program declares (and that are priced as such)
    config = _dict(r.inputs.get("targetTrackingScalingPolicyConfiguration"))
    alarms = 1 if config.get("disableScaleIn") else 2
    return [(f"CloudWatch alarms x{alarms} (target tracking)", ALARM_MONTH.monthly(alarms))]


def _alarm(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    if _number(r.inputs.get("period"), 60) < 60:
        return None  # high-resolution alarms: not priced here
    queries = _list(r.inputs.get("metricQueries"))
    metrics = sum(1 for q in queries if _dict(q).get("metric")) or 1
    return [(f"CloudWatch alarm x{metrics} metrics", ALARM_MONTH.monthly(metrics))]


_ECS_PRICERS: Final = MappingProxyType(
    {
        "aws:ecs/service:Service": _service,
        "aws:autoscaling/group:Group": _auto_scaling_group,
        "aws:ec2/natGateway:NatGateway": _nat_gateway,
        "aws:ec2/eip:Eip": _eip,
        "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
        "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache,
        "aws:efs/fileSystem:FileSystem": _file_system,
        "aws:ecs/cluster:Cluster": _cluster,
        "aws:servicediscovery/httpNamespace:HttpNamespace": _namespace,
        "aws:appautoscaling/policy:Policy": _scaling_policy,
        "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    }
)


def gpus(r: RecordedResource, plan: RecordedPlan) -> int:
    if r.type == "aws:ec2/instance:Instance":
        return catalog.gpus_of(str(r.inputs.get("instanceType")))
    if r.type == "aws:autoscaling/group:Group":
        _, kind, _ = _launch_template(r, plan)
        return int(_number(r.inputs.get("maxSize"))) * catalog.gpus_of(str(kind)) if kind else 0
    return 0


def _all(*groups: Iterable[Price]) -> tuple[Price, ...]:
    return tuple(p for group in groups for p in group)


PRICER = Pricer(
    price=price,
    free=FREE,
    prices=_all(
        (p for table in INSTANCE_HOURLY.values() for p in table.values()),
        (ALB_HOUR, ALB_LCU_HOUR, EBS_GP3_GB_MONTH, PUBLIC_IPV4_HOUR, S3_STANDARD_GB_MONTH),
        (LOGS_INGEST_GB, LOGS_STORE_GB_MONTH, ECR_GB_MONTH, KMS_KEY_MONTH),
        (FARGATE_X86_VCPU_HOUR, FARGATE_X86_GB_HOUR, FARGATE_ARM_VCPU_HOUR, FARGATE_ARM_GB_HOUR, FARGATE_STORAGE_GB_HOUR),
        (NAT_HOUR, NAT_GB, INTERFACE_ENDPOINT_AZ_HOUR, INTERFACE_ENDPOINT_GB),
        (VALKEY_SERVERLESS_GB_HOUR, VALKEY_SERVERLESS_MILLION_ECPUS, REDIS_SERVERLESS_GB_HOUR, REDIS_SERVERLESS_MILLION_ECPUS),
        (EFS_STANDARD_GB_MONTH, EFS_ONE_ZONE_GB_MONTH, EFS_ELASTIC_READ_GB, EFS_ELASTIC_WRITE_GB),
        (CUSTOM_METRIC_MONTH, ALARM_MONTH, CLOUD_MAP_RESOURCE_MONTH),
    ),
    seed_monthly=SEED_MONTHLY,
    gpus=gpus,
)
