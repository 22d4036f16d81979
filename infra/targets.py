"""The registry: every cloud and every stack kind this project knows, one line each.

A cloud is a package `infra/<cloud>/` that may hold, by name:
- `config.py`  the config models of its stack kinds (see `infra.config`);
- `mocks.py`   `MOCKS`, the answers the offline engine gives for its provider's
               resources and invokes (`infra.plan.mocking.MockAnswers`);
- `prices.py`  `PRICER`, its dated price tables and how its resources are billed
               (`infra.cost.pricing.Pricer`);
- `checks.py`  its rules and check adapters (registered on import with the
               decorators in `infra.checks`).
A cloud may have only some of these (`k8s` has no config of its own to price
machines with; its objects are free).

A stack kind names its cloud, its config model and its module under
`stacks/`. Shared code looks things up here and never imports a cloud's
module by name; nothing here is imported until it is asked for, so planning
an AWS stack does not load the Google Cloud SDK.

Adding a target is a folder under `infra/`, a module under `stacks/`, and a
line in each table below (see docs/adding-a-target.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from infra.config import DixiConfig


@dataclass(frozen=True)
class Cloud:
    """A package under `infra/` and the Pulumi provider packages whose resources it answers for."""

    name: str
    providers: tuple[str, ...]
    label: str  # as the comparison table shows it

    @property
    def package(self) -> str:
        return f"infra.{self.name}"

    def module(self, part: str) -> ModuleType | None:
        """`infra.<cloud>.<part>`, or None when the cloud has no such module."""
        name = f"{self.package}.{part}"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name in (name, self.package):
                return None
            raise


@dataclass(frozen=True)
class Kind:
    """A stack kind: the value of `dixi:target`."""

    name: str
    cloud: str
    config: str  # class name in infra/<cloud>/config.py
    stack: str  # module name under stacks/
    summary: str

    def config_model(self) -> type[DixiConfig]:
        model: type[DixiConfig] = getattr(importlib.import_module(f"infra.{self.cloud}.config"), self.config)
        return model

    def deploy(self) -> Callable[[Any], None]:
        deploy: Callable[[Any], None] = importlib.import_module(f"stacks.{self.stack}").deploy
        return deploy


CLOUDS: Final = MappingProxyType(
    {
        c.name: c
        for c in (
            Cloud("aws", providers=("aws",), label="AWS"),
            Cloud("gcp", providers=("gcp", "google-native"), label="Google Cloud"),
            Cloud("azure", providers=("azure-native", "azure"), label="Azure"),
            Cloud("digitalocean", providers=("digitalocean",), label="DigitalOcean"),
            Cloud("k8s", providers=("kubernetes",), label="Kubernetes"),
        )
    }
)

KINDS: Final = MappingProxyType(
    {
        k.name: k
        for k in (
            Kind("aws", "aws", "AwsEcsConfig", "aws", "ECS: Fargate for the web tier and vision, a GPU capacity provider for Ollama, one ALB"),
            Kind("aws-ec2", "aws", "AwsEc2Config", "aws_ec2", "one GPU host running Docker Compose behind an ALB"),
            Kind("gcp", "gcp", "GcpConfig", "gcp", "Cloud Run behind a global load balancer, Ollama on a GPU VM or Cloud Run GPU"),
            Kind("azure", "azure", "AzureConfig", "azure", "AKS: a system pool for the web tier, an autoscaled GPU pool for Ollama, ACR, Blob storage for vision's models"),
            Kind("do", "digitalocean", "DoConfig", "do", "app Droplets behind a load balancer, a GPU Droplet for Ollama with a volume, Spaces, DOCR"),
            Kind("k8s", "k8s", "K8sConfig", "k8s", "the app and pinned add-ons (Envoy Gateway, cert-manager, NVIDIA device plugin) on a cluster you already have"),
        )
    }
)


def cloud_of_provider(package: str) -> Cloud | None:
    """The cloud that answers for a provider package (`aws` -> AWS), if any."""
    for cloud in CLOUDS.values():
        if package in cloud.providers:
            return cloud
    return None


def modules(part: str) -> list[ModuleType]:
    """`infra.<cloud>.<part>` of every cloud that has one."""
    return [m for m in (c.module(part) for c in CLOUDS.values()) if m is not None]
