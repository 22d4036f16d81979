"""The `aws-ec2` stack kind: the whole app on one GPU host with Docker Compose behind an ALB.

Composes `infra.aws.Ec2DockerDeployment` from the validated config and owns
the stack outputs. Creates nothing itself.
"""

from __future__ import annotations

import pulumi

from infra import spec
from infra.aws.config import AwsEc2Config
from infra.aws.ec2_docker import Ec2DockerDeployment, Ec2DockerDeploymentArgs
from infra.aws.registry import image_source
from infra.common.naming import tags


def deploy(cfg: AwsEc2Config) -> None:
    stack = pulumi.get_stack()
    app = Ec2DockerDeployment(
        "dixi",
        Ec2DockerDeploymentArgs(
            stack=stack,
            region=cfg.region,
            instance_type=cfg.gpu_instance_type,
            root_volume_gib=cfg.root_volume_gib,
            data_volume_gib=cfg.data_volume_gib,
            domain=cfg.domain,
            route53_zone_id=cfg.route53_zone_id,
            ollama_model=cfg.ollama_model,
            vision_gpu=cfg.vision_gpu,
            retain_data=cfg.retain_data,
            log_retention_days=cfg.log_retention_days,
            vpc_cidr=cfg.vpc_cidr,
            prebuilt_images=cfg.images,
            tags=tags(stack, cfg.stack_kind),
        ),
    )
    pulumi.export("url", app.url)
    pulumi.export("loadBalancerDnsName", app.load_balancer_dns_name)
    pulumi.export("instanceId", app.instance_id)
    pulumi.export("adminSession", app.admin_command)
    pulumi.export("modelsBucket", app.models_bucket)
    pulumi.export("dataVolumeId", app.data_volume_id)
    pulumi.export("dataKeptOnDestroy", cfg.retain_data)
    pulumi.export("logGroup", app.log_group)
    pulumi.export("repositories", app.repository_urls)
    pulumi.export("imageSources", {s.name: "{}: {}".format(*image_source(s, cfg.images)) for s in spec.SERVICES})
    if cfg.domain:
        pulumi.export("certificateValidationRecords", app.certificate_validation_records)
