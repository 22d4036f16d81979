"""`CloudRunService`: one app service of the spec on Cloud Run v2, with its own service account.

Creates, as children: a dedicated service account (never the default
compute account), read access for it to each secret the service gets
(`roles/secretmanager.secretAccessor` on that secret only), and the Cloud
Run service:
- the image, the spec's port, plain env from the spec and secrets as
  Secret Manager references (never plain env), files from secrets as volumes;
- CPU and memory from the spec's limits, rounded up to what Cloud Run takes
  (at least 1 vCPU and 512 MiB), or the GPU shape (an NVIDIA L4 needs 4 vCPU
  and 16 GiB, CPU always allocated: infra/gcp/catalog.py);
- the spec's readiness path as the startup probe and its liveness path as
  the liveness probe;
- min and max instances, the request timeout (WebSockets end at it: at most
  3600 s) and session affinity where asked;
- ingress as asked (the load balancer only, or internal only), and the
  invoker check off (`invokerIamDisabled`): ingress decides who reaches the
  service, the load balancer sends no identity, and `allUsers` bindings are
  refused in organizations with domain-restricted sharing;
- Direct VPC egress through the stack's subnet when it must reach private
  addresses (Ollama's VM, the Redis bus) or internal services;
- `deletionProtection` off: Cloud Run v2 services default to on, and
  `pulumi destroy` would fail (pulumi_gcp cloudrunv2/service.py).

Left out: custom domains on the service (the load balancer carries the
domain), Binary Authorization, CMEK.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp.cloudrunv2 as cloudrunv2
import pulumi_gcp.secretmanager as secretmanager
import pulumi_gcp.serviceaccount as serviceaccount
from pulumi import Output, ResourceOptions

from infra import spec
from infra.gcp import catalog, naming

MAX_TIMEOUT_SECONDS = 3600  # Cloud Run's longest request timeout
MIN_MEMORY_MIB = 512


@dataclass(frozen=True)
class SecretFile:
    """A secret mounted as a file: Cloud Run mounts a secret volume as a directory holding `file_name`."""

    secret_id: pulumi.Input[str]
    directory: str
    file_name: str


@dataclass(frozen=True)
class CloudRunServiceArgs:
    service: spec.Service
    project: str
    region: str
    image: pulumi.Input[str]
    env: pulumi.Input[Mapping[str, str]]
    # Env name -> the secret's id (`projects/.../secrets/...`).
    secrets: Mapping[str, pulumi.Input[str]]
    ingress: str  # INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER or INGRESS_TRAFFIC_INTERNAL_ONLY
    min_instances: int
    max_instances: int
    labels: dict[str, str]
    secret_files: Sequence[SecretFile] = ()
    network: pulumi.Input[str] | None = None
    subnetwork: pulumi.Input[str] | None = None
    timeout_seconds: int = 300
    session_affinity: bool = False
    cpu_always: bool = False  # instance-based billing: background work between requests (the bus subscription)
    gpu: str | None = None  # a Cloud Run GPU (catalog.CLOUD_RUN_GPUS key)
    gcs_volume_bucket: pulumi.Input[str] | None = None  # the service's spec volume on a bucket
    concurrency: int | None = None  # requests (WebSockets included) one instance takes at once; None: Cloud Run's 80
    physical_name: str = ""  # the Cloud Run service's name; the spec service's name when empty
    wait_for: Sequence[pulumi.Resource] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 <= self.min_instances <= self.max_instances:
            raise ValueError(f"{self.service.name}: instances must satisfy 0 <= min ({self.min_instances}) <= max ({self.max_instances})")
        if not 1 <= self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise ValueError(f"{self.service.name}: Cloud Run's request timeout is 1 to {MAX_TIMEOUT_SECONDS} s, not {self.timeout_seconds}")
        if self.gpu is not None and self.gpu not in catalog.CLOUD_RUN_GPUS:
            raise ValueError(f"{self.service.name}: {self.gpu!r} is not a Cloud Run GPU; allowed: {', '.join(catalog.CLOUD_RUN_GPUS)}")


def limits(service: spec.Service, gpu: str | None) -> dict[str, str]:
    """The container's CPU and memory limits: the spec's, rounded up to what Cloud Run takes, or a GPU's minimums."""
    cpu = service.resources.limit_cpu
    cores = int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    memory = service.resources.limit_memory
    mib = int(memory[:-2]) * (1024 if memory.endswith("Gi") else 1)
    found = {"cpu": str(max(1, math.ceil(cores))), "memory": f"{max(MIN_MEMORY_MIB, mib)}Mi"}
    if gpu is not None:
        need = catalog.CLOUD_RUN_GPUS[gpu]
        found = {
            "cpu": str(max(int(found["cpu"]), math.ceil(need.min_cpu))),
            "memory": f"{max(mib, int(need.min_memory_gib * 1024))}Mi",
            "nvidia.com/gpu": str(catalog.CLOUD_RUN_GPUS_PER_INSTANCE),
        }
    return found


def account_id(name: str) -> str:
    """A service account id: 6 to 30 lowercase letters, digits and hyphens, starting with a letter."""
    found = naming.physical(name, "run", limit=naming.ACCOUNT_ID)
    return found if len(found) >= 6 else f"{found}-sa"


class CloudRunService(pulumi.ComponentResource):
    uri: Output[str]
    service_name: Output[str]
    service_account_email: Output[str]
    service_account_member: Output[str]

    def __init__(self, name: str, args: CloudRunServiceArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:CloudRunService", name, None, opts)
        child = ResourceOptions(parent=self)
        service = args.service
        physical = args.physical_name or service.name
        account = serviceaccount.Account(
            f"{name}-sa", account_id=account_id(physical), display_name=f"Dixi {service.name} (Cloud Run)", opts=child
        )
        readers: list[pulumi.Resource] = []
        secret_ids = [*args.secrets.values(), *(f.secret_id for f in args.secret_files)]
        for index, secret_id in enumerate(secret_ids):
            readers.append(
                secretmanager.SecretIamMember(
                    f"{name}-reads-{index}", secret_id=secret_id, role="roles/secretmanager.secretAccessor", member=account.member, opts=child
                )
            )
        envs = Output.from_input(args.env).apply(lambda env: [cloudrunv2.ServiceTemplateContainerEnvArgs(name=k, value=v) for k, v in sorted(env.items())])
        secret_envs = [
            cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=var,
                value_source=cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(secret=secret_id, version="latest")
                ),
            )
            for var, secret_id in sorted(args.secrets.items())
        ]
        volumes = [
            cloudrunv2.ServiceTemplateVolumeArgs(
                name=f"secret-{index}",
                secret=cloudrunv2.ServiceTemplateVolumeSecretArgs(
                    secret=f.secret_id, items=[cloudrunv2.ServiceTemplateVolumeSecretItemArgs(path=f.file_name, version="latest")]
                ),
            )
            for index, f in enumerate(args.secret_files)
        ]
        mounts = [cloudrunv2.ServiceTemplateContainerVolumeMountArgs(name=f"secret-{i}", mount_path=f.directory) for i, f in enumerate(args.secret_files)]
        if args.gcs_volume_bucket is not None and service.volumes:
            volume = service.volumes[0]
            volumes.append(
                cloudrunv2.ServiceTemplateVolumeArgs(
                    name=volume.name, gcs=cloudrunv2.ServiceTemplateVolumeGcsArgs(bucket=args.gcs_volume_bucket, read_only=False)
                )
            )
            mounts.append(cloudrunv2.ServiceTemplateContainerVolumeMountArgs(name=volume.name, mount_path=volume.mount_path))
        vpc_access = (
            cloudrunv2.ServiceTemplateVpcAccessArgs(
                network_interfaces=[cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(network=args.network, subnetwork=args.subnetwork)],
                # All traffic: internal run.app services count a request as internal only when it comes through the VPC.
                egress="ALL_TRAFFIC",
            )
            if args.network is not None
            else None
        )
        container = cloudrunv2.ServiceTemplateContainerArgs(
            name=service.name,
            image=args.image,
            ports=cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=service.port),
            envs=Output.all(envs, secret_envs).apply(lambda v: [*v[0], *v[1]]),
            resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(
                limits=limits(service, args.gpu), cpu_idle=not (args.cpu_always or args.gpu is not None), startup_cpu_boost=True
            ),
            startup_probe=cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                http_get=cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path=service.readiness.path, port=service.port),
                initial_delay_seconds=min(service.readiness.initial_delay_seconds, 240),
                period_seconds=service.readiness.period_seconds,
                failure_threshold=24,
            ),
            liveness_probe=cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                http_get=cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(path=service.liveness.path, port=service.port),
                period_seconds=service.liveness.period_seconds,
            ),
            volume_mounts=mounts or None,
        )
        run = cloudrunv2.Service(
            f"{name}",
            name=physical,
            project=args.project,
            location=args.region,
            ingress=args.ingress,
            deletion_protection=False,
            invoker_iam_disabled=True,
            labels=args.labels,
            template=cloudrunv2.ServiceTemplateArgs(
                service_account=account.email,
                containers=[container],
                scaling=cloudrunv2.ServiceTemplateScalingArgs(min_instance_count=args.min_instances, max_instance_count=args.max_instances),
                timeout=f"{args.timeout_seconds}s",
                max_instance_request_concurrency=args.concurrency,
                session_affinity=args.session_affinity,
                vpc_access=vpc_access,
                volumes=volumes or None,
                node_selector=cloudrunv2.ServiceTemplateNodeSelectorArgs(accelerator=args.gpu) if args.gpu else None,
                gpu_zonal_redundancy_disabled=True if args.gpu else None,
                # Gen2 mounts Cloud Storage volumes and gives full Linux compatibility.
                execution_environment="EXECUTION_ENVIRONMENT_GEN2",
            ),
            # A revision starts only once its account may read its secrets.
            opts=ResourceOptions(parent=self, depends_on=[*readers, *args.wait_for]),
        )
        self.uri = run.uri
        self.service_name = run.name
        self.service_account_email = account.email
        self.service_account_member = account.member
        self.register_outputs(
            {"uri": self.uri, "serviceName": self.service_name, "serviceAccountEmail": self.service_account_email, "serviceAccountMember": self.service_account_member}
        )
