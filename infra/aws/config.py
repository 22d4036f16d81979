"""Config models of the AWS stack kinds: what `aws-ec2` and `aws` (ECS) read.

`AwsConfig` holds what any AWS stack reads (region, network range, logs,
DNS, the GPU instance type); `AwsEc2Config` adds the GPU host of `aws-ec2`,
`AwsEcsConfig` the task counts and the egress of `aws`. Limits come from
`infra.aws.catalog`, which says where each comes from.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from infra.aws import catalog
from infra.config import Bad, DixiConfig, int_in, one_of, registry_host, suggest, text

_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,32}$")


def _retention(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number not in catalog.LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in catalog.LOG_RETENTION_DAYS)
        raise Bad(f"is not a CloudWatch Logs retention period; allowed days: {allowed}")
    return number


def _cidr(value: Any) -> str:
    found = text(value)
    try:
        network = ipaddress.IPv4Network(found, strict=True)
    except ValueError:
        raise Bad("is not an IPv4 network; use a /16 to /24 private range like '10.20.0.0/16'") from None
    # A VPC's CIDR block is /16 to /28; the two subnets are /20s carved from a /16, never smaller than /28.
    if not network.is_private or not 16 <= network.prefixlen <= 24:
        raise Bad("must be a private IPv4 range from /16 to /24, like '10.20.0.0/16'")
    return str(network)


def _zone_id(value: Any) -> str | None:
    found = text(value)
    if not found:
        return None
    if not _ZONE_ID.match(found):
        raise Bad("is not a Route 53 hosted zone id (like 'Z0123456789ABCDEFGHIJ'), or '' to add DNS records yourself")
    return found


def _instance_type(value: Any) -> str:
    found = text(value)
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[0-9a-z]+", found):
        raise Bad("is not an EC2 instance type (like 'g4dn.xlarge')")
    if found not in catalog.GPU_TYPES:
        raise Bad(f"is not a GPU instance type this stack can run and price; {suggest(found, tuple(catalog.GPU_TYPES))}")
    return found


class AwsConfig(DixiConfig):
    """What every AWS stack kind reads."""

    region: Annotated[str, one_of(catalog.REGIONS, "a region this stack can run and price")] = Field(alias="aws:region")
    log_retention_days: Annotated[int, BeforeValidator(_retention)] = Field(alias="dixi:logRetentionDays")
    vpc_cidr: Annotated[str, BeforeValidator(_cidr)] = Field(alias="dixi:vpcCidr")
    route53_zone_id: Annotated[str | None, BeforeValidator(_zone_id)] = Field(alias="dixi:route53ZoneId")
    gpu_instance_type: Annotated[str, BeforeValidator(_instance_type)] = Field(alias="dixi:gpuInstanceType")

    @property
    def location(self) -> str:
        return self.region

    @property
    def gpus(self) -> int:
        return catalog.gpus_of(self.gpu_instance_type)

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures = super().cross_checks()
        if self.route53_zone_id and not self.domain:
            failures.append(("dixi:route53ZoneId", self.route53_zone_id, "is set but dixi:domain is empty; set the domain the zone serves, or clear the zone"))
        for service, reference in sorted(self.images.items()):
            host = registry_host(reference)
            if host not in catalog.PUBLIC_REGISTRIES and not catalog.ECR_REGISTRY.match(host):
                failures.append(
                    (
                        "dixi:images",
                        f"{service}={reference}",
                        f"pulls from {host}, which the host cannot log in to; use an ECR repository "
                        f"(<account>.dkr.ecr.<region>.amazonaws.com/...) or a public image on {', '.join(catalog.PUBLIC_REGISTRIES)}",
                    )
                )
        return failures


class AwsEc2Config(AwsConfig):
    """`aws-ec2`: the whole app on one GPU host with Docker Compose behind an ALB."""

    stack_kind: Literal["aws-ec2"] = Field(alias="dixi:target")
    root_volume_gib: Annotated[
        int, int_in(catalog.GPU_AMI_ROOT_SNAPSHOT_GIB, catalog.GP3_MAX_GIB, "the GPU image's root snapshot is 75 GiB; gp3 volumes end at 16 TiB")
    ] = Field(alias="dixi:rootVolumeGiB")
    data_volume_gib: Annotated[int, int_in(20, catalog.GP3_MAX_GIB, "gp3 volumes end at 16 TiB")] = Field(alias="dixi:dataVolumeGiB")


# ECS's default quota of tasks per service is 5000; far past what one ALB
# target group of web tasks needs. The bounds below keep a typo (30 for 3)
# from becoming a bill: raise them here if you mean it.
MAX_TASKS = 20


class AwsEcsConfig(AwsConfig):
    """`aws`: ECS with Fargate for the web tier and vision, a GPU capacity provider for Ollama, one ALB."""

    stack_kind: Literal["aws"] = Field(alias="dixi:target")
    frontend_tasks: Annotated[int, int_in(1, MAX_TASKS)] = Field(alias="dixi:frontendTasks")
    backend_tasks: Annotated[int, int_in(1, MAX_TASKS)] = Field(alias="dixi:backendTasks")
    backend_max_tasks: Annotated[int, int_in(1, MAX_TASKS)] = Field(alias="dixi:backendMaxTasks")
    nat_gateways: Annotated[int, int_in(1, 2, "one shared NAT gateway, or one in each of the two zones")] = Field(alias="dixi:natGateways")

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures = super().cross_checks()
        if self.backend_max_tasks < self.backend_tasks:
            failures.append(
                ("dixi:backendMaxTasks", self.backend_max_tasks, f"is below dixi:backendTasks ({self.backend_tasks}); autoscaling runs between the two, so set it to {self.backend_tasks} or more")
            )
        return failures
