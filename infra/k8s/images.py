"""`PushedImages`: the app's images built from `app/` and pushed to a registry a cluster pulls from.

For each service of the spec without a prebuilt reference in `dixi:images`,
builds `app/<service>` for linux/amd64 and pushes it to `<registry>/<service>`;
`refs` gives each service's image as a digest reference, so a rebuilt image
always rolls out and a pod never runs a tag that moved under it.

Credentials: with `username`/`password` the build logs in to the registry
itself (ACR's token); without them it pushes with the deploying machine's own
Docker login (`docker login ghcr.io`), which is how the `k8s` kind works with
a registry it does not manage. Pulling is the cluster's business: the
kubelet's identity (AKS with AcrPull), node credentials, or a public image.

Destroy: the images stay in the registry (`retainOnDelete`): deleting a digest
needs a login that may have expired since `up` (as on AWS and Google Cloud).
Creates no registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_docker_build as docker_build
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common.images import build_and_push


@dataclass(frozen=True)
class PushedImagesArgs:
    registry: pulumi.Input[str]  # host[/path] the images go to, e.g. "ghcr.io/acme"
    prebuilt: Mapping[str, str]
    registry_host: pulumi.Input[str] | None = None  # for the login, when username is given
    username: pulumi.Input[str] | None = None
    password: pulumi.Input[str] | None = None


class PushedImages(pulumi.ComponentResource):
    refs: dict[str, Output[str]]

    def __init__(self, name: str, args: PushedImagesArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:k8s:PushedImages", name, None, opts)
        login = None
        if args.username is not None and args.password is not None and args.registry_host is not None:
            login = [docker_build.RegistryArgs(address=args.registry_host, username=args.username, password=Output.secret(args.password))]
        self.refs = {}
        for service in spec.SERVICES:
            if service.name in args.prebuilt:
                self.refs[service.name] = Output.from_input(args.prebuilt[service.name])
                continue
            image = build_and_push(
                f"{name}-{service.name}",
                service,
                tag=Output.concat(args.registry, "/dixi-", service.name, ":latest"),
                registries=login,
                opts=ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.refs[service.name] = image.ref
        self.register_outputs({"refs": self.refs})
