"""`Ec2DockerDeployment`: the whole app on one GPU host with Docker Compose, behind an ALB.

The seed's "EC2 + Docker" picture. Creates, as children:
- a `Network` (VPC over two zones) and an `ImageRegistry` (ECR + image builds);
- the models bucket (versioned, SSE-S3 encrypted, public access blocked, TLS
  only), kept in the account on `pulumi destroy` unless `retain_data` is false;
- a CloudWatch log group the containers write to (Docker's awslogs driver);
- the gesture token: a random password stored as an SSM SecureString, which
  the host reads at boot (it is never in the user data);
- an IAM role and instance profile allowing exactly: pull from the stack's ECR
  repositories, read the models bucket, write the log group, read the token
  parameter, plus AWS's managed Session Manager policy for admin access;
- the GPU host: AMI from the public SSM parameter of AWS's GPU Deep Learning
  base image, IMDSv2 required with a hop limit of 1 (containers cannot reach
  the instance's credentials), encrypted gp3 root volume, cloud-init user data
  rendered by `infra.common`;
- the data volume (encrypted gp3, mounted at /var/lib/dixi: Ollama's model
  store, the synced vision models, the backend's logs). It is its own
  resource so it outlives the host: a replaced host (new image digests change
  the user data, which replaces the host) re-attaches it and finds its models,
  and `pulumi destroy` keeps it unless `retain_data` is false;
- the ALB: HTTPS with an ACM certificate and an HTTP->HTTPS redirect when a
  domain is set, plain HTTP otherwise; it forwards to the host's frontend port.

Security groups: the internet reaches the ALB on 80 (and 443 with a domain);
the ALB reaches the host's frontend port only; nothing outside the host
reaches the backend, vision or Ollama ports.

Left out: DNS records (the user points the domain at `loadBalancerDnsName`
and adds the certificate's validation record), SSH keys (admin is through
Session Manager), autoscaling (one host runs one of each service).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws.acm as acm
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.ebs as ebs
import pulumi_aws.ec2 as ec2
import pulumi_aws.iam as iam
import pulumi_aws.lb as lb
import pulumi_aws.s3 as s3
import pulumi_aws.ssm as ssm
import pulumi_aws.vpc as vpc
import pulumi_random
from pulumi import Output, ResourceOptions

from infra import spec
from infra.aws.network import Network, NetworkArgs
from infra.aws.registry import ImageRegistry, ImageRegistryArgs
from infra.common import cloudinit, compose

# AWS's Deep Learning Base AMI: Ubuntu 22.04 with the NVIDIA driver, Docker,
# the NVIDIA container toolkit and the AWS CLI already installed.
GPU_AMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"
SSM_MANAGED_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
FRONTEND_HOST_PORT = 80
WORLD_V4, WORLD_V6 = "0.0.0.0/0", "::/0"


@dataclass(frozen=True)
class Ec2DockerDeploymentArgs:
    stack: str
    region: str
    instance_type: str
    root_volume_gib: int
    data_volume_gib: int
    domain: str | None
    ollama_model: str
    retain_data: bool
    log_retention_days: int
    vpc_cidr: str
    prebuilt_images: Mapping[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.root_volume_gib < 60:
            raise ValueError("root_volume_gib must be at least 60: the GPU image alone takes about 45 GiB")


def instance_policy(
    repository_arns: list[str], bucket_arn: str, log_group_arn: str, parameter_arn: str
) -> str:
    """The host role's own permissions, as an IAM policy document."""
    statements = [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "EcrPull",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": sorted(repository_arns),
        },
        {"Sid": "ModelsList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
        {"Sid": "ModelsRead", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/*"},
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": f"{log_group_arn}:*",
        },
        {"Sid": "GestureToken", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameter_arn},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def nvme_device(volume_id: str) -> str:
    """Where a Nitro instance (every GPU type we run) shows an EBS volume: by its id, not /dev/sdf."""
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


def boot_steps(region: str, registry_host: str, bucket: str, parameter: str, models_dir: str) -> list[str]:
    """AWS's part of the boot script: token from SSM, ECR login, models from S3."""
    return [
        "command -v aws >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli; }",
        f'token="$(aws ssm get-parameter --region {region} --name {parameter} --with-decryption '
        "--query Parameter.Value --output text)\"",
        f"(umask 077 && printf '{spec.GESTURE_TOKEN_ENV}=%s\\n' \"$token\" > {compose.SECRETS_ENV_FILE})",
        "unset token",
        f"aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {registry_host}",
        f"aws s3 sync --only-show-errors s3://{bucket} {models_dir}",
    ]


class Ec2DockerDeployment(pulumi.ComponentResource):
    url: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    models_bucket: pulumi.Output[str]
    data_volume_id: pulumi.Output[str]
    log_group: pulumi.Output[str]

    def __init__(self, name: str, args: Ec2DockerDeploymentArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:Ec2DockerDeployment", name, None, opts)
        child = ResourceOptions(parent=self)
        tags = {**args.tags}

        offered = ec2.get_instance_type_offerings_output(
            location_type="availability-zone",
            filters=[ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[args.instance_type])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        network = Network(
            f"{name}-net",
            NetworkArgs(cidr=args.vpc_cidr, tags=tags, preferred_zones=offered.locations),
            opts=child,
        )
        registry = ImageRegistry(
            f"{name}-images", ImageRegistryArgs(prebuilt=args.prebuilt_images, tags=tags), opts=child
        )
        bucket = self._models_bucket(name, args, tags)
        log_group = cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/dixi/{args.stack}",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        token = pulumi_random.RandomPassword(f"{name}-gesture-token", length=40, special=False, opts=child)
        parameter = ssm.Parameter(
            f"{name}-gesture-token",
            name=f"/dixi/{args.stack}/gesture-token",
            type="SecureString",
            value=token.result,
            description="Shared token vision uses to post gesture events to the backend",
            tags=tags,
            opts=child,
        )
        profile = self._instance_profile(name, registry, bucket, log_group, parameter, tags)
        alb_sg, host_sg = self._security_groups(name, args, network, tags)

        layout = compose.HostLayout(frontend_host_port=FRONTEND_HOST_PORT)
        logging = Output.from_input(
            {"driver": "awslogs", "options": {"awslogs-group": log_group.name, "awslogs-region": args.region}}
        )
        refs = Output.all(**registry.refs)
        compose_yaml = Output.all(refs, logging).apply(
            lambda v: compose.dump(compose.render(v[0], args.ollama_model, v[1], layout))
        )
        models_dir = f"{layout.data_dir}/{spec.VISION.volumes[0].name}"
        data_dirs = [(f"{layout.data_dir}/{v.name}", s.run_as_uid) for s in spec.SERVICES for v in s.volumes]
        data_volume = ebs.Volume(
            f"{name}-data",
            availability_zone=network.public_subnet_zones[0],
            size=args.data_volume_gib,
            type="gp3",
            encrypted=True,
            tags={**tags, "Name": f"{name}-data"},
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain_data),
        )
        script = Output.all(registry.registry_host, bucket.bucket, parameter.name, data_volume.id).apply(
            lambda v: cloudinit.boot_script(
                data_dirs,
                boot_steps(args.region, v[0], v[1], v[2], models_dir),
                prepare_storage=cloudinit.data_volume_steps(nvme_device(v[3]), layout.data_dir),
            )
        )
        user_data = Output.all(compose_yaml, script).apply(lambda v: cloudinit.render(v[0], v[1]))

        ami = ssm.get_parameter_output(name=GPU_AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self))
        host = ec2.Instance(
            f"{name}-gpu",
            ami=ami.value,
            instance_type=args.instance_type,
            subnet_id=network.public_subnet_ids[0],
            vpc_security_group_ids=[host_sg.id],
            iam_instance_profile=profile.name,
            associate_public_ip_address=True,
            metadata_options=ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            root_block_device=ec2.InstanceRootBlockDeviceArgs(
                volume_size=args.root_volume_gib, volume_type="gp3", encrypted=True, delete_on_termination=True
            ),
            user_data=user_data,
            user_data_replace_on_change=True,
            tags={**tags, "Name": f"{name}-gpu"},
            # A newer AMI is published every few weeks; it must not replace a running host.
            opts=ResourceOptions(parent=self, ignore_changes=["ami"]),
        )

        ec2.VolumeAttachment(
            f"{name}-data",
            device_name="/dev/sdf",
            volume_id=data_volume.id,
            instance_id=host.id,
            stop_instance_before_detaching=True,
            # A volume attaches to one host at a time: detach from the old host
            # before attaching to its replacement.
            opts=ResourceOptions(parent=self, delete_before_replace=True),
        )

        target_group = lb.TargetGroup(
            f"{name}-frontend",
            port=FRONTEND_HOST_PORT,
            protocol="HTTP",
            target_type="instance",
            vpc_id=network.vpc_id,
            deregistration_delay=30,
            health_check=lb.TargetGroupHealthCheckArgs(
                path=spec.FRONTEND.readiness.path,
                matcher="200-399",
                interval=15,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=tags,
            opts=child,
        )
        lb.TargetGroupAttachment(
            f"{name}-frontend", target_group_arn=target_group.arn, target_id=host.id, port=FRONTEND_HOST_PORT, opts=child
        )
        alb = lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            security_groups=[alb_sg.id],
            subnets=network.public_subnet_ids,
            drop_invalid_header_fields=True,
            # WebSocket clients (/ws) stay connected; the default 60 s would cut idle ones.
            idle_timeout=3600,
            tags=tags,
            opts=child,
        )
        forward = [lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)]
        outputs: dict[str, object] = {}
        if args.domain:
            certificate = acm.Certificate(
                f"{name}-cert", domain_name=args.domain, validation_method="DNS", tags=tags, opts=child
            )
            validated = acm.CertificateValidation(
                f"{name}-cert", certificate_arn=certificate.arn, opts=child
            )
            lb.Listener(
                f"{name}-https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=validated.certificate_arn,
                default_actions=forward,
                opts=child,
            )
            lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
                opts=child,
            )
            self.url = Output.from_input(f"https://{args.domain}")
            outputs["certificateValidationRecords"] = certificate.domain_validation_options.apply(
                lambda options: [
                    {"name": o.resource_record_name, "type": o.resource_record_type, "value": o.resource_record_value}
                    for o in options
                ]
            )
        else:
            lb.Listener(
                f"{name}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP", default_actions=forward, opts=child
            )
            self.url = alb.dns_name.apply(lambda dns: f"http://{dns}")

        self.load_balancer_dns_name = alb.dns_name
        self.instance_id = host.id
        self.models_bucket = bucket.bucket
        self.data_volume_id = data_volume.id
        self.log_group = log_group.name
        self.admin_command = host.id.apply(
            lambda i: f"aws ssm start-session --region {args.region} --target {i}"
        )
        self.repository_urls = registry.repository_urls
        self.extra_outputs = outputs
        self.register_outputs(
            {
                "url": self.url,
                "loadBalancerDnsName": alb.dns_name,
                "instanceId": host.id,
                "modelsBucket": bucket.bucket,
                "logGroup": log_group.name,
                **outputs,
            }
        )

    def _models_bucket(self, name: str, args: Ec2DockerDeploymentArgs, tags: dict[str, str]) -> s3.Bucket:
        # The bucket is the stack's data: by default destroy leaves it (and the
        # settings that keep it private and encrypted) in the account.
        keep = ResourceOptions(parent=self, retain_on_delete=args.retain_data)
        bucket = s3.Bucket(f"{name}-models", force_destroy=not args.retain_data, tags=tags, opts=keep)
        s3.BucketOwnershipControls(
            f"{name}-models",
            bucket=bucket.id,
            rule=s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=keep,
        )
        s3.BucketPublicAccessBlock(
            f"{name}-models",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=keep,
        )
        s3.BucketVersioning(
            f"{name}-models",
            bucket=bucket.id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=keep,
        )
        s3.BucketServerSideEncryptionConfiguration(
            f"{name}-models",
            bucket=bucket.id,
            rules=[
                s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=keep,
        )
        s3.BucketPolicy(
            f"{name}-models",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [arn, f"{arn}/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    }
                )
            ),
            opts=keep,
        )
        return bucket

    def _instance_profile(
        self,
        name: str,
        registry: ImageRegistry,
        bucket: s3.Bucket,
        log_group: cloudwatch.LogGroup,
        parameter: ssm.Parameter,
        tags: dict[str, str],
    ) -> iam.InstanceProfile:
        child = ResourceOptions(parent=self)
        role = iam.Role(
            f"{name}-host",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            tags=tags,
            opts=child,
        )
        iam.RolePolicyAttachment(f"{name}-host-ssm", role=role.name, policy_arn=SSM_MANAGED_POLICY, opts=child)
        iam.RolePolicy(
            f"{name}-host",
            role=role.id,
            policy=Output.all(Output.all(*registry.repository_arns), bucket.arn, log_group.arn, parameter.arn).apply(
                lambda v: instance_policy(list(v[0]), v[1], v[2], v[3])
            ),
            opts=child,
        )
        return iam.InstanceProfile(f"{name}-host", role=role.name, tags=tags, opts=child)

    def _security_groups(
        self, name: str, args: Ec2DockerDeploymentArgs, network: Network, tags: dict[str, str]
    ) -> tuple[ec2.SecurityGroup, ec2.SecurityGroup]:
        child = ResourceOptions(parent=self)
        alb_sg = ec2.SecurityGroup(
            f"{name}-alb", vpc_id=network.vpc_id, description="Dixi load balancer: web from the internet", tags=tags, opts=child
        )
        host_sg = ec2.SecurityGroup(
            f"{name}-host", vpc_id=network.vpc_id, description="Dixi GPU host: frontend port from the load balancer only", tags=tags, opts=child
        )
        web_ports = [80, 443] if args.domain else [80]
        for port in web_ports:
            for family, cidr in (("v4", WORLD_V4), ("v6", WORLD_V6)):
                vpc.SecurityGroupIngressRule(
                    f"{name}-alb-{port}-{family}",
                    security_group_id=alb_sg.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr if family == "v4" else None,
                    cidr_ipv6=cidr if family == "v6" else None,
                    description=f"web {port} from the internet",
                    opts=child,
                )
        vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-host",
            security_group_id=alb_sg.id,
            ip_protocol="tcp",
            from_port=FRONTEND_HOST_PORT,
            to_port=FRONTEND_HOST_PORT,
            referenced_security_group_id=host_sg.id,
            description="to the host's frontend port",
            opts=child,
        )
        vpc.SecurityGroupIngressRule(
            f"{name}-host-from-alb",
            security_group_id=host_sg.id,
            ip_protocol="tcp",
            from_port=FRONTEND_HOST_PORT,
            to_port=FRONTEND_HOST_PORT,
            referenced_security_group_id=alb_sg.id,
            description="frontend from the load balancer",
            opts=child,
        )
        vpc.SecurityGroupEgressRule(
            f"{name}-host-egress",
            security_group_id=host_sg.id,
            ip_protocol="-1",
            cidr_ipv4=WORLD_V4,
            description="ECR, S3, SSM, CloudWatch and package mirrors",
            opts=child,
        )
        return alb_sg, host_sg
