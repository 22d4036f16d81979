"""`Ec2DockerDeployment`: the whole app on one GPU host with Docker Compose, behind an ALB.

The seed's "EC2 + Docker" picture, composed from the AWS components (each one
job, each reusable by the ECS stack):
- `Network`: a VPC over two zones, the host's zone one that offers its type;
- `ImageRegistry`: ECR repositories and the images `pulumi up` builds;
- `ModelsBucket`: vision's models, kept on destroy unless `retain_data` is false;
- `StackSecret`: the gesture token, generated, in SSM under a key of the stack's own;
- `PublicAlb`: the internet reaches the host's frontend port through it;
- `GpuHost`: the host, its role, its firewall and its data volume.
Itself it creates the CloudWatch log group the containers write to (Docker's
awslogs driver), the compose file rendered from the spec, the boot steps, and
the attachment of the host to the load balancer's target group. Physical
names (`/<name>/<stack>` for the log group and the token's parameter path)
start with the component's name, so two deployments in one stack never collide.

The host's role allows exactly: log in to ECR and pull the repositories it
runs images from; list and read the models bucket; create streams in and
write to the stack's log group; read the token parameter and decrypt it with
the stack's key, through SSM only; plus Session Manager's own actions.

Left out: DNS records unless a Route 53 zone is configured, SSH keys (admin
is through Session Manager), autoscaling (one host runs one of each service).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.lb as lb
from pulumi import Output, ResourceOptions

from infra import spec
from infra.aws import boot
from infra.aws.gpu_host import GpuHost, GpuHostArgs
from infra.aws.load_balancer import AlbRoute, PublicAlb, PublicAlbArgs
from infra.aws.network import Network, NetworkArgs, zones_offering
from infra.aws.registry import ImageRegistry, ImageRegistryArgs, pull_statements
from infra.aws.secret import gesture_token, reader_statements
from infra.aws.storage import ModelsBucket, ModelsBucketArgs
from infra.common import compose

FRONTEND_HOST_PORT = 80


@dataclass(frozen=True)
class Ec2DockerDeploymentArgs:
    stack: str
    region: str
    instance_type: str
    root_volume_gib: int
    data_volume_gib: int
    domain: str | None
    route53_zone_id: str | None
    ollama_model: str
    vision_gpu: bool
    retain_data: bool
    log_retention_days: int
    vpc_cidr: str
    prebuilt_images: Mapping[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def host_statements(
    pull_repository_arns: Sequence[str], bucket_arn: str, log_group_arn: str, parameter_arn: str, key_arn: str, region: str
) -> list[dict[str, Any]]:
    """What the host's work needs, as IAM statements (Session Manager's are added by `GpuHost`)."""
    statements = pull_statements(pull_repository_arns)
    statements += [
        {"Sid": "ModelsList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
        {"Sid": "ModelsRead", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/*"},
        # Docker's awslogs driver needs only these two (docs.docker.com, awslogs driver: credentials).
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{log_group_arn}:*"},
        *reader_statements(parameter_arn, key_arn, region, sid="GestureToken"),
    ]
    return statements


class Ec2DockerDeployment(pulumi.ComponentResource):
    url: Output[str]
    load_balancer_dns_name: Output[str]
    instance_id: Output[str]
    admin_command: Output[str]
    models_bucket: Output[str]
    data_volume_id: Output[str]
    log_group: Output[str]
    repository_urls: dict[str, Output[str]]
    certificate_validation_records: Output[list[dict[str, str]]]

    def __init__(self, name: str, args: Ec2DockerDeploymentArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:Ec2DockerDeployment", name, None, opts)
        child = ResourceOptions(parent=self)
        tags = dict(args.tags)

        network = Network(
            f"{name}-net", NetworkArgs(cidr=args.vpc_cidr, tags=tags, preferred_zones=zones_offering(args.instance_type, self)), opts=child
        )
        registry = ImageRegistry(f"{name}-images", ImageRegistryArgs(prebuilt=args.prebuilt_images, tags=tags), opts=child)
        bucket = ModelsBucket(f"{name}-models", ModelsBucketArgs(retain=args.retain_data, tags=tags), opts=child)
        token = gesture_token(name, args.stack, tags, self)
        log_group = cloudwatch.LogGroup(
            f"{name}-logs", name=f"/{name}/{args.stack}", retention_in_days=args.log_retention_days, tags=tags, opts=child
        )
        web = PublicAlb(
            f"{name}-web",
            PublicAlbArgs(
                vpc_id=network.vpc_id,
                vpc_cidr=network.cidr,
                subnet_ids=network.public_subnet_ids,
                routes=(AlbRoute("frontend", FRONTEND_HOST_PORT, spec.FRONTEND.readiness.path),),
                domain=args.domain,
                route53_zone_id=args.route53_zone_id,
                tags=tags,
                wait_for=[network],
            ),
            opts=child,
        )

        layout = compose.HostLayout(frontend_host_port=FRONTEND_HOST_PORT)
        logging = Output.from_input({"driver": "awslogs", "options": {"awslogs-group": log_group.name, "awslogs-region": args.region}})
        compose_yaml = Output.all(Output.all(**registry.refs), logging).apply(
            lambda v: compose.dump(compose.render(v[0], args.ollama_model, v[1], layout, vision_gpu=args.vision_gpu))
        )
        models_dir = f"{layout.data_dir}/{spec.VISION.volumes[0].name}"
        steps = Output.all(registry.pull_hosts, bucket.bucket_name, token.parameter_name).apply(
            lambda v: boot.boot_steps(args.region, list(v[0]), v[1], v[2], models_dir)
        )
        statements = Output.all(registry.pull_repository_arns, bucket.arn, log_group.arn, token.parameter_arn, token.key_arn).apply(
            lambda v: host_statements(v[0], v[1], v[2], v[3], v[4], args.region)
        )
        host = GpuHost(
            f"{name}-gpu",
            GpuHostArgs(
                instance_type=args.instance_type,
                root_volume_gib=args.root_volume_gib,
                data_volume_gib=args.data_volume_gib,
                retain_data=args.retain_data,
                vpc_id=network.vpc_id,
                subnet_id=network.public_subnet_ids[0],
                zone=network.public_subnet_zones[0],
                ingress_port=FRONTEND_HOST_PORT,
                ingress_from_security_group=web.security_group_id,
                policy_statements=statements,
                compose_yaml=compose_yaml,
                boot_steps=steps,
                on_failure=log_group.name.apply(lambda group: boot.report_failure(args.region, group)),
                data_dirs=[(f"{layout.data_dir}/{v.name}", s.run_as_uid) for s in spec.SERVICES for v in s.volumes],
                tags=tags,
            ),
            opts=child,
        )
        lb.TargetGroupAttachment(
            f"{name}-frontend",
            target_group_arn=web.target_group_arns["frontend"],
            target_id=host.instance_id,
            port=FRONTEND_HOST_PORT,
            opts=child,
        )

        self.url = web.url
        self.load_balancer_dns_name = web.dns_name
        self.instance_id = host.instance_id
        self.admin_command = host.instance_id.apply(lambda i: f"aws ssm start-session --region {args.region} --target {i}")
        self.models_bucket = bucket.bucket_name
        self.data_volume_id = host.data_volume_id
        self.log_group = log_group.name
        self.repository_urls = registry.repository_urls
        self.certificate_validation_records = web.certificate_validation_records
        self.register_outputs(
            {
                "url": self.url,
                "loadBalancerDnsName": self.load_balancer_dns_name,
                "instanceId": self.instance_id,
                "adminCommand": self.admin_command,
                "modelsBucket": self.models_bucket,
                "dataVolumeId": self.data_volume_id,
                "logGroup": self.log_group,
                "repositoryUrls": self.repository_urls,
                "certificateValidationRecords": self.certificate_validation_records,
            }
        )
