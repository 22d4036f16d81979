"""What every Kubernetes stack kind deploys into its cluster: the add-ons it asked for, then the app.

`ClusterApp` is created by `stacks/k8s.py` (a cluster you already have) and
`stacks/azure.py` (the AKS cluster it just built) with
`ResourceOptions(providers=[<that cluster's Kubernetes provider>])`: every
child inherits the provider. Creates the gesture token and, through
`ClusterAddons` and `Workloads`, everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_random as random
from pulumi import ResourceOptions

from infra.k8s.addons import ClusterAddons, ClusterAddonsArgs
from infra.k8s.config import ClusterAppConfig
from infra.k8s.placement import GpuPlacement
from infra.k8s.workloads import Workloads, WorkloadsArgs


@dataclass(frozen=True)
class CloudWiring:
    """What a cloud adds to the workloads: its models store, identities and pod labels."""

    models_volume: pulumi.Input[Mapping[str, Any]] | None = None
    service_account_annotations: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    pod_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    image_pull_secret: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ClusterAppArgs:
    config: ClusterAppConfig
    images: Mapping[str, pulumi.Input[str]]
    gpu: GpuPlacement
    labels: Mapping[str, str]
    wiring: CloudWiring = field(default_factory=CloudWiring)


class ClusterApp(pulumi.ComponentResource):
    """The add-ons the config asks for, then the app: one component, so that a cluster stack is one line."""

    url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    gateway_class: str | None
    workloads: Workloads
    addons: ClusterAddons

    def __init__(self, name: str, args: ClusterAppArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:k8s:ClusterApp", name, None, opts)
        cfg, wiring = args.config, args.wiring
        child = ResourceOptions(parent=self)
        self.addons = ClusterAddons(
            f"{name}-addons",
            ClusterAddonsArgs(
                gateway=cfg.gateway_installed,
                cert_manager=cfg.install_cert_manager,
                acme_email=cfg.acme_email or None,
                nvidia_device_plugin=cfg.install_gpu_plugin,
                gpu=args.gpu,
                ingress_class=cfg.ingress_class if cfg.routing == "ingress" else None,
            ),
            opts=child,
        )
        token = random.RandomPassword(f"{name}-gesture-token", length=40, special=False, opts=child)
        self.workloads = Workloads(
            f"{name}-app",
            WorkloadsArgs(
                images=args.images,
                gesture_token=token.result,
                ollama_model=cfg.ollama_model,
                domain=cfg.domain,
                routing=cfg.routing,
                gateway_class=self.addons.gateway_class or "",
                gateway_namespace=self.addons.gateway_namespace if cfg.gateway_installed else cfg.traffic_namespace,
                ingress_class=cfg.ingress_class,
                cluster_issuer=self.addons.cluster_issuer,
                gpu=args.gpu,
                vision_gpu=cfg.vision_gpu,
                storage_class=cfg.storage_class or None,
                event_bus_url=cfg.event_bus_url or None,
                event_bus_password=None,
                models_volume=wiring.models_volume,
                service_account_annotations=wiring.service_account_annotations,
                pod_labels=wiring.pod_labels,
                image_pull_secret=wiring.image_pull_secret,
                retain_data=cfg.retain_data,
                labels=args.labels,
                depends_on=self.addons.ready,
            ),
            opts=child,
        )
        self.gateway_class = self.addons.gateway_class
        self.url = self.workloads.url
        self.namespace = self.workloads.namespace
        self.register_outputs({"url": self.url, "namespace": self.namespace})
