"""`AcrImages`: an Azure Container Registry, the images `pulumi up` builds into it, and the cluster's right to pull them.

Creates a Basic registry (10 GB included; no anonymous pull) and grants the
cluster's kubelet identity AcrPull on it, the way `az aks update
--attach-acr` does (cluster-container-registry-integration.md: role
7f951dda-..., principal type ServicePrincipal). The images are built and
pushed by the shared `infra.k8s.images.PushedImages` (digest references,
`retainOnDelete`), so nothing about building differs from the `k8s` kind.

The push logs in with the registry's admin user, read at `up` time
(`containerregistry.list_registry_credentials`, a secret). Why not a
least-privilege login: docker-build takes a username and password, and ACR's
Microsoft Entra login needs the deployer's Entra token exchanged for an ACR
refresh token at the registry's `/oauth2/exchange` endpoint (what `az acr
login` does), a call no provider function makes; the alternatives were a
Docker login the user runs by hand after the registry exists (a first `up`
would fail) or a repository-scoped token, whose password again comes from an
ARM action outside the provider's functions. The admin credential never
leaves the program: it is not a stack output and the cluster does not use it
(the kubelet pulls with its identity). Disable the admin user once images
come prebuilt (`dixi:images` for every service).

Destroy: the registry is deleted with its images (build output, rebuilt from
`app/`). Left out: geo-replication, private endpoints, retention and
quarantine policies (Premium features).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi import Output, ResourceOptions
from pulumi_azure_native import authorization, containerregistry

from infra import spec
from infra.azure import catalog, naming
from infra.azure.foundation import role_definition_id
from infra.k8s.images import PushedImages, PushedImagesArgs


@dataclass(frozen=True)
class AcrImagesArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    subscription_id: pulumi.Input[str]
    stack: str
    kubelet_object_id: pulumi.Input[str]
    prebuilt: Mapping[str, str]
    tags: dict[str, str]


class AcrImages(pulumi.ComponentResource):
    refs: dict[str, Output[str]]
    login_server: Output[str]
    # The kubelet's AcrPull: pods that pull from the registry must wait for it.
    pull_access: authorization.RoleAssignment

    def __init__(self, name: str, args: AcrImagesArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:AcrImages", name, None, opts)
        child = ResourceOptions(parent=self)
        builds = any(s.name not in args.prebuilt for s in spec.SERVICES)
        registry_name = Output.from_input(args.subscription_id).apply(
            lambda subscription: naming.unique(f"dixi{args.stack}", subscription, args.stack, name, limit=naming.REGISTRY)
        )
        registry = containerregistry.Registry(
            f"{name}",
            registry_name=registry_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=containerregistry.SkuArgs(name="Basic"),
            # Only for the push of `pulumi up` (see the module docstring).
            admin_user_enabled=builds,
            anonymous_pull_enabled=False,
            tags=args.tags,
            opts=child,
        )
        self.pull_access = authorization.RoleAssignment(
            f"{name}-kubelet-pull",
            scope=registry.id,
            role_definition_id=role_definition_id(args.subscription_id, catalog.ROLE_ACR_PULL),
            principal_id=args.kubelet_object_id,
            principal_type="ServicePrincipal",
            description="The AKS kubelet identity pulls the Dixi images",
            opts=child,
        )
        self.login_server = registry.login_server
        if builds:
            credentials = containerregistry.list_registry_credentials_output(
                registry_name=registry.name, resource_group_name=args.resource_group_name, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            pushed = PushedImages(
                f"{name}-push",
                PushedImagesArgs(
                    registry=registry.login_server,
                    prebuilt=args.prebuilt,
                    registry_host=registry.login_server,
                    username=credentials.username.apply(lambda u: u or ""),
                    password=Output.secret(credentials.passwords.apply(lambda p: (p[0].value if p else None) or "")),
                ),
                opts=child,
            )
            self.refs = dict(pushed.refs)
        else:
            self.refs = {s: Output.from_input(ref) for s, ref in args.prebuilt.items()}
        self.register_outputs({"refs": self.refs, "loginServer": self.login_server, "pullAccess": self.pull_access.id})
