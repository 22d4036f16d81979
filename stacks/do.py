"""The `do` stack kind: app Droplets behind a DigitalOcean load balancer, a GPU Droplet for Ollama, Spaces, DOCR.

Composes `infra.digitalocean.DropletDeployment` from the validated config
and owns the stack outputs. Creates nothing itself. No output carries a
secret: the gesture token and the bus password stay in the state (secret)
and on the Droplets.
"""

from __future__ import annotations

import pulumi

from infra import spec
from infra.digitalocean.config import DoConfig
from infra.digitalocean.deployment import DropletDeployment, DropletDeploymentArgs


def deploy(cfg: DoConfig) -> None:
    stack = pulumi.get_stack()
    app = DropletDeployment(
        "dixi",
        DropletDeploymentArgs(
            stack=stack,
            region=cfg.region,
            vpc_cidr=cfg.vpc_cidr,
            app_size=cfg.app_size,
            app_droplets=cfg.app_droplets,
            gpu_size=cfg.gpu_size,
            models_volume_gib=cfg.models_volume_gib,
            ollama_model=cfg.ollama_model,
            domain=cfg.domain,
            zone=cfg.zone,
            event_bus=cfg.event_bus,
            retain_data=cfg.retain_data,
            registry_name=cfg.registry_name,
            ssh_sources=cfg.ssh_sources,
            ssh_keys=cfg.ssh_keys,
            alert_emails=cfg.alert_emails,
            prebuilt_images=cfg.images,
        ),
    )
    pulumi.export("url", app.url)
    pulumi.export("loadBalancerIp", app.load_balancer_ip)
    pulumi.export("appDropletIds", app.app_droplet_ids)
    pulumi.export("gpuDropletId", app.gpu_droplet_id)
    pulumi.export("modelsBucket", app.models_bucket)
    pulumi.export("modelsVolumeId", app.models_volume_id)
    pulumi.export("dataKeptOnDestroy", cfg.retain_data)
    pulumi.export("registry", app.registry_name)
    pulumi.export("imageSources", {s.name: (f"prebuilt: {cfg.images[s.name]}" if s.name in cfg.images else f"built from {s.build_context}") for s in spec.SERVICES})
    pulumi.export("eventBus", cfg.event_bus if spec.needs_event_bus(spec.BACKEND, cfg.app_droplets) else "none: one backend")
    pulumi.export("alertPolicies", app.alert_policies if cfg.alert_emails else "none: set dixi:doAlertEmails")
    pulumi.export("bootLog", "cloud-init status --long; /var/log/dixi-boot.log on each Droplet (Recovery Console, or SSH from dixi:doSshSources)")
