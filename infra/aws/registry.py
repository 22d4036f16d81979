"""`ImageRegistry`: an ECR repository per service, and the images `pulumi up` builds into them.

For each service in the app spec: an ECR repository (scan on push, AES-256
at rest, keeps the last ten images) and, unless the stack config supplies a
prebuilt reference in `dixi:images`, a `docker-build:Image` that builds
`app/<service>` for linux/amd64 and pushes it, with a registry build cache.
`refs` gives each service's image reference (a digest reference when built
here, so a rebuilt image always rolls out).

Left out: building on the user's machine without Docker. `pulumi up` needs a
Docker daemon with buildx unless every image is prebuilt. Repositories are
deleted with their images on destroy (`force_delete`): images are build
output, rebuilt from `app/`, not data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws.ecr as ecr
import pulumi_docker_build as docker_build
from pulumi import ResourceOptions

from infra import spec

KEEP_IMAGES = 10


@dataclass(frozen=True)
class ImageRegistryArgs:
    prebuilt: Mapping[str, str]
    tags: dict[str, str]


def image_source(service: spec.Service, prebuilt: Mapping[str, str]) -> tuple[Literal["prebuilt", "build"], str]:
    """How a service's image is obtained: ('prebuilt', ref) or ('build', context)."""
    if service.name in prebuilt:
        return "prebuilt", prebuilt[service.name]
    return "build", service.build_context


class ImageRegistry(pulumi.ComponentResource):
    refs: dict[str, pulumi.Output[str]]
    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: list[pulumi.Output[str]]
    registry_host: pulumi.Output[str]

    def __init__(self, name: str, args: ImageRegistryArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:ImageRegistry", name, None, opts)
        child = ResourceOptions(parent=self)
        self.refs, self.repository_urls, self.repository_arns = {}, {}, []
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
        for service in spec.SERVICES:
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
            self.repository_arns.append(repo.arn)

            source, where = image_source(service, args.prebuilt)
            if source == "prebuilt":
                self.refs[service.name] = pulumi.Output.from_input(where)
                continue
            auth = ecr.get_authorization_token_output(
                registry_id=repo.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            image = docker_build.Image(
                f"{name}-{service.name}",
                context=docker_build.BuildContextArgs(
                    location=where,
                    named={k: docker_build.ContextArgs(location=v) for k, v in service.named_contexts.items()},
                ),
                dockerfile=docker_build.DockerfileArgs(location=f"{where}/Dockerfile"),
                platforms=[docker_build.Platform.LINUX_AMD64],
                push=True,
                tags=[repo.repository_url.apply(lambda url: f"{url}:latest")],
                registries=[
                    docker_build.RegistryArgs(
                        address=repo.repository_url,
                        username=auth.user_name,
                        # Marked here too: a secret must not rely on the provider's schema alone.
                        password=pulumi.Output.secret(auth.password),
                    )
                ],
                cache_from=[
                    docker_build.CacheFromArgs(
                        registry=docker_build.CacheFromRegistryArgs(
                            ref=repo.repository_url.apply(lambda url: f"{url}:buildcache")
                        )
                    )
                ],
                cache_to=[
                    docker_build.CacheToArgs(
                        registry=docker_build.CacheToRegistryArgs(
                            ref=repo.repository_url.apply(lambda url: f"{url}:buildcache"),
                            image_manifest=True,
                            oci_media_types=True,
                        )
                    )
                ],
                opts=child,
            )
            self.refs[service.name] = image.ref

        first = self.repository_urls[spec.SERVICES[0].name]
        self.registry_host = first.apply(lambda url: url.split("/", 1)[0])
        self.register_outputs({"refs": self.refs, "repositoryUrls": self.repository_urls})
