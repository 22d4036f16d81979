"""Render the app spec as a Docker Compose file for one VM host.

Used by every VM target (AWS EC2 now; DigitalOcean droplets and GCE GPU VMs
later). All four services run on the one host on a private bridge network;
only the frontend publishes a port on the host, for the load balancer. The
backend, vision and Ollama are reachable only inside that network (vision and
Ollama are never published, not even on loopback).

Health checks are the images' own (each Dockerfile's HEALTHCHECK uses what
that image has), so they are not repeated here.

Left out on purpose: secret values (they come from an env file the boot
script writes from the cloud's secret store, never from this file), the
seed's `/dev/video0` camera device (cloud hosts have no camera: vision runs in
frame-upload mode), and replicas (one host runs one of each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from infra import spec

NETWORK: Final = "dixi-network"
SECRETS_ENV_FILE: Final = "/opt/dixi/secrets.env"


@dataclass(frozen=True)
class HostLayout:
    """Where the host keeps what must outlive a container."""

    data_dir: str = "/var/lib/dixi"  # one subdirectory per spec volume
    frontend_host_port: int = 80


def render(
    images: Mapping[str, str],
    ollama_model: str,
    logging: Mapping[str, Any] | None = None,
    layout: HostLayout = HostLayout(),
) -> dict[str, Any]:
    """The compose document (as a dict) running every spec service from `images`."""
    services: dict[str, Any] = {}
    for service in spec.SERVICES:
        entry: dict[str, Any] = {
            "image": images[service.name],
            "restart": "unless-stopped",
            "networks": [NETWORK],
            "environment": spec.service_env(service, lambda s: s.name, ollama_model),
            "security_opt": ["no-new-privileges:true"],
        }
        if service.scratch_paths is not None:
            entry["read_only"] = True
            entry["tmpfs"] = list(service.scratch_paths)
        if service.secret_env:
            entry["env_file"] = [SECRETS_ENV_FILE]
        if service is spec.FRONTEND:
            entry["ports"] = [f"{layout.frontend_host_port}:{service.port}"]
        if service.volumes:
            entry["volumes"] = [f"{layout.data_dir}/{v.name}:{v.mount_path}" for v in service.volumes]
        if service.gpus:
            entry["deploy"] = {
                "resources": {
                    "reservations": {
                        "devices": [{"driver": "nvidia", "count": service.gpus, "capabilities": ["gpu"]}]
                    }
                }
            }
        # Start order only: the backend reports vision and Ollama in its readiness
        # and recovers when they come up, and Ollama's first model pull can take
        # many minutes, which must not hold the frontend (the ALB target) back.
        # Vision links back to the backend, so it does not wait for it.
        if service is not spec.VISION and service.links:
            entry["depends_on"] = {d: {"condition": "service_started"} for d in sorted(set(service.links.values()))}
        if logging:
            entry["logging"] = _with_stream_prefix(logging, service.name)
        services[service.name] = entry
    return {"name": "dixi", "services": services, "networks": {NETWORK: {"driver": "bridge"}}}


def _with_stream_prefix(logging: Mapping[str, Any], service: str) -> dict[str, Any]:
    options = dict(logging.get("options", {}))
    if logging.get("driver") == "awslogs":
        options["awslogs-stream-prefix"] = service
    return {"driver": logging["driver"], "options": options}


def dump(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False)
