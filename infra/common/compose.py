"""Render the app spec as Docker Compose files: one for a cloud VM host, one for a developer's machine.

`render()` is the file every VM target boots (AWS EC2 now; DigitalOcean
droplets and GCE GPU VMs later). All four services run on the one host on a
private bridge network; only the frontend publishes a port on the host, for
the load balancer. The backend, vision and Ollama are reachable only inside
that network (vision and Ollama are never published, not even on loopback).
Logs go to the cloud's log driver; with `awslogs` each container writes to a
stream named `<service>/<container id>` (the driver's `tag` option: Docker's
awslogs driver has no `awslogs-stream-prefix`, which is ECS's).

`render_local()` is `app/docker-compose.yml`, which `dixi render compose`
writes and a test keeps current: the same services, ports, env wiring,
read-only roots and scratch paths, built from `app/`, with the developer's
settings (`GESTURE_TOKEN`, `OLLAMA_MODEL`, `LOG_LEVEL`, `CAMERA_SOURCE`) read
from the environment, and every port published on loopback only except the
page's.

Open-file limits are the spec's (`max_open_files`): the runtime's default
soft limit (1024 on newer Docker) sits at the backend's WebSocket cap.

Health checks are the images' own (each Dockerfile's HEALTHCHECK uses what
that image has), so they are not repeated here.

Left out on purpose: secret values in the cloud file (they come from an env
file the boot script writes from the cloud's secret store), the seed's
`/dev/video0` camera device (cloud hosts have no camera: vision runs in
frame-upload mode; `app/docker-compose.camera.yml` adds it locally), and
replicas (one host runs one of each).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from infra import spec

NETWORK: Final = "dixi-network"
SECRETS_ENV_FILE: Final = "/opt/dixi/secrets.env"
LOCAL_FILE: Final = "app/docker-compose.yml"
# Ports a developer's browser and tools reach on their machine.
LOCAL_PAGE_PORT: Final = 5173
LOCAL_VOLUME_NAMES: Final = {"ollama": "ollama-models"}
# Settings a developer passes through the environment, per service, as compose interpolations.
_LOCAL_ENV: Final = {
    "backend": {"LOG_LEVEL": "${LOG_LEVEL:-INFO}", "LOG_FILE": "/app/logs/backend.log"},
    "vision": {"LOG_LEVEL": "${LOG_LEVEL:-INFO}", "CAMERA_SOURCE": "${CAMERA_SOURCE:-}"},
}
_LOCAL_MODEL: Final = f"${{OLLAMA_MODEL:-{spec.DEFAULT_OLLAMA_MODEL}}}"
_REQUIRED_SECRET: Final = "${{{0}:?set {0} to a long random string}}"
_LOCAL_LOGGING: Final = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
# Log drivers whose stream or line tag we set to the service's name.
_TAGGED_DRIVERS: Final = ("awslogs",)


@dataclass(frozen=True)
class HostLayout:
    """Where the host keeps what must outlive a container."""

    data_dir: str = "/var/lib/dixi"  # one subdirectory per spec volume
    frontend_host_port: int = 80


def _gpu_reservation(count: int) -> dict[str, Any]:
    return {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": count, "capabilities": ["gpu"]}]}}}


def _common(service: spec.Service) -> dict[str, Any]:
    entry: dict[str, Any] = {"restart": "unless-stopped", "networks": [NETWORK], "security_opt": ["no-new-privileges:true"]}
    if service.scratch_paths is not None:
        entry["read_only"] = True
        entry["tmpfs"] = list(service.scratch_paths)
    if service.max_open_files is not None:
        entry["ulimits"] = {"nofile": {"soft": service.max_open_files, "hard": service.max_open_files}}
    return entry


def _logging(logging: Mapping[str, Any], service: str) -> dict[str, Any]:
    options = dict(logging.get("options", {}))
    if logging.get("driver") in _TAGGED_DRIVERS:
        options["tag"] = f"{service}/{{{{.ID}}}}"
    return {"driver": logging["driver"], "options": options}


def render(
    images: Mapping[str, str],
    ollama_model: str,
    logging: Mapping[str, Any] | None = None,
    layout: HostLayout = HostLayout(),
    vision_gpu: bool = False,
    *,
    only: Collection[str] | None = None,
    url_of: Callable[[spec.Service], str] | None = None,
    event_bus_url: str | None = None,
) -> dict[str, Any]:
    """The compose document (as a dict) running every spec service from `images` on a cloud host.

    A target that spreads the services over several hosts renders one
    document per host: `only` names the services this host runs, `url_of`
    gives the base URL of a service on another host (its private address),
    and `event_bus_url` the bus the backend shares events through when
    several hosts run one.
    """
    services: dict[str, Any] = {}
    here = set(only) if only is not None else {s.name for s in spec.SERVICES}
    for service in spec.SERVICES:
        if service.name not in here:
            continue
        entry = {"image": images[service.name], **_common(service)}
        bus_url = event_bus_url if service.event_bus is not None else None
        entry["environment"] = spec.service_env(service, lambda s: s.name, ollama_model, event_bus_url=bus_url, url_of=url_of)
        if service.secret_env:
            entry["env_file"] = [SECRETS_ENV_FILE]
        if service is spec.FRONTEND:
            entry["ports"] = [f"{layout.frontend_host_port}:{service.port}"]
        if service.volumes:
            entry["volumes"] = [f"{layout.data_dir}/{v.name}:{v.mount_path}" for v in service.volumes]
        gpus = spec.gpus(service, vision_gpu)
        if gpus:
            entry["deploy"] = _gpu_reservation(gpus)
        # Start order only: the backend reports vision and Ollama in its readiness
        # and recovers when they come up, and Ollama's first model pull can take
        # many minutes, which must not hold the frontend (the ALB target) back.
        # Vision links back to the backend, so it does not wait for it.
        local_links = sorted(set(service.links.values()) & here)
        if service is not spec.VISION and local_links:
            entry["depends_on"] = {d: {"condition": "service_started"} for d in local_links}
        if logging:
            entry["logging"] = _logging(logging, service.name)
        services[service.name] = entry
    return {"name": "dixi", "services": services, "networks": {NETWORK: {"driver": "bridge"}}}


def _local_volume(volume: spec.Volume) -> str:
    return LOCAL_VOLUME_NAMES.get(volume.name, volume.name)


def render_local() -> dict[str, Any]:
    """`app/docker-compose.yml`: every service built from `app/`, for one developer machine."""
    services: dict[str, Any] = {}
    for service in spec.SERVICES:
        context = service.build_context.removeprefix("app/")
        build: Any = f"./{context}"
        if service.named_contexts:
            build = {"context": f"./{context}", "additional_contexts": {k: "./" + v.removeprefix("app/") for k, v in service.named_contexts.items()}}
        entry: dict[str, Any] = {"build": build, "image": f"dixi/{service.name}:local"}
        host = f"{LOCAL_PAGE_PORT}" if service is spec.FRONTEND else f"127.0.0.1:{service.port}"
        entry["ports"] = [f"{host}:{service.port}"]
        env = spec.service_env(service, lambda s: s.name, _LOCAL_MODEL)
        env.update({var: _REQUIRED_SECRET.format(var) for var in service.secret_env})
        env.update(_LOCAL_ENV.get(service.name, {}))
        entry["environment"] = env
        # Locally everything waits for what it links to be healthy: there is no load balancer to hold back.
        if service is not spec.VISION and service.links:
            entry["depends_on"] = {d: {"condition": "service_healthy"} for d in sorted(set(service.links.values()))}
        entry.update(_common(service))
        if service.volumes:
            entry["volumes"] = [f"{_local_volume(v)}:{v.mount_path}" for v in service.volumes]
        entry["logging"] = dict(_LOCAL_LOGGING)
        services[service.name] = entry
    volumes: dict[str, Any] = {_local_volume(v): {} for s in spec.SERVICES for v in s.volumes}
    return {"name": "dixi", "services": services, "networks": {NETWORK: {"driver": "bridge"}}, "volumes": volumes}


LOCAL_HEADER: Final = f"""\
# Dixi on one Docker host, after the seed's deployment architecture.
# Generated from infra/spec.py by `dixi render compose` (tests fail when it is stale): edit the spec, not this file.
# GESTURE_TOKEN must be set (e.g. in app/.env); OLLAMA_MODEL, LOG_LEVEL and CAMERA_SOURCE are optional.
# Only the page ({LOCAL_PAGE_PORT}) is published beyond loopback.
# Overlays: docker-compose.gpu.yml (an NVIDIA GPU for Ollama), docker-compose.camera.yml (a camera for vision),
# docker-compose.replicas.yml (two backends sharing events through a Valkey container).
"""


def dump(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False)


def dump_local() -> str:
    return LOCAL_HEADER + "\n" + dump(render_local())
