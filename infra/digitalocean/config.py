"""Config model of the `do` stack kind: app Droplets behind a load balancer, a GPU Droplet for Ollama, Spaces, DOCR.

Limits come from `infra.digitalocean.catalog`, which says where each comes
from: sizes and regions the catalog knows (a GPU size only where DigitalOcean
offers it), VPC ranges DigitalOcean accepts, volume sizes. The DigitalOcean
API token and the Spaces keys are not read here: the provider reads them
(`digitalocean:token` or `DIGITALOCEAN_TOKEN`; `digitalocean:spacesAccessId` /
`spacesSecretKey` or `SPACES_ACCESS_KEY_ID` / `SPACES_SECRET_ACCESS_KEY`),
so no code of ours ever holds them.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field

from infra.config import (
    Bad,
    DixiConfig,
    address_ranges,
    entries,
    int_in,
    one_of,
    registry_host,
    suggest,
    text,
)
from infra.digitalocean import catalog

EVENT_BUS_PROFILES: Final = ("container", "managed")
MAX_APP_DROPLETS: Final = 10
# DOCR registry names: "lowercase alphanumeric characters and dashes, up to 63" (container_registry.py, `name`).
_REGISTRY_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# An SSH key as DigitalOcean names it: its numeric id or its MD5 fingerprint (aa:bb:...).
_SSH_KEY = re.compile(r"^(\d+|([0-9a-f]{2}:){15}[0-9a-f]{2})$")
# The stack name goes into Droplet, volume, VPC, registry and bucket names: DigitalOcean takes lowercase
# letters, digits and "-", a volume's name starts with a letter (openapi volumes/models/volume_base.yml),
# a registry's is at most 63 (registry_create.yml) and the bucket's, `dixi-<stack>-models-<6>`, too.
_STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
# Registries a Droplet can pull from: public ones anonymously, DOCR with the stack's pull credentials.
PUBLIC_REGISTRIES: Final = ("docker.io", "ghcr.io", "quay.io", "public.ecr.aws", "registry.k8s.io")
DOCR_HOST: Final = "registry.digitalocean.com"


def _size(kind: str) -> BeforeValidator:
    def check(value: Any) -> str:
        found = text(value)
        known = catalog.size(found)
        wanted = tuple(s for s, size in catalog.SIZES.items() if (size.gpus > 0) == (kind == "GPU"))
        if known is None:
            raise Bad(f"is not a Droplet size this stack can run and price; {suggest(found, wanted)} (infra/digitalocean/catalog.py)")
        if kind == "GPU" and known.gpu_vendor.lower() != "nvidia":
            raise Bad(
                f"is an {known.gpu_vendor or 'unknown'} GPU size; the Ollama image and the boot set up NVIDIA's runtime only, "
                f"so use an NVIDIA size such as {catalog.DEFAULT_GPU_SIZE}"
            )
        if kind == "GPU" and known.gpus != 1:
            raise Bad(f"has {known.gpus} GPUs; Ollama runs on one: use a single-GPU size such as {catalog.DEFAULT_GPU_SIZE}")
        if kind != "GPU" and known.gpus:
            raise Bad(f"is a GPU size; the app Droplets run the web tier and vision on CPUs, e.g. {catalog.DEFAULT_APP_SIZE}")
        return found

    return BeforeValidator(check)


def _vpc_cidr(value: Any) -> str:
    found = text(value)
    try:
        network = ipaddress.ip_network(found)
    except ValueError:
        raise Bad("is not a CIDR block; use e.g. '10.60.0.0/20'") from None
    if not isinstance(network, ipaddress.IPv4Network) or not network.is_private or not 16 <= network.prefixlen <= 24:
        raise Bad("is not a private IPv4 range from /16 to /24, which DigitalOcean VPCs take (RFC 1918)")
    for reserved in catalog.RESERVED_VPC_RANGES:
        if network.overlaps(ipaddress.ip_network(reserved)):
            raise Bad(f"overlaps {reserved}, which DigitalOcean reserves; pick another private range")
    return str(network)


def _sources(value: Any) -> list[str]:
    return address_ranges(value, "SSH is opened to named addresses only")


def _ssh_keys(value: Any) -> list[str]:
    keys = [e for e in entries(value) if e]
    for key in keys:
        if not _SSH_KEY.match(key.lower()):
            raise Bad(f"has {key!r}, which is not a DigitalOcean SSH key id or MD5 fingerprint (doctl compute ssh-key list)")
    return [k.lower() for k in keys]


def _emails(value: Any) -> list[str]:
    emails = [e for e in entries(value) if e]
    for email in emails:
        if not _EMAIL.match(email):
            raise Bad(f"has {email!r}, which is not an email address")
    return emails


def _registry_name(value: Any) -> str:
    found = text(value)
    if found and not _REGISTRY_NAME.match(found):
        raise Bad("is not a registry name (lowercase letters, digits and dashes, up to 63); or '' to create one")
    return found


def _zone(value: Any) -> str:
    found = text(value).lower().rstrip(".")
    if found and not _DNS_NAME.match(found):
        raise Bad("is not a DNS zone name such as 'example.com'; or '' when dixi:domain is itself the zone")
    return found


class DoConfig(DixiConfig):
    """`do`: app Droplets behind a DigitalOcean load balancer, a GPU Droplet for Ollama, Spaces, DOCR."""

    stack_kind: Literal["do"] = Field(alias="dixi:target")
    region: Annotated[str, one_of(catalog.REGIONS, "a DigitalOcean region this stack can run and price")] = Field(alias="dixi:doRegion")
    app_size: Annotated[str, _size("app")] = Field(alias="dixi:doAppSize")
    app_droplets: Annotated[int, int_in(1, MAX_APP_DROPLETS, "two keep the app up while one is replaced")] = Field(alias="dixi:doAppDroplets")
    gpu_size: Annotated[str, _size("GPU")] = Field(alias="dixi:doGpuSize")
    vpc_cidr: Annotated[str, BeforeValidator(_vpc_cidr)] = Field(alias="dixi:doVpcCidr")
    models_volume_gib: Annotated[
        int, int_in(catalog.VOLUME_GIB.start, catalog.VOLUME_GIB.stop - 1, "DigitalOcean volume sizes")
    ] = Field(alias="dixi:doModelsVolumeGiB")
    event_bus: Annotated[str, one_of(EVENT_BUS_PROFILES, "an event bus profile")] = Field(alias="dixi:doEventBus")
    registry_name: Annotated[str, BeforeValidator(_registry_name)] = Field(alias="dixi:doRegistryName")
    ssh_sources: Annotated[list[str], BeforeValidator(_sources)] = Field(alias="dixi:doSshSources")
    ssh_keys: Annotated[list[str], BeforeValidator(_ssh_keys)] = Field(alias="dixi:doSshKeys")
    alert_emails: Annotated[list[str], BeforeValidator(_emails)] = Field(alias="dixi:doAlertEmails")
    dns_zone: Annotated[str, BeforeValidator(_zone)] = Field(alias="dixi:doDnsZone")

    @property
    def location(self) -> str:
        return self.region

    @property
    def zone(self) -> str | None:
        """The DigitalOcean-managed DNS zone that holds `domain` (the domain itself unless set)."""
        return (self.dns_zone or self.domain) if self.domain else None

    @property
    def stack_name(self) -> str:
        return self.stack_file.removeprefix("Pulumi.").removesuffix(".yaml")

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        failures: list[tuple[str, Any, str]] = []
        if not _STACK_NAME.match(self.stack_name):
            failures.append(
                (
                    "the stack name",
                    self.stack_name,
                    "goes into the names of Droplets, the volume, the registry and the bucket, which DigitalOcean takes only as "
                    "lowercase letters, digits and '-', starting with a letter, up to 30 here; rename the stack (pulumi stack rename)",
                )
            )
        offered = catalog.GPU_REGIONS.get(self.gpu_size, ())
        if self.region not in offered:
            where = ", ".join(offered) or "no region at the catalog's date"
            failures.append(("dixi:doRegion", self.region, f"does not offer GPU Droplets of size {self.gpu_size}; it is offered in: {where}"))
        if self.vision_gpu:
            failures.append(
                (
                    "dixi:visionGpu",
                    True,
                    "is not supported on do: vision runs on the app Droplets' CPUs (hundreds of frames a second on one core); "
                    "a GPU for it would be a second GPU Droplet (see the README's seed-shape figure)",
                )
            )
        for reserved in catalog.reserved_vpc_ranges(self.region):
            if ipaddress.ip_network(self.vpc_cidr).overlaps(ipaddress.ip_network(reserved)):
                failures.append(("dixi:doVpcCidr", self.vpc_cidr, f"overlaps {reserved}, which DigitalOcean reserves in {self.region}; pick another private range"))
        if self.dns_zone and not self.domain:
            failures.append(("dixi:doDnsZone", self.dns_zone, "is set but dixi:domain is empty; set the domain to serve, or clear the zone"))
        if self.domain and self.dns_zone and self.domain != self.dns_zone and not self.domain.endswith("." + self.dns_zone):
            failures.append(("dixi:doDnsZone", self.dns_zone, f"does not contain dixi:domain ({self.domain})"))
        if self.ssh_sources and not self.ssh_keys:
            failures.append(("dixi:doSshSources", self.ssh_sources, "opens SSH but dixi:doSshKeys names no key to log in with"))
        for service, reference in sorted(self.images.items()):
            host = registry_host(reference)
            if host not in PUBLIC_REGISTRIES and host != DOCR_HOST:
                failures.append(
                    (
                        "dixi:images",
                        f"{service}={reference}",
                        f"pulls from {host}, which the Droplets cannot log in to: they hold pull credentials for DigitalOcean's registry only; "
                        f"leave the service out to build it, or use {DOCR_HOST} or a public registry ({', '.join(PUBLIC_REGISTRIES)})",
                    )
                )
        return failures
