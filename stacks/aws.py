"""The `aws` stack kind: ECS, with Fargate for the frontend, backend and vision and a GPU capacity provider for Ollama.

Composes `infra.aws.EcsDeployment` from the validated config and owns the
stack outputs. Creates nothing itself.
"""

from __future__ import annotations

import pulumi

from infra import spec
from infra.aws.config import AwsEcsConfig
from infra.aws.ecs_deployment import EcsDeployment, EcsDeploymentArgs
from infra.aws.registry import image_source
from infra.common.naming import tags


def deploy(cfg: AwsEcsConfig) -> None:
    stack = pulumi.get_stack()
    app = EcsDeployment(
        "dixi",
        EcsDeploymentArgs(
            stack=stack,
            region=cfg.region,
            gpu_instance_type=cfg.gpu_instance_type,
            frontend_tasks=cfg.frontend_tasks,
            backend_tasks=cfg.backend_tasks,
            backend_max_tasks=cfg.backend_max_tasks,
            nat_gateways=cfg.nat_gateways,
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
    pulumi.export("cluster", app.cluster_name)
    pulumi.export("gpuAutoScalingGroup", app.gpu_auto_scaling_group)
    pulumi.export("services", app.service_names)
    pulumi.export("logGroups", app.log_groups)
    pulumi.export("modelsBucket", app.models_bucket)
    pulumi.export("modelStore", app.model_store_id)
    pulumi.export("eventBus", app.event_bus_endpoint)
    pulumi.export("dataKeptOnDestroy", cfg.retain_data)
    pulumi.export("repositories", app.repository_urls)
    pulumi.export("imageSources", {s.name: "{}: {}".format(*image_source(s, cfg.images)) for s in spec.SERVICES})
    if cfg.domain:
        pulumi.export("certificateValidationRecords", app.certificate_validation_records)
