"""The `gcp` stack kind: Cloud Run for the frontend, backend and vision behind one global load balancer, Ollama on a GPU.

Composes `infra.gcp.GcpDeployment` from the validated config and owns the
stack outputs. Creates nothing itself.
"""

from __future__ import annotations

import pulumi

from infra import spec
from infra.common.naming import tags
from infra.gcp.config import GcpConfig
from infra.gcp.deployment import GcpDeployment, GcpDeploymentArgs


def labels(stack: str, kind: str) -> dict[str, str]:
    """The common tags as GCP labels: lowercase letters, digits, hyphens and underscores."""
    return {k.lower(): "".join(c if c.isalnum() or c in "-_" else "-" for c in v.lower())[:63] for k, v in tags(stack, kind).items()}


def deploy(cfg: GcpConfig) -> None:
    stack = pulumi.get_stack()
    app = GcpDeployment(
        "dixi",
        GcpDeploymentArgs(
            stack=stack,
            project=cfg.project,
            region=cfg.region,
            zone=cfg.zone,
            ollama_runtime=cfg.ollama_runtime,
            gpu_machine_type=cfg.gpu_machine_type,
            models_disk_gib=cfg.models_disk_gib,
            backend_min_instances=cfg.backend_min_instances,
            backend_max_instances=cfg.backend_max_instances,
            domain=cfg.domain,
            ollama_model=cfg.ollama_model,
            vision_gpu=cfg.vision_gpu,
            retain_data=cfg.retain_data,
            prebuilt_images=cfg.images,
            labels=labels(stack, cfg.stack_kind),
        ),
    )
    pulumi.export("url", app.url)
    pulumi.export("ipAddress", app.ip_address)
    pulumi.export("serviceUrls", app.service_urls)
    pulumi.export("ollamaUrl", app.ollama_url)
    if cfg.ollama_runtime == "vm":
        pulumi.export("ollamaGroup", app.ollama_group)
    pulumi.export("modelsBucket", app.models_bucket)
    pulumi.export("dataKeptOnDestroy", cfg.retain_data)
    pulumi.export("imageSources", {s.name: ("prebuilt: " + cfg.images[s.name]) if s.name in cfg.images else f"build: {s.build_context}" for s in spec.SERVICES})
    if cfg.domain:
        pulumi.export("dnsRecord", app.dns_record)
