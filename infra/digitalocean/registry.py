"""`DocrImages`: DigitalOcean Container Registry, the images `pulumi up` builds into it, and the Droplets' pull credentials.

Creates, when any service is built from `app/` and no existing registry is
named (`dixi:doRegistryName`), a registry on the Basic tier (5 repositories,
5 GiB: the app pushes 4; Starter holds 1, docs.digitalocean.com/products/
container-registry/details/pricing). Its name is global across DigitalOcean,
so it ends in a random suffix kept in the state. DigitalOcean allows one
registry per account on Basic: a user who has one names it instead, and the
images go there as `dixi-<service>` repositories.

The images are built and pushed by the shared `infra.k8s.images.PushedImages`
(digest references, kept on destroy), logging in with write credentials the
provider generates (`ContainerRegistryDockerCredentials(write=True)`), which
never leave the program.

The Droplets pull with read-only credentials (`write=False`), a Docker config
JSON handed to them in their user data (`infra.digitalocean.boot`). DOCR's
credentials are tokens scoped to the registry, read-only or read/write; the
provider asks for the longest expiry the API allows, about 50 years
(registry/resource_container_registry_docker_credentials.go,
`expirySecondsDefault`), which the pull credentials keep: a Droplet replaced
a year from now must still pull. Destroy asks DigitalOcean to revoke them,
best effort (the provider ignores a failed revocation): check API > Tokens
afterwards.

Prebuilt images (`dixi:images`) come from public registries or DOCR (the
config refuses others); pull credentials are generated whenever a DOCR image
is pulled.

Destroy: a registry this stack created is deleted with its images (build
output, rebuilt from `app/`); one it was given is left as it was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_random as random
from pulumi import Output, ResourceOptions

from infra import spec
from infra.config import registry_host
from infra.digitalocean.config import DOCR_HOST
from infra.k8s.images import PushedImages, PushedImagesArgs

TIER: Final = "basic"


def docr_login(docker_config: str) -> tuple[str, str]:
    """(username, password) for DOCR from a Docker config JSON (`auths` -> `auth`, base64 `user:password`)."""
    auths: dict[str, dict[str, str]] = json.loads(docker_config).get("auths") or {}
    entry: dict[str, str] = auths.get(DOCR_HOST) or next(iter(auths.values()), {})
    user, _, password = base64.b64decode(entry.get("auth", "")).decode().partition(":")
    return user, password


def docr_registry_of(reference: str) -> str | None:
    """The DOCR registry name an image reference pulls from (`registry.digitalocean.com/<name>/...`), if any."""
    if registry_host(reference) != DOCR_HOST:
        return None
    return reference.split("/")[1]


@dataclass(frozen=True)
class DocrImagesArgs:
    stack: str
    prebuilt: Mapping[str, str]
    existing_registry: str  # "" to create one


class DocrImages(pulumi.ComponentResource):
    refs: dict[str, Output[str]]
    registry_name: Output[str]
    # A Docker config JSON the Droplets pull with (secret); None when every image is public.
    pull_config: Output[str] | None

    def __init__(self, name: str, args: DocrImagesArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:DocrImages", name, None, opts)
        child = ResourceOptions(parent=self)
        builds = [s for s in spec.SERVICES if s.name not in args.prebuilt]
        registry_name: Output[str] | None = None
        if args.existing_registry:
            registry_name = Output.from_input(args.existing_registry)
        elif builds:
            suffix = random.RandomString(f"{name}-suffix", length=6, special=False, upper=False, opts=child)
            registry = digitalocean.ContainerRegistry(
                name,
                name=Output.concat(f"dixi-{args.stack}-", suffix.result),
                subscription_tier_slug=TIER,
                opts=child,
            )
            registry_name = registry.name
        self.refs = {s: Output.from_input(ref) for s, ref in args.prebuilt.items()}
        if builds and registry_name is not None:
            push = digitalocean.ContainerRegistryDockerCredentials(f"{name}-push", registry_name=registry_name, write=True, opts=child)
            login = push.docker_credentials.apply(docr_login)
            pushed = PushedImages(
                f"{name}-build",
                PushedImagesArgs(
                    registry=Output.concat(DOCR_HOST, "/", registry_name),
                    prebuilt=args.prebuilt,
                    registry_host=DOCR_HOST,
                    username=login.apply(lambda pair: pair[0]),
                    password=Output.secret(login.apply(lambda pair: pair[1])),
                ),
                opts=child,
            )
            self.refs = dict(pushed.refs)
        pulled = {docr_registry_of(ref) for ref in args.prebuilt.values()} - {None}
        if builds and registry_name is not None:
            pull_from: pulumi.Input[str] | None = registry_name
        else:
            pull_from = next(iter(sorted(r for r in pulled if r)), None)
        self.registry_name = registry_name if registry_name is not None else Output.from_input(pull_from or "")
        self.pull_config = None
        if pull_from is not None:
            pull = digitalocean.ContainerRegistryDockerCredentials(f"{name}-pull", registry_name=pull_from, write=False, opts=child)
            self.pull_config = Output.secret(pull.docker_credentials)
        self.register_outputs({"refs": self.refs, "registryName": self.registry_name})
