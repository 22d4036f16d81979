"""`DropletDeployment`: the app on DigitalOcean Droplets: app Droplets behind a load balancer, a GPU Droplet for Ollama.

The seed's DigitalOcean table (app Droplets, GPU capacity, a load balancer,
Spaces), composed from this package's components, each one job:
- a VPC (`dixi:doVpcCidr`) and one tag per role, created before anything
  that names them (a firewall or load balancer naming a missing tag is refused);
- `DocrImages`: DOCR and the images `pulumi up` builds, pull credentials;
- `ModelsSpace`: vision's models in Spaces, a read-only key for the Droplets;
- `DockerDroplet` x N (`dixi:doAppDroplets`, default 2): frontend, backend
  and vision from the shared compose renderer (`infra.common.compose`, the
  same containers as `aws-ec2`), the backend reaching Ollama and the bus
  through `InternalLoadBalancer`, a fixed address in the VPC;
- `DockerDroplet` GPU: Ollama, its models on a volume that outlives the
  Droplet, and (bus profile `container`) the Valkey bus;
- the event bus when the backend runs more than once (`infra.digitalocean.event_bus`);
- `PublicLoadBalancer`: the internet reaches the app Droplets' frontend port only through it;
- a firewall per role (`role_firewall`) and the alert policies (`droplet_alerts`).
Itself it generates the gesture token and the bus password (`random`), and
renders each role's compose file and user data.

Secrets. The gesture token, the bus password, the pull credentials and the
models key reach the Droplets in their user data, as 0600 files, because a
Droplet has no other way to get them (`infra.digitalocean.boot` says why and
what guards them). The API token and the account's Spaces keys never do.

The app Droplets reach Ollama and the bus through an internal load balancer
(`InternalLoadBalancer`): its address stays when the GPU Droplet is replaced
(a new Ollama image, a new size), so the app Droplets are not replaced with
it and keep serving; Ollama (and the container bus) are away for the GPU
Droplet's boot, a few minutes plus the model pull, and the backends' readiness
says so.

Left out: a DigitalOcean project for the resources (they land in the
account's default project), DOKS and App Platform (other targets), backups
of the Droplets (nothing on them is state but the volume).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_random as random
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common import cloudinit, compose
from infra.digitalocean import boot, catalog, event_bus
from infra.digitalocean.droplets import DataVolume, DockerDroplet, DockerDropletArgs
from infra.digitalocean.firewall import Inbound, role_firewall
from infra.digitalocean.load_balancer import (
    InternalLoadBalancer,
    InternalLoadBalancerArgs,
    Port,
    PublicLoadBalancer,
    PublicLoadBalancerArgs,
)
from infra.digitalocean.monitoring import droplet_alerts
from infra.digitalocean.registry import DocrImages, DocrImagesArgs
from infra.digitalocean.storage import ModelsSpace, ModelsSpaceArgs

FRONTEND_HOST_PORT: Final = 80
APP_SERVICES: Final = (spec.FRONTEND.name, spec.BACKEND.name, spec.VISION.name)
GPU_SERVICES: Final = (spec.OLLAMA.name,)
# Docker's json-file driver, rotated: the logs stay on the Droplet (`docker compose logs`).
LOGGING: Final = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
# Password auth off for SSH: DigitalOcean mails a root password for a Droplet created without SSH keys.
CLOUD_CONFIG: Final = {"ssh_pwauth": False}
SECRET_LENGTH: Final = 48


@dataclass(frozen=True)
class DropletDeploymentArgs:
    stack: str
    region: str
    vpc_cidr: str
    app_size: str
    app_droplets: int
    gpu_size: str
    models_volume_gib: int
    ollama_model: str
    domain: str | None
    zone: str | None
    event_bus: str  # "container" or "managed"
    retain_data: bool
    registry_name: str
    ssh_sources: Sequence[str] = field(default_factory=list)
    ssh_keys: Sequence[str] = field(default_factory=list)
    alert_emails: Sequence[str] = field(default_factory=list)
    prebuilt_images: Mapping[str, str] = field(default_factory=dict)


def _with_private_ports(document: dict[str, Any], ports: Mapping[str, str]) -> dict[str, Any]:
    """Publish each named service on the Droplet's VPC address only (`host:container` -> `${ip}:host:container`)."""
    services = dict(document["services"])
    for name, mapping in ports.items():
        services[name] = {**services[name], "ports": [f"{boot.PRIVATE_IP}:{mapping}"]}
    return {**document, "services": services}


def app_compose(images: Mapping[str, str], model: str, ollama_url: str, bus_url: str | None, bus_ca: bool = False) -> dict[str, Any]:
    """frontend, backend and vision; Ollama (and the bus) at the internal load balancer's address."""
    document = compose.render(
        images,
        model,
        LOGGING,
        compose.HostLayout(frontend_host_port=FRONTEND_HOST_PORT),
        only=APP_SERVICES,
        url_of=lambda s: ollama_url if s is spec.OLLAMA else "",
        event_bus_url=bus_url,
    )
    document = _with_private_ports(document, {spec.FRONTEND.name: f"{FRONTEND_HOST_PORT}:{spec.FRONTEND.port}"})
    if bus_ca:
        backend = document["services"][spec.BACKEND.name]
        backend["volumes"] = [*backend.get("volumes", []), f"{event_bus.CA_FILE}:{event_bus.CA_IN_CONTAINER}:ro"]
        backend["environment"] = {**backend["environment"], event_bus.CA_ENV: event_bus.CA_IN_CONTAINER}
    return document


def gpu_compose(images: Mapping[str, str], model: str, with_bus: bool) -> dict[str, Any]:
    """Ollama (and the `container` bus), published on the Droplet's VPC address."""
    document = compose.render(images, model, LOGGING, only=GPU_SERVICES)
    document = _with_private_ports(document, {spec.OLLAMA.name: f"{spec.OLLAMA.port}:{spec.OLLAMA.port}"})
    if with_bus:
        document["services"][event_bus.SERVICE] = event_bus.container_service(dict(LOGGING))
    return document


def secrets_env(values: Mapping[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in sorted(values.items()))


def app_user_data(
    compose_yaml: str, secrets: Mapping[str, str], pull_config: str | None, bucket: str, s3cfg: str, bus_ca: str | None = None
) -> str:
    layout = compose.HostLayout(frontend_host_port=FRONTEND_HOST_PORT)
    models_dir = f"{layout.data_dir}/{spec.VISION.volumes[0].name}"
    app = [spec.BY_NAME[name] for name in APP_SERVICES]
    script = cloudinit.boot_script(
        [(f"{layout.data_dir}/{v.name}", s.run_as_uid) for s in app for v in s.volumes],
        [*boot.registry_login(), *boot.private_address(), *boot.models_sync(bucket, models_dir)],
        on_failure=boot.report_failure(),
        harden=boot.metadata_block(),
        wait_healthy=APP_SERVICES,
        wait_running=(),
    )
    private = [(compose.SECRETS_ENV_FILE, secrets_env(secrets)), (boot.S3CMD_CONFIG, s3cfg)]
    if pull_config is not None:
        private.append((f"{boot.DOCKER_CONFIG_DIR}/config.json", pull_config))
    files = [boot.metadata_block_unit(), *([(event_bus.CA_FILE, bus_ca)] if bus_ca else [])]
    return cloudinit.render(compose_yaml, script, files, private_files=private, settings=CLOUD_CONFIG)


def gpu_user_data(compose_yaml: str, secrets: Mapping[str, str], pull_config: str | None, volume_name: str, with_bus: bool) -> str:
    layout = compose.HostLayout()
    device = boot.volume_device(volume_name)
    script = cloudinit.boot_script(
        [(f"{layout.data_dir}/{v.name}", spec.OLLAMA.run_as_uid) for v in spec.OLLAMA.volumes],
        [*boot.registry_login(), *boot.private_address(), *(event_bus.acl_steps() if with_bus else [])],
        on_failure=boot.report_failure(),
        prepare_storage=cloudinit.data_volume_steps(device, layout.data_dir),
        harden=boot.metadata_block(),
        # Ollama is healthy only once its models are pulled; the boot waits for it to run (and for the bus to answer).
        wait_healthy=(event_bus.SERVICE,) if with_bus else (),
        wait_running=(spec.OLLAMA.name,),
    )
    private = [(compose.SECRETS_ENV_FILE, secrets_env(secrets))] if secrets else []
    if pull_config is not None:
        private.append((f"{boot.DOCKER_CONFIG_DIR}/config.json", pull_config))
    files = [*cloudinit.data_volume_files(device, layout.data_dir), boot.metadata_block_unit()]
    return cloudinit.render(compose_yaml, script, files, private_files=private, settings=CLOUD_CONFIG)


class DropletDeployment(pulumi.ComponentResource):
    url: Output[str]
    load_balancer_ip: Output[str]
    app_droplet_ids: list[Output[str]]
    gpu_droplet_id: Output[str]
    gpu_private_ip: Output[str]
    models_bucket: Output[str]
    models_volume_id: Output[str]
    registry_name: Output[str]
    event_bus_url: Output[str]

    def __init__(self, name: str, args: DropletDeploymentArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:DropletDeployment", name, None, opts)
        child = ResourceOptions(parent=self)
        physical = f"{name}-{args.stack}"

        # The provider's VPC delete retries for 2 minutes while the load balancers and the bus
        # it holds are still going (their deletes return early): give it longer.
        vpc = digitalocean.Vpc(
            f"{name}-vpc",
            name=f"{physical}-vpc",
            region=args.region,
            ip_range=args.vpc_cidr,
            opts=ResourceOptions(parent=self, custom_timeouts=pulumi.CustomTimeouts(delete="15m")),
        )
        app_tag = digitalocean.Tag(f"{name}-app-tag", name=f"{physical}-app", opts=child)
        gpu_tag = digitalocean.Tag(f"{name}-gpu-tag", name=f"{physical}-gpu", opts=child)

        registry = DocrImages(
            f"{name}-images", DocrImagesArgs(stack=args.stack, prebuilt=args.prebuilt_images, existing_registry=args.registry_name), opts=child
        )
        models = ModelsSpace(
            f"{name}-models", ModelsSpaceArgs(stack=args.stack, spaces_region=catalog.spaces_region(args.region), retain=args.retain_data), opts=child
        )

        token = random.RandomPassword(f"{name}-gesture-token", length=SECRET_LENGTH, special=False, opts=child)
        secrets: dict[str, Output[str]] = {spec.GESTURE_TOKEN_ENV: Output.secret(token.result)}
        needs_bus = spec.needs_event_bus(spec.BACKEND, args.app_droplets)
        container_bus = needs_bus and args.event_bus == "container"
        gpu_secrets: dict[str, Output[str]] = {}
        bus_url: Output[str] | None = None
        managed: event_bus.ManagedValkey | None = None
        if needs_bus and args.event_bus == "managed":
            managed = event_bus.ManagedValkey(
                f"{name}-bus", event_bus.ManagedValkeyArgs(stack=args.stack, region=args.region, vpc_id=vpc.id, app_tag=app_tag.name), opts=child
            )
            secrets[spec.EVENT_BUS.password_env] = managed.password
            bus_url = managed.url
        elif container_bus:
            bus_password = random.RandomPassword(f"{name}-bus-password", length=SECRET_LENGTH, special=False, opts=child)
            secrets[spec.EVENT_BUS.password_env] = Output.secret(bus_password.result)
            gpu_secrets[spec.EVENT_BUS.password_env] = Output.secret(bus_password.result)

        pull_config: Output[str | None] = registry.pull_config if registry.pull_config is not None else Output.from_input(None)
        volume_name = f"{physical}-ollama"
        gpu_data = Output.all(refs=Output.all(**registry.refs), secrets=Output.all(**gpu_secrets), pull=pull_config).apply(
            lambda v: gpu_user_data(
                compose.dump(gpu_compose(v["refs"], args.ollama_model, container_bus)), v["secrets"], v["pull"], volume_name, container_bus
            )
        )
        gpu = DockerDroplet(
            f"{name}-gpu",
            DockerDropletArgs(
                physical_name=f"{physical}-gpu",
                region=args.region,
                size=args.gpu_size,
                image=catalog.gpu_image(args.gpu_size),
                vpc_id=vpc.id,
                user_data=gpu_data,
                tags=[gpu_tag.name],
                ssh_keys=args.ssh_keys,
                replace_first=True,
                volume=DataVolume(volume_name, args.models_volume_gib, args.retain_data, f"Ollama's model store ({physical})"),
            ),
            opts=child,
        )
        gpu_ports = (Port(spec.OLLAMA.port, "http"), *((Port(spec.EVENT_BUS.port, "tcp"),) if container_bus else ()))
        gpu_front = InternalLoadBalancer(
            f"{name}-gpu-lb",
            InternalLoadBalancerArgs(
                region=args.region,
                vpc_id=vpc.id,
                droplet_tag=gpu_tag.name,
                ports=gpu_ports,
                health_port=spec.OLLAMA.port,
                health_path=spec.OLLAMA.liveness.path,
            ),
            opts=child,
        )
        ollama_url = Output.concat("http://", gpu_front.ip, f":{spec.OLLAMA.port}")
        if container_bus:
            bus_url = Output.concat(f"{spec.EVENT_BUS.schemes[0]}://", gpu_front.ip, f":{spec.EVENT_BUS.port}/0")

        s3cfg = Output.all(models.reader_access_key, models.reader_secret_key, models.spaces_region).apply(
            lambda v: boot.s3cmd_config(v[0], v[1], v[2])
        )
        app_data = Output.all(
            refs=Output.all(**registry.refs),
            secrets=Output.all(**secrets),
            pull=pull_config,
            ollama=ollama_url,
            bus=bus_url if bus_url is not None else Output.from_input(None),
            bucket=models.bucket_name,
            s3cfg=s3cfg,
            ca=managed.ca_certificate if managed is not None else Output.from_input(None),
        ).apply(
            lambda v: app_user_data(
                compose.dump(app_compose(v["refs"], args.ollama_model, v["ollama"], v["bus"], bus_ca=v["ca"] is not None)),
                v["secrets"],
                v["pull"],
                v["bucket"],
                v["s3cfg"],
                v["ca"],
            )
        )
        apps = [
            DockerDroplet(
                f"{name}-app-{i}",
                DockerDropletArgs(
                    physical_name=f"{physical}-app-{i}",
                    region=args.region,
                    size=args.app_size,
                    image=catalog.APP_IMAGE,
                    vpc_id=vpc.id,
                    user_data=app_data,
                    tags=[app_tag.name],
                    ssh_keys=args.ssh_keys,
                ),
                opts=child,
            )
            for i in range(args.app_droplets)
        ]

        web = PublicLoadBalancer(
            f"{name}-lb",
            PublicLoadBalancerArgs(
                region=args.region,
                vpc_id=vpc.id,
                droplet_tag=app_tag.name,
                target_port=FRONTEND_HOST_PORT,
                health_path=spec.FRONTEND.readiness.path,
                domain=args.domain,
                zone=args.zone,
            ),
            opts=child,
        )
        role_firewall(
            f"{name}-app-firewall",
            app_tag.name,
            [Inbound(FRONTEND_HOST_PORT, from_load_balancers=[web.id])],
            args.ssh_sources,
            args.vpc_cidr,
            self,
        )
        gpu_inbound = [Inbound(p.port, from_load_balancers=[gpu_front.id]) for p in gpu_ports]
        role_firewall(f"{name}-gpu-firewall", gpu_tag.name, gpu_inbound, args.ssh_sources, args.vpc_cidr, self)
        alerts = droplet_alerts(f"{name}-alert", args.stack, [app_tag.name, gpu_tag.name], args.alert_emails, self)

        self.url = web.url
        self.load_balancer_ip = web.ip
        self.app_droplet_ids = [a.droplet_id for a in apps]
        self.gpu_droplet_id = gpu.droplet_id
        self.gpu_private_ip = gpu.private_ip
        self.models_bucket = models.bucket_name
        self.models_volume_id = gpu.volume_id if gpu.volume_id is not None else Output.from_input("")
        self.registry_name = registry.registry_name
        self.event_bus_url = bus_url if bus_url is not None else Output.from_input("")
        self.alert_policies = [a.uuid for a in alerts]
        self.register_outputs(
            {
                "url": self.url,
                "loadBalancerIp": self.load_balancer_ip,
                "appDropletIds": self.app_droplet_ids,
                "gpuDropletId": self.gpu_droplet_id,
                "gpuPrivateIp": self.gpu_private_ip,
                "modelsBucket": self.models_bucket,
                "modelsVolumeId": self.models_volume_id,
                "registryName": self.registry_name,
                "eventBusUrl": self.event_bus_url,
                "alertPolicies": self.alert_policies,
            }
        )
