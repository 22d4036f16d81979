"""Config model of the `gcp` stack kind: Cloud Run for the web tier, Ollama on a GPU VM or on Cloud Run.

Limits come from `infra.gcp.catalog`, which says where each comes from.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from infra.config import Bad, DixiConfig, int_in, one_of, registry_host, suggest, text
from infra.gcp import catalog

# Project IDs: 6 to 30 lowercase letters, digits and hyphens, starting with a
# letter, not ending with a hyphen (https://cloud.google.com/resource-manager/docs/creating-managing-projects).
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# pd-balanced disks are 10 GiB to 64 TiB (https://cloud.google.com/compute/docs/disks).
PD_MAX_GIB = 65536
RUNTIMES = ("vm", "cloud-run")
MAX_INSTANCES = 20


def _project(value: Any) -> str:
    found = text(value)
    if not _PROJECT.match(found):
        raise Bad("is not a Google Cloud project ID (6 to 30 lowercase letters, digits and hyphens, starting with a letter)")
    return found


def _machine_type(value: Any) -> str:
    found = text(value)
    if found not in catalog.STACK_GPU_MACHINE_TYPES:
        raise Bad(f"is not a GPU machine type this stack can run and price; {suggest(found, catalog.STACK_GPU_MACHINE_TYPES)}")
    return found


def _zone_suffix(value: Any) -> str:
    found = text(value)
    if not re.fullmatch(r"[a-f]", found):
        raise Bad("is not a zone letter; use one of a, b, c, d, e, f (the zone is <region>-<letter>)")
    return found


class GcpConfig(DixiConfig):
    """`gcp`: Cloud Run services behind a global Application Load Balancer, Ollama on a GPU."""

    stack_kind: Literal["gcp"] = Field(alias="dixi:target")
    project: Annotated[str, BeforeValidator(_project)] = Field(alias="gcp:project")
    region: Annotated[str, one_of(catalog.REGIONS, "a region this stack can run and price")] = Field(alias="gcp:region")
    ollama_runtime: Annotated[str, one_of(RUNTIMES, "a way this stack runs Ollama")] = Field(alias="dixi:ollamaRuntime")
    gpu_machine_type: Annotated[str, BeforeValidator(_machine_type)] = Field(alias="dixi:gceMachineType")
    gpu_zone: Annotated[str, BeforeValidator(_zone_suffix)] = Field(alias="dixi:gceZone")
    models_disk_gib: Annotated[int, int_in(10, PD_MAX_GIB, "pd-balanced disks are 10 GiB to 64 TiB")] = Field(alias="dixi:modelsDiskGiB")
    backend_min_instances: Annotated[int, int_in(0, MAX_INSTANCES)] = Field(alias="dixi:backendMinInstances")
    backend_max_instances: Annotated[int, int_in(1, MAX_INSTANCES)] = Field(alias="dixi:backendMaxInstances")

    @property
    def location(self) -> str:
        return self.region

    @property
    def zone(self) -> str:
        return f"{self.region}-{self.gpu_zone}"

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures = super().cross_checks()
        if self.backend_max_instances < max(self.backend_min_instances, 1):
            failures.append(("dixi:backendMaxInstances", self.backend_max_instances, f"is below dixi:backendMinInstances ({self.backend_min_instances})"))
        for service, reference in sorted(self.images.items()):
            host = registry_host(reference)
            own = catalog.ARTIFACT_REGISTRY_HOST.match(host) and reference.split("/")[1:2] == [self.project]
            if host not in catalog.PUBLIC_REGISTRIES and not own:
                failures.append(
                    (
                        "dixi:images",
                        f"{service}={reference}",
                        f"pulls from {host}, which the stack's service accounts cannot read; use this project's Artifact Registry "
                        f"(<region>-docker.pkg.dev/{self.project}/...) or a public image on {', '.join(catalog.PUBLIC_REGISTRIES)}",
                    )
                )
        offering = sorted(catalog.CLOUD_RUN_GPUS[catalog.CLOUD_RUN_OLLAMA_GPU].regions)
        for wants, why in ((self.ollama_runtime == "cloud-run", "dixi:ollamaRuntime 'cloud-run'"), (self.vision_gpu, "dixi:visionGpu")):
            if wants and self.region not in offering:
                failures.append(("gcp:region", self.region, f"has no Cloud Run {catalog.CLOUD_RUN_OLLAMA_GPU} GPUs for {why}; regions that do: {', '.join(offering)}"))
        return failures
