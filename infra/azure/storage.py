"""`ModelsStorage`: the storage account and the `models` blob container vision reads its gesture models from.

Creates a StorageV2 account (Standard_LRS, Hot, HTTPS only, TLS 1.2 at least,
no anonymous blob access, shared key access off and Microsoft Entra ID the
portal's default: nothing in the stack has or needs an account key) and one
private container, `models`. Vision reads it through the Blob CSI driver with
its own workload identity (infra/azure/identity.py), granted Storage Blob Data
Reader on this container only.

Destroy: with `retain` (`dixi:retainData`, the default) the account and the
container stay in the subscription, with their blobs (`retainOnDelete`, as the
other clouds keep their model buckets), and so does the resource group that
holds them (infra/azure/foundation.py); without, both are deleted with their
blobs.

Left out: customer-managed keys, soft delete and versioning settings (Azure's
defaults), private endpoints and network rules (the nodes reach the account's
public endpoint; access is by identity, not by network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
from pulumi import Output, ResourceOptions
from pulumi_azure_native import storage

from infra.azure import naming

CONTAINER: Final = "models"


@dataclass(frozen=True)
class ModelsStorageArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    subscription_id: pulumi.Input[str]
    stack: str
    retain: bool
    tags: dict[str, str]


class ModelsStorage(pulumi.ComponentResource):
    account_name: Output[str]
    container_name: Output[str]
    # The container's ARM ID: the scope of the readers' role assignments.
    container_id: Output[str]

    def __init__(self, name: str, args: ModelsStorageArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:ModelsStorage", name, None, opts)
        kept = ResourceOptions(parent=self, retain_on_delete=args.retain)
        account_name = Output.from_input(args.subscription_id).apply(
            lambda subscription: naming.unique(f"dixi{args.stack}", subscription, args.stack, name, limit=naming.STORAGE_ACCOUNT)
        )
        account = storage.StorageAccount(
            f"{name}",
            account_name=account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name="Standard_LRS"),
            access_tier=storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            tags=args.tags,
            opts=kept,
        )
        container = storage.BlobContainer(
            f"{name}-{CONTAINER}",
            container_name=CONTAINER,
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=kept,
        )
        self.account_name = account.name
        self.container_name = container.name
        self.container_id = container.id
        self.register_outputs({"accountName": self.account_name, "containerName": self.container_name, "containerId": self.container_id})
