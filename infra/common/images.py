"""`build_and_push`: one app service's image, built from its `app/` context for linux/amd64 and pushed.

Every target that builds images (ECR on AWS, Artifact Registry on Google
Cloud, ACR or any registry on Kubernetes) builds them the same way: the
service's build context and Dockerfile, its named contexts (`COPY --from`),
linux/amd64, pushed under one tag, so the image's `ref` is a digest
reference and a rebuilt image always rolls out. The caller names the tag, the
registry login and, where the registry holds one, the build cache; and it
keeps the resource on destroy (`retain_on_delete`), since deleting a digest
needs a login that may have expired since `up`.

Creates exactly one `docker-build:index:Image`; no registry.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_docker_build as docker_build
from pulumi import ResourceOptions

from infra import spec


def build_and_push(
    resource_name: str,
    service: spec.Service,
    *,
    tag: pulumi.Input[str],
    registries: Sequence[docker_build.RegistryArgs] | None,
    opts: ResourceOptions,
    location: str | None = None,
    cache_ref: pulumi.Input[str] | None = None,
) -> docker_build.Image:
    where = location or service.build_context
    return docker_build.Image(
        resource_name,
        context=docker_build.BuildContextArgs(
            location=where,
            named={k: docker_build.ContextArgs(location=v) for k, v in service.named_contexts.items()},
        ),
        dockerfile=docker_build.DockerfileArgs(location=f"{where}/Dockerfile"),
        platforms=[docker_build.Platform.LINUX_AMD64],
        push=True,
        tags=[tag],
        registries=list(registries) if registries is not None else None,
        cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=cache_ref))] if cache_ref is not None else None,
        cache_to=[docker_build.CacheToArgs(registry=docker_build.CacheToRegistryArgs(ref=cache_ref, image_manifest=True, oci_media_types=True))]
        if cache_ref is not None
        else None,
        opts=opts,
    )
