"""`EcsDeployment`: the app on ECS, the web tier and vision on Fargate, Ollama on a GPU capacity provider, behind one ALB.

The seed's "ECS + Fargate" picture, composed from the AWS components:
- `Network`: two zones, public subnets for the load balancer and the NAT
  gateway(s), private subnets for every task, the cache and the model store;
- `ImageRegistry`, `ModelsBucket` (kept on destroy unless `retain_data` is
  false), and two `StackSecret`s: the gesture token and the event bus password;
- `PublicAlb`: `/` to the frontend, `/api` and `/ws` to the backend, HTTPS
  with ACM and an HTTP->HTTPS redirect with a domain, a one-hour idle timeout
  for WebSockets, health checks from the spec's readiness probes;
- `ValkeyBus`: the backend replicas' event bus (only when the backend can
  run more than one task), TLS and a password;
- `ModelStore`: Ollama's models on EFS (kept on destroy unless `retain_data`
  is false; why EFS: see `infra.aws.model_store`);
- `GpuCapacity`: the GPU instances, scaled by an ECS capacity provider;
- `EcsService` for each service of the spec, wired by Service Connect:
  every task reaches another as `http://<service>:<port>` (the spec's
  `host_of` is the service's own name), so the env comes from
  `spec.service_env` unchanged.
Itself it creates the cluster (Container Insights on), the Cloud Map HTTP
namespace Service Connect uses (no Route 53 zone), the cluster's capacity
providers (Fargate, and the GPU one), and a security group per service:

    internet -> ALB (80, 443)
    ALB -> frontend 8080, backend 3001
    frontend, vision -> backend 3001    (nginx's /api proxy; vision's events)
    backend -> vision 5000, ollama 11434, Valkey 6379
    ollama -> EFS 2049
Nothing else gets in: vision, Ollama, the bus and the model store have no
way in from the internet or from the load balancer. Tasks may go out
(registries, through NAT).

Destroy, in the order the graph gives: the services (their tasks stop), the
autoscaling, the cluster's capacity providers, the GPU capacity provider, the
Auto Scaling group (forced: it terminates its instances), the cluster, then
the rest. What it keeps: the models bucket and the EFS file system (with
`retain_data`, the default); their security settings go with them, their
network does not.

Left out: DNS records unless a Route 53 zone is configured, ECS Exec, Spot
capacity, interface VPC endpoints (see `infra.aws.network`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws.ec2 as ec2
import pulumi_aws.ecs as ecs
import pulumi_aws.servicediscovery as servicediscovery
from pulumi import Output, ResourceOptions

from infra import spec
from infra.aws.ecs_service import EcsService, EcsServiceArgs, EfsVolume, Sidecar
from infra.aws.event_bus import ValkeyBus, ValkeyBusArgs
from infra.aws.firewall import allow_from_groups, allow_out_anywhere
from infra.aws.gpu_capacity import GpuCapacity, GpuCapacityArgs
from infra.aws.load_balancer import AlbRoute, PublicAlb, PublicAlbArgs
from infra.aws.model_store import ModelStore, ModelStoreArgs
from infra.aws.network import Network, NetworkArgs, zones_offering
from infra.aws.registry import ImageRegistry, ImageRegistryArgs
from infra.aws.secret import StackSecret, StackSecretArgs, gesture_token
from infra.aws.storage import ModelsBucket, ModelsBucketArgs

# The models bucket reaches vision through this container, which copies it
# into the task's models volume before vision starts (as the aws-ec2 host's
# boot does). AWS's own CLI image, public on ECR Public.
MODELS_SYNC_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.0"
MODELS_SYNC_PATH = "/models"
# Who may call whom inside the VPC (caller -> callee), from the spec's links.
CALLERS: dict[str, tuple[str, ...]] = {
    callee: tuple(s.name for s in spec.SERVICES if callee in s.links.values()) for callee in spec.BY_NAME
}


@dataclass(frozen=True)
class EcsDeploymentArgs:
    stack: str
    region: str
    gpu_instance_type: str
    frontend_tasks: int
    backend_tasks: int
    backend_max_tasks: int
    nat_gateways: int
    domain: str | None
    route53_zone_id: str | None
    ollama_model: str
    vision_gpu: bool
    retain_data: bool
    log_retention_days: int
    vpc_cidr: str
    prebuilt_images: Mapping[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def tasks(self, service: spec.Service) -> tuple[int, int]:
        """(desired, most) tasks of a service: the config's for the web tier, the spec's for the others."""
        if service is spec.FRONTEND:
            return self.frontend_tasks, self.frontend_tasks
        if service is spec.BACKEND:
            return self.backend_tasks, self.backend_max_tasks
        return service.replicas, service.replicas


def subnets_in(subnets: Sequence[str], zones: Sequence[str], offered: Sequence[str]) -> list[str]:
    """The subnets whose zone offers the GPU type; all of them when the lookup names none (never an empty group)."""
    found = [s for s, z in zip(subnets, zones, strict=True) if z in offered]
    return found or list(subnets)


class EcsDeployment(pulumi.ComponentResource):
    url: Output[str]
    load_balancer_dns_name: Output[str]
    cluster_name: Output[str]
    gpu_auto_scaling_group: Output[str]
    service_names: dict[str, Output[str]]
    log_groups: dict[str, Output[str]]
    models_bucket: Output[str]
    model_store_id: Output[str]
    event_bus_endpoint: Output[str]
    repository_urls: dict[str, Output[str]]
    certificate_validation_records: Output[list[dict[str, str]]]

    def __init__(self, name: str, args: EcsDeploymentArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:EcsDeployment", name, None, opts)
        child = ResourceOptions(parent=self)
        tags = dict(args.tags)
        # ECS names take letters, digits, hyphens and underscores; a Pulumi stack name may also hold periods.
        cluster_name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-{args.stack}")

        offered = zones_offering(args.gpu_instance_type, self)
        network = Network(
            f"{name}-net",
            NetworkArgs(cidr=args.vpc_cidr, tags=tags, preferred_zones=offered, nat_gateways=args.nat_gateways),
            opts=child,
        )
        registry = ImageRegistry(f"{name}-images", ImageRegistryArgs(prebuilt=args.prebuilt_images, tags=tags), opts=child)
        bucket = ModelsBucket(f"{name}-models", ModelsBucketArgs(retain=args.retain_data, tags=tags), opts=child)
        token = gesture_token(name, args.stack, tags, self)

        groups = {
            s.name: ec2.SecurityGroup(
                f"{name}-{s.name}-sg", vpc_id=network.vpc_id, description=f"Dixi {s.name} tasks", tags={**tags, "service": s.name}, opts=child
            )
            for s in spec.SERVICES
        }
        for group_name, group in groups.items():
            allow_out_anywhere(f"{name}-{group_name}", group.id, "registries, AWS APIs and the other services", self)
        web = PublicAlb(
            f"{name}-web",
            PublicAlbArgs(
                vpc_id=network.vpc_id,
                vpc_cidr=network.cidr,
                subnet_ids=network.public_subnet_ids,
                routes=tuple(
                    AlbRoute(s.name, s.port, s.readiness.path, paths=() if s.public_paths == ("/",) else s.public_paths, target_type="ip")
                    for s in spec.SERVICES
                    if s.is_public
                ),
                domain=args.domain,
                route53_zone_id=args.route53_zone_id,
                tags=tags,
                wait_for=[network],
            ),
            opts=child,
        )
        for s in spec.SERVICES:
            sources: list[tuple[str, pulumi.Input[str]]] = [(caller, groups[caller].id) for caller in CALLERS[s.name]]
            if s.is_public:
                sources.insert(0, ("alb", web.security_group_id))
            allow_from_groups(f"{name}-{s.name}", groups[s.name].id, s.port, sources, s.name, self)

        namespace = servicediscovery.HttpNamespace(
            f"{name}-ns", name=cluster_name, description="Service Connect names of the Dixi services", tags=tags, opts=child
        )
        cluster = ecs.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            settings=[ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            service_connect_defaults=ecs.ClusterServiceConnectDefaultsArgs(namespace=namespace.arn),
            tags=tags,
            opts=child,
        )

        _, backend_most = args.tasks(spec.BACKEND)
        bus: ValkeyBus | None = None
        bus_password: StackSecret | None = None
        if spec.needs_event_bus(spec.BACKEND, backend_most):
            bus_password = StackSecret(
                f"{name}-bus-password",
                StackSecretArgs(parameter_name=f"/{name}/{args.stack}/event-bus-password", description="The backend's password on the event bus", tags=tags),
                opts=child,
            )
            bus = ValkeyBus(
                f"{name}-bus",
                ValkeyBusArgs(
                    stack=args.stack,
                    vpc_id=network.vpc_id,
                    subnet_ids=network.private_subnet_ids,
                    client_security_group_ids=[groups[spec.BACKEND.name].id],
                    password=bus_password.value,
                    tags=tags,
                ),
                opts=child,
            )

        gpu_services = [s for s in spec.SERVICES if spec.gpus(s, args.vision_gpu)]
        store = ModelStore(
            f"{name}-ollama-store",
            ModelStoreArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                client_security_group_ids=[groups[spec.OLLAMA.name].id],
                directory=f"/{spec.OLLAMA.volumes[0].name}",
                owner_uid=spec.OLLAMA.run_as_uid,
                retain=args.retain_data,
                tags=tags,
            ),
            opts=child,
        )
        capacity = GpuCapacity(
            f"{name}-gpu",
            GpuCapacityArgs(
                stack=args.stack,
                cluster_name=cluster_name,
                cluster_arn=cluster.arn,
                region=args.region,
                instance_type=args.gpu_instance_type,
                # One GPU task per instance (every accepted type has one GPU).
                max_instances=sum(spec.gpus(s, args.vision_gpu) * s.replicas for s in gpu_services),
                vpc_id=network.vpc_id,
                subnet_ids=Output.all(Output.all(*network.private_subnet_ids), Output.all(*network.public_subnet_zones), offered).apply(
                    lambda v: subnets_in(v[0], v[1], v[2])
                ),
                tags=tags,
            ),
            opts=ResourceOptions(parent=self, depends_on=[cluster]),
        )
        providers = ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", capacity.capacity_provider_name],
            default_capacity_provider_strategies=[ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(capacity_provider="FARGATE", weight=1)],
            opts=child,
        )

        self.service_names, self.log_groups = {}, {}
        for s in spec.SERVICES:
            desired, most = args.tasks(s)
            gpus = spec.gpus(s, args.vision_gpu)
            env: pulumi.Input[Mapping[str, str]] = spec.service_env(s, service_connect_host, args.ollama_model)
            secrets: dict[str, tuple[pulumi.Input[str], pulumi.Input[str]]] = {
                var: (token.parameter_arn, token.key_arn) for var in s.secret_env
            }
            if s.event_bus is not None and bus is not None and bus_password is not None:
                env = bus.url.apply(functools.partial(env_with_bus, s, args.ollama_model))
                secrets[s.event_bus.password_env] = (bus_password.parameter_arn, bus_password.key_arn)
            task_statements: pulumi.Input[Sequence[dict[str, Any]]] = []
            efs: EfsVolume | None = None
            sidecar: Output[Sidecar] | None = None
            if s is spec.OLLAMA:
                efs = EfsVolume(store.file_system_id, store.access_point_id)
                task_statements = Output.all(store.file_system_arn, store.access_point_arn).apply(lambda v: efs_client_statements(v[0], v[1]))
            if s is spec.VISION:
                sidecar = bucket.bucket_name.apply(functools.partial(models_sync, volume=s.volumes[0].name))
                task_statements = bucket.arn.apply(models_reader_statements)
            svc = EcsService(
                f"{name}-{s.name}",
                EcsServiceArgs(
                    service=s,
                    region=args.region,
                    cluster_arn=cluster.arn,
                    cluster_name=cluster_name,
                    log_group_name=f"/{name}/{args.stack}/{s.name}",
                    log_retention_days=args.log_retention_days,
                    image=registry.refs[s.name],
                    env=env,
                    secrets=secrets,
                    pull_repository_arns=registry.service_repository_arns[s.name],
                    subnet_ids=network.private_subnet_ids,
                    security_group_id=groups[s.name].id,
                    namespace_arn=namespace.arn,
                    serves=bool(CALLERS[s.name]),
                    desired_count=desired,
                    max_count=most,
                    gpus=gpus,
                    capacity_provider=capacity.capacity_provider_name if gpus else None,
                    target_group_arn=web.target_group_arns.get(s.name),
                    task_statements=task_statements,
                    efs=efs,
                    sidecar=sidecar,
                    # ECS refuses a target group no listener uses; GPU tasks need the capacity provider on the cluster.
                    wait_for=[providers, web, *([store] if efs else [])],
                    tags=tags,
                ),
                opts=child,
            )
            self.service_names[s.name] = svc.service_name
            self.log_groups[s.name] = svc.log_group

        self.url = web.url
        self.load_balancer_dns_name = web.dns_name
        self.cluster_name = cluster.name
        self.gpu_auto_scaling_group = capacity.auto_scaling_group_name
        self.models_bucket = bucket.bucket_name
        self.model_store_id = store.file_system_id
        self.event_bus_endpoint = bus.endpoint if bus is not None else Output.from_input("")
        self.repository_urls = registry.repository_urls
        self.certificate_validation_records = web.certificate_validation_records
        self.register_outputs(
            {
                "url": self.url,
                "loadBalancerDnsName": self.load_balancer_dns_name,
                "clusterName": self.cluster_name,
                "gpuAutoScalingGroup": self.gpu_auto_scaling_group,
                "serviceNames": self.service_names,
                "logGroups": self.log_groups,
                "modelsBucket": self.models_bucket,
                "modelStoreId": self.model_store_id,
                "eventBusEndpoint": self.event_bus_endpoint,
                "repositoryUrls": self.repository_urls,
                "certificateValidationRecords": self.certificate_validation_records,
            }
        )


def service_connect_host(service: spec.Service) -> str:
    """Where a task reaches `service`: its Service Connect client alias, the service's own name."""
    return service.name


def env_with_bus(service: spec.Service, ollama_model: str, bus_url: str) -> dict[str, str]:
    return spec.service_env(service, service_connect_host, ollama_model, event_bus_url=bus_url)


def models_sync(bucket: str, volume: str) -> Sidecar:
    """The container that copies the models bucket into vision's models volume before vision starts."""
    command = ("s3", "sync", "--no-progress", "--delete", f"s3://{bucket}", MODELS_SYNC_PATH)
    return Sidecar("models-sync", MODELS_SYNC_IMAGE, command, volume, MODELS_SYNC_PATH)


def models_reader_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """Vision's task role: list and read the models bucket (its models-sync container copies it)."""
    return [
        {"Sid": "ModelsList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
        {"Sid": "ModelsRead", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/*"},
    ]


def efs_client_statements(file_system_arn: str, access_point_arn: str) -> list[dict[str, Any]]:
    """Ollama's task role: mount and write the model store, through its access point only."""
    return [
        {
            "Sid": "ModelStore",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "Resource": file_system_arn,
            "Condition": {"ArnEquals": {"elasticfilesystem:AccessPointArn": access_point_arn}},
        }
    ]
