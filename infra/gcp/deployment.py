"""`GcpDeployment`: the app on Google Cloud, Cloud Run behind one global load balancer, Ollama on a GPU.

The seed's "Cloud Run + GPU VMs" picture, composed from the GCP components:
- the project APIs the stack uses, enabled by it and left enabled on destroy
  (other workloads of the project may use them);
- `GcpNetwork`: a VPC, one subnet with Private Google Access, Cloud NAT, and
  the one firewall rule into Ollama (from the subnet only);
- `ArtifactImages` (images built from `app/` or prebuilt), `GcsModelsBucket`
  (vision's models; kept on destroy unless `retain_data` is false), the
  gesture token in Secret Manager;
- `CloudRunService` for the frontend, backend and vision, each with its own
  service account; the frontend and backend take traffic from the load
  balancer only, vision from inside the project's network only; the backend
  and vision leave through the VPC (Direct VPC egress), so the backend
  reaches Ollama's private address and the bus, and vision's calls to the
  backend count as internal;
- Ollama: `OllamaVm` (a GPU VM in a managed instance group of one, its
  models on a persistent disk and its address static, both kept across VM
  replacement) or, with `ollama_runtime` "cloud-run", a `CloudRunService`
  with one NVIDIA L4, its models in a bucket mounted as a volume;
- `RedisBus` when the backend can run more than one instance;
- `GlobalLb`: `/` to the frontend, `/api` and `/ws` to the backend, HTTPS
  with a Google-managed certificate and an HTTP->HTTPS redirect with a domain.

Private reach is Direct VPC egress, not a Serverless VPC Access connector:
Google recommends it for Cloud Run, and a connector bills the VMs it runs on
(cloud.google.com/run/docs/configuring/networking-best-practices).

Services reach each other by URL: Cloud Run services at their deterministic
address, `https://<service>-<project number>.<region>.run.app`
(cloud.google.com/run/docs/triggering/https-request#deterministic), so the
backend and vision, which call each other, need not wait for each other;
Ollama's VM at `http://<static internal address>:11434`.

Left out: Cloud Armor, a custom log bucket and retention (Cloud Logging's
default bucket keeps 30 days), DNS records (the `dnsRecord` output says
which A record to create).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp.artifactregistry as artifactregistry
import pulumi_gcp.compute as compute
import pulumi_gcp.organizations as organizations
import pulumi_gcp.projects as projects
import pulumi_gcp.storage as storage
from pulumi import Output, ResourceOptions
from pulumi_gcp.provider import Provider

from infra import spec
from infra.gcp import catalog, naming
from infra.gcp.cloud_run import CloudRunService, CloudRunServiceArgs, SecretFile
from infra.gcp.event_bus import CA_DIRECTORY, CA_FILE, RedisBus, RedisBusArgs
from infra.gcp.load_balancer import GlobalLb, GlobalLbArgs, LbRoute
from infra.gcp.network import GcpNetwork, GcpNetworkArgs
from infra.gcp.ollama_vm import OllamaVm, OllamaVmArgs
from infra.gcp.registry import ArtifactImages, ArtifactImagesArgs
from infra.gcp.secret import GcpSecret, GcpSecretArgs
from infra.gcp.storage import GcsModelsBucket, GcsModelsBucketArgs

APIS = (
    "run.googleapis.com",
    "compute.googleapis.com",
    "artifactregistry.googleapis.com",
    "iam.googleapis.com",
    "secretmanager.googleapis.com",
    "redis.googleapis.com",
    "logging.googleapis.com",
)
OLLAMA_TAG = "dixi-ollama"
# The Deep Learning VM image family with the NVIDIA driver, CUDA 12.8 and Docker
# (project deeplearning-platform-release); resolved at each `up`, so a new image
# reaches the next VM the group creates. Second-hand family name (cloud-facts.md §2).
GPU_IMAGE_FAMILY = "common-cu128-ubuntu-2204-nvidia-570"
GPU_IMAGE_PROJECT = "deeplearning-platform-release"
BOOT_DISK_GIB = 100
WEB_MAX_INSTANCES = 5
# Requests one instance takes at once. The backend holds a WebSocket per viewer
# up to its cap (Cloud Run's maximum is 1000); vision decodes frames on its CPU.
CONCURRENCY = {spec.FRONTEND.name: 250, spec.BACKEND.name: spec.WS_MAX_CLIENTS, spec.VISION.name: 16}
VISION_MAX_INSTANCES = 2


@dataclass(frozen=True)
class GcpDeploymentArgs:
    stack: str
    project: str
    region: str
    zone: str
    ollama_runtime: str
    gpu_machine_type: str
    models_disk_gib: int
    backend_min_instances: int
    backend_max_instances: int
    domain: str | None
    ollama_model: str
    vision_gpu: bool
    retain_data: bool
    prebuilt_images: Mapping[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def run_url(service: str, project_number: str | int, region: str) -> str:
    """A Cloud Run service's deterministic URL."""
    return f"https://{service}-{project_number}.{region}.run.app"


def env_from(service: spec.Service, model: str, resolved: list[Any]) -> dict[str, str]:
    """`env_of` from the resolved (URLs, bus URL) pair."""
    return env_of(service, model, resolved[0], resolved[1])


def env_of(service: spec.Service, model: str, urls: Mapping[str, str], bus_url: str | None) -> dict[str, str]:
    """The service's plain env, every link by its URL; with a bus, its URL and CA file."""
    env = spec.service_env(service, lambda s: "", model, event_bus_url=bus_url if service.event_bus else None, url_of=lambda s: urls[s.name])
    if bus_url and service.event_bus:
        env["EVENT_BUS_CA_FILE"] = f"{CA_DIRECTORY}/{CA_FILE}"
    return env


class GcpDeployment(pulumi.ComponentResource):
    url: Output[str]
    ip_address: Output[str]
    service_urls: dict[str, Output[str]]
    ollama_url: Output[str]
    ollama_group: Output[str]
    models_bucket: Output[str]
    dns_record: Output[dict[str, str]]

    def __init__(self, name: str, args: GcpDeploymentArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:GcpDeployment", name, None, opts)
        apis: Sequence[pulumi.Resource] = [
            projects.Service(f"{name}-api-{api.split('.')[0]}", service=api, project=args.project, disable_on_destroy=False, opts=ResourceOptions(parent=self))
            for api in APIS
        ]
        # Every other resource is created through a provider that waits for the APIs: a
        # component's dependsOn does not reach its children, but a provider does (children
        # inherit their parent's providers, and wait for their provider to exist).
        provider = Provider(f"{name}-gcp", project=args.project, region=args.region, opts=ResourceOptions(parent=self, depends_on=list(apis)))
        child = ResourceOptions(parent=self, providers=[provider])
        labels = dict(args.labels)
        # Physical names are per project: each starts with the deployment's and the stack's name.
        prefix = naming.physical(name, args.stack, limit=naming.INSTANCE)

        def named(service: spec.Service) -> str:
            return naming.physical(prefix, service.name, limit=naming.CLOUD_RUN_SERVICE)
        project = organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self, provider=provider))

        on_vm = args.ollama_runtime == "vm"
        network = GcpNetwork(f"{name}-net", GcpNetworkArgs(region=args.region, ollama_tag=OLLAMA_TAG if on_vm else None), opts=child)
        images = ArtifactImages(
            f"{name}-images", ArtifactImagesArgs(project=args.project, region=args.region, prebuilt=args.prebuilt_images, labels=labels, repository_id=f"{prefix}-images"), opts=child
        )
        bucket = GcsModelsBucket(f"{name}-models", GcsModelsBucketArgs(region=args.region, retain=args.retain_data, labels=labels), opts=child)
        token = GcpSecret(f"{name}-gesture-token", GcpSecretArgs(secret_id=f"{prefix}-gesture-token", labels=labels), opts=child)

        _, backend_most = args.backend_min_instances, args.backend_max_instances
        bus = None
        if spec.needs_event_bus(spec.BACKEND, backend_most):
            bus = RedisBus(f"{name}-bus", RedisBusArgs(region=args.region, network=network.network_id, secret_prefix=prefix, labels=labels), opts=child)

        urls: dict[str, Output[str]] = {
            s.name: project.number.apply(functools.partial(run_url, named(s), region=args.region)) for s in spec.SERVICES if s is not spec.OLLAMA
        }
        readers: list[Output[str]] = []
        if on_vm:
            image = compute.get_image_output(family=GPU_IMAGE_FAMILY, project=GPU_IMAGE_PROJECT, opts=pulumi.InvokeOutputOptions(parent=self, provider=provider))
            vm = OllamaVm(
                f"{name}-ollama",
                OllamaVmArgs(
                    project=args.project,
                    region=args.region,
                    zone=args.zone,
                    machine_type=args.gpu_machine_type,
                    accelerator=catalog.attached_accelerator(args.gpu_machine_type),
                    network=network.network_id,
                    subnetwork=network.subnetwork_id,
                    image=image.self_link,
                    boot_disk_gib=BOOT_DISK_GIB,
                    models_disk_gib=args.models_disk_gib,
                    ollama_image=images.refs[spec.OLLAMA.name],
                    ollama_model=args.ollama_model,
                    registry_host=images.host,
                    retain_data=args.retain_data,
                    network_tag=OLLAMA_TAG,
                    labels=labels,
                    physical_prefix=f"{prefix}-ollama",
                ),
                opts=child,
            )
            urls[spec.OLLAMA.name] = vm.ollama_url
            readers.append(vm.service_account_member)
            self.ollama_group = vm.group_name
        else:
            store = GcsModelsBucket(f"{name}-ollama-store", GcsModelsBucketArgs(region=args.region, retain=args.retain_data, labels=labels), opts=child)
            ollama = CloudRunService(
                f"{name}-ollama",
                CloudRunServiceArgs(
                    service=spec.OLLAMA,
                    project=args.project,
                    region=args.region,
                    image=images.refs[spec.OLLAMA.name],
                    env=spec.service_env(spec.OLLAMA, lambda s: "", args.ollama_model),
                    secrets={},
                    ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
                    min_instances=0,
                    max_instances=1,
                    timeout_seconds=spec.OLLAMA.request_timeout_seconds or 300,
                    gpu=catalog.CLOUD_RUN_OLLAMA_GPU,
                    gcs_volume_bucket=store.bucket_name,
                    labels=labels,
                    physical_name=named(spec.OLLAMA),
                ),
                opts=child,
            )
            storage.BucketIAMMember(
                f"{name}-ollama-store-rw", bucket=store.bucket_name, role="roles/storage.objectUser", member=ollama.service_account_member, opts=child
            )
            urls[spec.OLLAMA.name] = ollama.uri
            readers.append(ollama.service_account_member)
            self.ollama_group = Output.from_input("")

        bus_url: Output[str | None] = bus.url if bus is not None else Output.from_input(None)
        all_urls = Output.all(**urls)
        self.service_urls = {}
        web: dict[str, CloudRunService] = {}
        shapes = {
            spec.FRONTEND.name: ("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", 0, WEB_MAX_INSTANCES, False),
            spec.BACKEND.name: ("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", args.backend_min_instances, args.backend_max_instances, True),
            spec.VISION.name: ("INGRESS_TRAFFIC_INTERNAL_ONLY", 0, VISION_MAX_INSTANCES, True),
        }
        for s in (spec.FRONTEND, spec.BACKEND, spec.VISION):
            ingress, low, high, private = shapes[s.name]
            secrets: dict[str, pulumi.Input[str]] = {var: token.secret_id for var in s.secret_env}
            files: list[SecretFile] = []
            if s.event_bus is not None and bus is not None:
                secrets[s.event_bus.password_env] = bus.password_secret_id
                files.append(SecretFile(bus.ca_secret_id, CA_DIRECTORY, CA_FILE))
            env = Output.all(all_urls, bus_url).apply(functools.partial(env_from, s, args.ollama_model))
            web[s.name] = CloudRunService(
                f"{name}-{s.name}",
                CloudRunServiceArgs(
                    service=s,
                    project=args.project,
                    region=args.region,
                    image=images.refs[s.name],
                    env=env,
                    secrets=secrets,
                    secret_files=files,
                    ingress=ingress,
                    min_instances=low,
                    max_instances=high,
                    network=network.network_id if private else None,
                    subnetwork=network.subnetwork_id if private else None,
                    # WebSockets end at the request timeout; Cloud Run's longest is an hour.
                    timeout_seconds=3600 if s is spec.BACKEND else 300,
                    session_affinity=s is spec.BACKEND,
                    # The backend's bus subscription and its timers run between requests.
                    cpu_always=s is spec.BACKEND,
                    gcs_volume_bucket=bucket.bucket_name if s is spec.VISION else None,
                    concurrency=CONCURRENCY[s.name],
                    physical_name=named(s),
                    # dixi:visionGpu: vision on a Cloud Run L4 (infra/gcp/config.py checks the region offers one).
                    gpu=catalog.CLOUD_RUN_OLLAMA_GPU if spec.gpus(s, args.vision_gpu) else None,
                    labels=labels,
                ),
                opts=child,
            )
            self.service_urls[s.name] = web[s.name].uri
            readers.append(web[s.name].service_account_member)
        storage.BucketIAMMember(
            f"{name}-models-read", bucket=bucket.bucket_name, role="roles/storage.objectViewer", member=web[spec.VISION.name].service_account_member, opts=child
        )
        for index, member in enumerate(readers):
            artifactregistry.RepositoryIamMember(
                f"{name}-images-read-{index}",
                repository=images.repository_name,
                location=images.location,
                role="roles/artifactregistry.reader",
                member=member,
                opts=child,
            )
        lb = GlobalLb(
            f"{name}-web",
            GlobalLbArgs(
                region=args.region,
                routes=(
                    LbRoute(spec.FRONTEND.name, web[spec.FRONTEND.name].service_name),
                    LbRoute(spec.BACKEND.name, web[spec.BACKEND.name].service_name, paths=spec.BACKEND.public_paths),
                ),
                domain=args.domain,
                labels=labels,
            ),
            opts=child,
        )
        self.url = lb.url
        self.ip_address = lb.ip_address
        self.ollama_url = urls[spec.OLLAMA.name]
        self.models_bucket = bucket.bucket_name
        self.dns_record = lb.dns_record
        self.register_outputs(
            {
                "url": self.url,
                "ipAddress": self.ip_address,
                "serviceUrls": self.service_urls,
                "ollamaUrl": self.ollama_url,
                "ollamaGroup": self.ollama_group,
                "modelsBucket": self.models_bucket,
                "dnsRecord": self.dns_record,
            }
        )
