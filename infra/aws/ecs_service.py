"""`EcsService`: one app service of the spec as an ECS service, with its task definition, roles, logs and scaling.

Creates, as children:
- the service's CloudWatch log group (awslogs, one stream per task under
  the service's name as `awslogs-stream-prefix`, which ECS requires on
  Fargate and plain Docker refuses);
- a task execution role, the ECS agent's: it may pull the service's images
  (ECR), write to the service's log group, and read the service's secrets
  (SSM parameters, decrypted with their keys through SSM only), and nothing
  more;
- a task role, the app's: exactly the statements the caller gives
  (`task_statements`: vision reads the models bucket, Ollama mounts its
  EFS access point), none for the frontend and the backend;
- the task definition, from `container_definitions()`: the image, the
  spec's port (named, for Service Connect), plain env from the spec and
  secrets through `secrets` (never plain env), the spec's health command,
  open-file limits, a read-only root with the spec's scratch paths as task
  volumes, the spec's volumes (Ollama's on EFS), and a GPU when the spec and
  the stack say so;
- the ECS service: `awsvpc` in the caller's private subnets and security
  group, no public address; Fargate, or the GPU capacity provider for a GPU
  task; Service Connect in the stack's namespace (a server under the
  service's own name when others call it, a client always); the load
  balancer's target group when it is public; rolling deployments with the
  circuit breaker and rollback, and `pulumi up` waits for a steady state,
  so a task that never becomes healthy fails the update rather than passing
  it;
- with `max_count` above `desired_count`: target tracking on average CPU
  between the two (the service then ignores `desiredCount` changes, which
  belong to the autoscaler).

GPU services deploy with at most 100% and at least 0% of their tasks
running: the old task stops before the new one starts, on the same instance,
so an update never needs a second GPU instance (quota), at the price of a
short gap. Web services keep 100% and surge to 200%.

Task sizes (Fargate). The smallest Fargate size that holds the spec's
requests plus the Service Connect proxy, for which AWS's Service Connect
guidance asks 256 CPU units and 64 MiB more per task (cloud-facts.md §4,
second-hand). Requests, not limits: a Fargate task gets its whole size, so
sizing by limits would pay for bursts all month.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws.appautoscaling as appautoscaling
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.ecs as ecs
import pulumi_aws.iam as iam
from pulumi import Output, ResourceOptions

from infra import spec
from infra.aws import catalog
from infra.aws.load_balancer import IDLE_TIMEOUT_SECONDS
from infra.aws.registry import pull_statements
from infra.aws.secret import reader_statements

SIDECAR_MEMORY_MIB = 128
PROXY_CPU_UNITS = 256
PROXY_MEMORY_MIB = 64
CPU_TARGET_PERCENT = 60
HEALTH_INTERVAL_SECONDS = 15
# ECS accepts a health-check start period of 0 to 300 seconds (HealthCheck, Amazon ECS API Reference).
MAX_START_PERIOD_SECONDS = 300
TASK_TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)


def cpu_units(quantity: str) -> int:
    """A Kubernetes CPU quantity ("500m", "2") in ECS CPU units (1024 a vCPU)."""
    millicores = int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)
    return -(-millicores * 1024 // 1000)


def mebibytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("512Mi", "1Gi") in MiB."""
    if quantity.endswith("Gi"):
        return int(quantity[:-2]) * 1024
    if quantity.endswith("Mi"):
        return int(quantity[:-2])
    raise ValueError(f"memory {quantity!r} is not in Mi or Gi")


def fargate_task_size(service: spec.Service) -> tuple[int, int]:
    """(CPU units, MiB) of the service's Fargate task: its requests plus the Service Connect proxy, rounded up to a size Fargate offers."""
    r = service.resources
    return catalog.fargate_size(cpu_units(r.request_cpu) + PROXY_CPU_UNITS, mebibytes(r.request_memory) + PROXY_MEMORY_MIB)


@dataclass(frozen=True)
class EfsVolume:
    """The service's spec volume, on an EFS access point."""

    file_system_id: pulumi.Input[str]
    access_point_id: pulumi.Input[str]


@dataclass(frozen=True)
class Sidecar:
    """A container that runs to completion before the service's own starts (filling a shared volume)."""

    name: str
    image: str
    command: tuple[str, ...]
    volume: str  # the spec volume it fills
    mount_path: str


def container_definitions(
    service: spec.Service,
    image: str,
    env: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group: str,
    region: str,
    *,
    gpus: int = 0,
    fargate: bool = True,
    sidecar: Sidecar | None = None,
) -> list[dict[str, Any]]:
    """The task's container definitions, in ECS's own JSON shape (RegisterTaskDefinition)."""

    def logging(prefix: str) -> dict[str, Any]:
        return {"logDriver": "awslogs", "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": prefix}}

    main: dict[str, Any] = {
        "name": service.name,
        "image": image,
        "essential": True,
        "portMappings": [{"name": service.name, "containerPort": service.port, "protocol": "tcp", "appProtocol": "http"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "logConfiguration": logging(service.name),
        "mountPoints": [{"sourceVolume": v.name, "containerPath": v.mount_path, "readOnly": sidecar is not None and v.name == sidecar.volume} for v in service.volumes],
        "stopTimeout": 30,
    }
    if service.health_command:
        main["healthCheck"] = {
            "command": ["CMD", *service.health_command],
            "interval": HEALTH_INTERVAL_SECONDS,
            "timeout": 5,
            "retries": 3,
            "startPeriod": min(service.health_start_seconds, MAX_START_PERIOD_SECONDS),
        }
    if service.scratch_paths is not None:
        main["readonlyRootFilesystem"] = True
        main["mountPoints"] += [{"sourceVolume": scratch_volume(i), "containerPath": p, "readOnly": False} for i, p in enumerate(service.scratch_paths)]
    if service.max_open_files:
        main["ulimits"] = [{"name": "nofile", "softLimit": service.max_open_files, "hardLimit": service.max_open_files}]
    if not fargate:
        r = service.resources
        main.update(cpu=cpu_units(r.request_cpu), memoryReservation=mebibytes(r.request_memory), memory=mebibytes(r.limit_memory))
    if gpus:
        main["resourceRequirements"] = [{"type": "GPU", "value": str(gpus)}]
    definitions = [main]
    if sidecar is not None:
        main["dependsOn"] = [{"containerName": sidecar.name, "condition": "SUCCESS"}]
        definitions.insert(
            0,
            {
                "name": sidecar.name,
                "image": sidecar.image,
                "essential": False,
                "command": list(sidecar.command),
                # ECS needs a memory figure for every container of an EC2 task without task-level memory.
                "memoryReservation": SIDECAR_MEMORY_MIB,
                "logConfiguration": logging(sidecar.name),
                "mountPoints": [{"sourceVolume": sidecar.volume, "containerPath": sidecar.mount_path, "readOnly": False}],
            },
        )
    return definitions


def connect_timeout(service: spec.Service) -> ecs.ServiceServiceConnectConfigurationServiceTimeoutArgs | None:
    """The Service Connect proxy's timeouts for calls to `service`, where the spec says its requests outlast the default (15 s a request)."""
    if service.request_timeout_seconds is None:
        return None
    # 0 turns the per-request timeout off; an idle WebSocket then lasts as long as the load balancer lets it.
    idle = IDLE_TIMEOUT_SECONDS if service.request_timeout_seconds == 0 else max(service.request_timeout_seconds, 300)
    return ecs.ServiceServiceConnectConfigurationServiceTimeoutArgs(per_request_timeout_seconds=service.request_timeout_seconds, idle_timeout_seconds=idle)


def scratch_volume(index: int) -> str:
    return f"scratch-{index}"


@dataclass(frozen=True)
class EcsServiceArgs:
    service: spec.Service
    region: str
    cluster_arn: pulumi.Input[str]
    cluster_name: str
    log_group_name: str
    log_retention_days: int
    image: pulumi.Input[str]
    env: pulumi.Input[Mapping[str, str]]
    # Env name -> (SSM parameter ARN, the ARN of the KMS key it is encrypted with).
    secrets: Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]]
    pull_repository_arns: pulumi.Input[Sequence[str]]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    namespace_arn: pulumi.Input[str]
    serves: bool  # other services call it through Service Connect
    desired_count: int
    tags: dict[str, str]
    max_count: int | None = None
    gpus: int = 0
    capacity_provider: pulumi.Input[str] | None = None
    target_group_arn: pulumi.Input[str] | None = None
    task_statements: pulumi.Input[Sequence[dict[str, Any]]] = field(default_factory=list)
    efs: EfsVolume | None = None
    sidecar: pulumi.Input[Sidecar] | None = None
    wait_for: Sequence[pulumi.Resource] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.gpus and self.capacity_provider is None:
            raise ValueError(f"{self.service.name} takes a GPU, which Fargate has none of; give it an EC2 capacity provider")
        if self.max_count is not None and self.max_count < self.desired_count:
            raise ValueError(f"{self.service.name}: max_count {self.max_count} is below desired_count {self.desired_count}")


def execution_statements(repository_arns: Sequence[str], log_group_arn: str, secrets: Sequence[tuple[str, str]], region: str) -> list[dict[str, Any]]:
    """What the ECS agent does for one service's tasks: pull its images, write its logs, read its secrets."""
    statements = pull_statements(repository_arns)
    statements.append({"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{log_group_arn}:*"})
    for index, (parameter_arn, key_arn) in enumerate(sorted(set(secrets))):
        # The agent reads `secrets` with ssm:GetParameters (task_execution_IAM_role.html).
        statements += reader_statements(parameter_arn, key_arn, region, sid=f"Secret{index}", action="ssm:GetParameters")
    return statements


def _policy(statements: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class EcsService(pulumi.ComponentResource):
    service_name: Output[str]
    task_definition_arn: Output[str]
    log_group: Output[str]
    task_role_name: Output[str]

    def __init__(self, name: str, args: EcsServiceArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:EcsService", name, None, opts)
        child = ResourceOptions(parent=self)
        service = args.service
        fargate = args.capacity_provider is None
        log_group = cloudwatch.LogGroup(
            f"{name}-logs", name=args.log_group_name, retention_in_days=args.log_retention_days, tags=args.tags, opts=child
        )
        execution = iam.Role(f"{name}-execution", assume_role_policy=TASK_TRUST, tags=args.tags, opts=child)
        secret_refs = list(args.secrets.values())
        execution_policy = iam.RolePolicy(
            f"{name}-execution",
            role=execution.id,
            policy=Output.all(args.pull_repository_arns, log_group.arn, Output.all(*(Output.all(p, k) for p, k in secret_refs))).apply(
                lambda v: _policy(execution_statements(list(v[0]), v[1], [(str(p), str(k)) for p, k in v[2]], args.region))
            ),
            opts=child,
        )
        task_role = iam.Role(f"{name}-task", assume_role_policy=TASK_TRUST, tags=args.tags, opts=child)
        waits: list[pulumi.Resource] = [execution_policy]
        task_statements = Output.from_input(args.task_statements)
        if args.task_statements:
            waits.append(iam.RolePolicy(f"{name}-task", role=task_role.id, policy=task_statements.apply(_policy), opts=child))

        sidecar: Output[Sidecar | None] = Output.from_input(args.sidecar) if args.sidecar is not None else Output.from_input(None)
        definitions = Output.all(
            args.image, Output.from_input(args.env), Output.all(**{k: p for k, (p, _) in args.secrets.items()}), log_group.name, sidecar
        ).apply(
            lambda v: json.dumps(
                container_definitions(service, v[0], dict(v[1]), dict(v[2]), v[3], args.region, gpus=args.gpus, fargate=fargate, sidecar=v[4])
            )
        )
        volumes = [ecs.TaskDefinitionVolumeArgs(name=scratch_volume(i)) for i, _ in enumerate(service.scratch_paths or ())]
        for volume in service.volumes:
            if args.efs is not None:
                volumes.append(
                    ecs.TaskDefinitionVolumeArgs(
                        name=volume.name,
                        efs_volume_configuration=ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                            file_system_id=args.efs.file_system_id,
                            transit_encryption="ENABLED",
                            authorization_config=ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(
                                access_point_id=args.efs.access_point_id, iam="ENABLED"
                            ),
                        ),
                    )
                )
            else:  # task storage: on Fargate, the task's ephemeral storage
                volumes.append(ecs.TaskDefinitionVolumeArgs(name=volume.name))
        size = fargate_task_size(service) if fargate else None
        task = ecs.TaskDefinition(
            f"{name}",
            family=f"{args.cluster_name}-{service.name}",
            container_definitions=definitions,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE" if fargate else "EC2"],
            cpu=str(size[0]) if size else None,
            memory=str(size[1]) if size else None,
            execution_role_arn=execution.arn,
            task_role_arn=task_role.arn,
            runtime_platform=ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX", cpu_architecture="X86_64"),
            volumes=volumes,
            tags=args.tags,
            opts=child,
        )

        server = (
            [
                ecs.ServiceServiceConnectConfigurationServiceArgs(
                    port_name=service.name,
                    discovery_name=service.name,
                    client_alias=[ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs(port=service.port, dns_name=service.name)],
                    timeout=connect_timeout(service),
                )
            ]
            if args.serves
            else None
        )
        autoscaled = args.max_count is not None and args.max_count > args.desired_count
        ecs_service = ecs.Service(
            f"{name}",
            name=service.name,
            cluster=args.cluster_arn,
            task_definition=task.arn,
            desired_count=args.desired_count,
            launch_type="FARGATE" if fargate else None,
            platform_version="LATEST" if fargate else None,
            capacity_provider_strategies=None
            if fargate
            else [ecs.ServiceCapacityProviderStrategyArgs(capacity_provider=args.capacity_provider, weight=1, base=0)],  # type: ignore[arg-type]
            network_configuration=ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids), security_groups=[args.security_group_id], assign_public_ip=False
            ),
            load_balancers=[
                ecs.ServiceLoadBalancerArgs(target_group_arn=args.target_group_arn, container_name=service.name, container_port=service.port)
            ]
            if args.target_group_arn is not None
            else None,
            health_check_grace_period_seconds=service.readiness.initial_delay_seconds + 50 if args.target_group_arn is not None else None,
            deployment_circuit_breaker=ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            deployment_minimum_healthy_percent=0 if args.gpus else 100,
            deployment_maximum_percent=100 if args.gpus else 200,
            service_connect_configuration=ecs.ServiceServiceConnectConfigurationArgs(
                enabled=True,
                namespace=args.namespace_arn,
                services=server,
                log_configuration=ecs.ServiceServiceConnectConfigurationLogConfigurationArgs(
                    log_driver="awslogs",
                    options={"awslogs-group": log_group.name, "awslogs-region": args.region, "awslogs-stream-prefix": "service-connect"},
                ),
            ),
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            wait_for_steady_state=True,
            tags=args.tags,
            # A service's name is fixed within its cluster, so a replacement (a launch type that changes,
            # as with dixi:visionGpu) must delete the old service first: ECS refuses a second one by that name.
            opts=ResourceOptions(
                parent=self,
                depends_on=[*waits, *args.wait_for],
                ignore_changes=["desiredCount"] if autoscaled else None,
                delete_before_replace=True,
            ),
        )
        if autoscaled:
            target = appautoscaling.Target(
                f"{name}-scaling",
                service_namespace="ecs",
                scalable_dimension="ecs:service:DesiredCount",
                resource_id=Output.concat("service/", args.cluster_name, "/", ecs_service.name),
                min_capacity=args.desired_count,
                max_capacity=args.max_count,
                tags=args.tags,
                opts=child,
            )
            appautoscaling.Policy(
                f"{name}-cpu",
                policy_type="TargetTrackingScaling",
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                service_namespace=target.service_namespace,
                target_tracking_scaling_policy_configuration=appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    predefined_metric_specification=appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ECSServiceAverageCPUUtilization"
                    ),
                    target_value=CPU_TARGET_PERCENT,
                    scale_in_cooldown=300,
                    scale_out_cooldown=60,
                ),
                opts=child,
            )
        self.service_name = ecs_service.name
        self.task_definition_arn = task.arn
        self.log_group = log_group.name
        self.task_role_name = task_role.name
        self.register_outputs(
            {"serviceName": self.service_name, "taskDefinitionArn": self.task_definition_arn, "logGroup": self.log_group, "taskRoleName": self.task_role_name}
        )
