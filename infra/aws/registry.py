"""`ImageRegistry`: an ECR repository for each service the stack builds, and the images `pulumi up` builds.

For each service in the app spec without a prebuilt reference in
`dixi:images`: an ECR repository (scan on push, AES-256 at rest, keeps the
last ten images) and a `docker-build:Image` that builds `app/<service>` for
linux/amd64 and pushes it, with a registry build cache. `refs` gives each
service's image reference (a digest reference when built here, so a rebuilt
image always rolls out). `pull_hosts` and `pull_repository_arns` are what a
host must log in to and be allowed to pull: the stack's repositories and the
ECR repositories of prebuilt references (public registries need neither).

Destroy: repositories are deleted with their images (`force_delete`): images
are build output, rebuilt from `app/`, not data. The image resources are
`retainOnDelete`, so destroy makes no registry call with the credentials
saved in state: ECR tokens last 12 hours, and docker-build's Image.Delete
uses the stored ones (pulumi/pulumi-docker-build provider/internal/image.go;
it ignores the failure and leaves the digest behind). The repositories'
deletion removes the images instead.

Left out: building on the user's machine without Docker. `pulumi up` needs a
Docker daemon with buildx unless every image is prebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws.ecr as ecr
import pulumi_docker_build as docker_build
from pulumi import Output, ResourceOptions

from infra import spec
from infra.aws import catalog
from infra.common.images import build_and_push
from infra.config import registry_host

KEEP_IMAGES = 10


@dataclass(frozen=True)
class ImageRegistryArgs:
    prebuilt: Mapping[str, str]
    tags: dict[str, str]


def pull_statements(repository_arns: Sequence[str]) -> list[dict[str, Any]]:
    """IAM statements that let a role log in to ECR and pull from exactly `repository_arns` (none: no statement)."""
    if not repository_arns:
        return []
    return [
        # GetAuthorizationToken takes no resource (Service Authorization Reference, Amazon ECR).
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "EcrPull",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": sorted(repository_arns),
        },
    ]


def image_source(service: spec.Service, prebuilt: Mapping[str, str]) -> tuple[Literal["prebuilt", "build"], str]:
    """How a service's image is obtained: ('prebuilt', ref) or ('build', context)."""
    if service.name in prebuilt:
        return "prebuilt", prebuilt[service.name]
    return "build", service.build_context


def ecr_repository_arn(reference: str) -> str | None:
    """The ARN of the ECR repository an image reference pulls from, or None for another registry."""
    host, _, path = reference.partition("/")
    match = catalog.ECR_REGISTRY.match(host)
    if match is None:
        return None
    repository = path.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{repository}"


class ImageRegistry(pulumi.ComponentResource):
    refs: dict[str, Output[str]]
    repository_urls: dict[str, Output[str]]
    pull_hosts: Output[list[str]]
    pull_repository_arns: Output[list[str]]
    # Per service: the ECR repositories its image pulls from (none for a public prebuilt image).
    service_repository_arns: dict[str, Output[list[str]]]

    def __init__(self, name: str, args: ImageRegistryArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:ImageRegistry", name, None, opts)
        child = ResourceOptions(parent=self)
        self.refs, self.repository_urls, self.service_repository_arns = {}, {}, {}
        lifecycle = json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": f"keep the last {KEEP_IMAGES} images",
                        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
                        "action": {"type": "expire"},
                    }
                ]
            }
        )
        hosts: list[Output[str] | str] = []
        arns: list[Output[str] | str] = []
        for service in spec.SERVICES:
            source, where = image_source(service, args.prebuilt)
            if source == "prebuilt":
                self.refs[service.name] = Output.from_input(where)
                prebuilt_arn = ecr_repository_arn(where)
                if prebuilt_arn:
                    hosts.append(registry_host(where))
                    arns.append(prebuilt_arn)
                self.service_repository_arns[service.name] = Output.from_input([prebuilt_arn] if prebuilt_arn else [])
                continue
            repo = ecr.Repository(
                f"{name}-{service.name}",
                image_scanning_configuration=ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
                image_tag_mutability="MUTABLE",
                force_delete=True,
                tags={**args.tags, "service": service.name},
                opts=child,
            )
            ecr.LifecyclePolicy(f"{name}-{service.name}", repository=repo.name, policy=lifecycle, opts=child)
            self.repository_urls[service.name] = repo.repository_url
            hosts.append(repo.repository_url.apply(lambda url: url.split("/", 1)[0]))
            arns.append(repo.arn)
            self.service_repository_arns[service.name] = repo.arn.apply(lambda arn: [arn])
            auth = ecr.get_authorization_token_output(registry_id=repo.registry_id, opts=pulumi.InvokeOutputOptions(parent=self))
            image = build_and_push(
                f"{name}-{service.name}",
                service,
                location=where,
                tag=repo.repository_url.apply(lambda url: f"{url}:latest"),
                # Marked here too: a secret must not rely on the provider's schema alone.
                registries=[docker_build.RegistryArgs(address=repo.repository_url, username=auth.user_name, password=Output.secret(auth.password))],
                cache_ref=repo.repository_url.apply(lambda url: f"{url}:buildcache"),
                # See the module docstring: destroy must not need a 12-hour registry token.
                opts=ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.refs[service.name] = image.ref

        self.pull_hosts = Output.all(*hosts).apply(lambda v: sorted(set(v)))
        self.pull_repository_arns = Output.all(*arns).apply(lambda v: sorted(set(v)))
        self.register_outputs(
            {
                "refs": self.refs,
                "repositoryUrls": self.repository_urls,
                "pullHosts": self.pull_hosts,
                "pullRepositoryArns": self.pull_repository_arns,
                "serviceRepositoryArns": self.service_repository_arns,
            }
        )
