"""`ArtifactImages`: an Artifact Registry Docker repository and the images `pulumi up` builds into it.

For each service of the spec without a prebuilt reference in `dixi:images`,
builds `app/<service>` for linux/amd64 and pushes it to one Docker
repository in the stack's region; `refs` gives each service's image (a
digest reference when built here, so a rebuilt image always rolls out).
The build logs in with the deploying identity's short-lived access token
(`oauth2accesstoken`, from `gcp.organizations.get_client_config`).

Destroy: the repository is deleted with its images (build output, rebuilt
from `app/`). The image resources are `retainOnDelete`: an access token
lasts an hour, and docker-build's delete would use the stored, expired one
(as on AWS: infra/aws/registry.py).

Readers (the Cloud Run services' accounts, the GPU VM's) are granted
`roles/artifactregistry.reader` on this repository only, by the caller
(`repository_name`, `location`). Left out: vulnerability scanning settings, cleanup policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_docker_build as docker_build
import pulumi_gcp.artifactregistry as artifactregistry
import pulumi_gcp.organizations as organizations
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common.images import build_and_push


@dataclass(frozen=True)
class ArtifactImagesArgs:
    project: str
    region: str
    prebuilt: Mapping[str, str]
    labels: dict[str, str]
    repository_id: str = ""  # the component's name when empty


class ArtifactImages(pulumi.ComponentResource):
    refs: dict[str, Output[str]]
    repository_url: Output[str]
    repository_name: Output[str]
    location: Output[str]
    host: Output[str]

    def __init__(self, name: str, args: ArtifactImagesArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:ArtifactImages", name, None, opts)
        child = ResourceOptions(parent=self)
        repository = artifactregistry.Repository(
            f"{name}",
            repository_id=args.repository_id or name,
            location=args.region,
            format="DOCKER",
            description="Dixi images built by pulumi up",
            labels=args.labels,
            opts=child,
        )
        host = f"{args.region}-docker.pkg.dev"
        url = f"{host}/{args.project}/{args.repository_id or name}"
        token = organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.refs = {}
        for service in spec.SERVICES:
            if service.name in args.prebuilt:
                self.refs[service.name] = Output.from_input(args.prebuilt[service.name])
                continue
            image = build_and_push(
                f"{name}-{service.name}",
                service,
                tag=f"{url}/{service.name}:latest",
                registries=[docker_build.RegistryArgs(address=host, username="oauth2accesstoken", password=Output.secret(token.access_token))],
                # See the module docstring: destroy must not need an hour-long token.
                opts=ResourceOptions(parent=self, retain_on_delete=True, depends_on=[repository]),
            )
            self.refs[service.name] = image.ref
        self.repository_url = Output.from_input(url)
        self.repository_name = repository.name
        self.location = repository.location
        self.host = Output.from_input(host)
        self.register_outputs(
            {"refs": self.refs, "repositoryUrl": self.repository_url, "repositoryName": self.repository_name, "location": self.location, "host": self.host}
        )
