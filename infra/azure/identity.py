"""`WorkloadIdentity`: a user-assigned managed identity one Kubernetes service account signs in as, and its role.

Creates the identity, a federated credential that trusts the cluster's OIDC
issuer for exactly `system:serviceaccount:<namespace>:<service account>`
(audience `api://AzureADTokenExchange`), and one role assignment at the scope
given (vision: Storage Blob Data Reader on the models container only).
`service_account_annotations` and `pod_labels` are what the workloads put on
the service account (`azure.workload.identity/client-id`) and on its pods
(`azure.workload.identity/use: "true"`) for the webhook to inject the token
(workload-identity-deploy-cluster.md; shared/cloud-facts.md section 10).

`blob_models_volume` is the PersistentVolume source that mounts a container
read-only with the Blob CSI driver as that identity: blobfuse2 with
`clientID` and `mountWithWorkloadIdentityToken: "true"`, so the driver mounts
with the pod's workload identity token rather than fetching an account key
(which the storage account does not allow). create-volume-azure-blob-storage.md
(2026-08-05) lists both attributes for "blobfuse workload identity
authentication" and marks the token mount as preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi import Output, ResourceOptions
from pulumi_azure_native import authorization, managedidentity

from infra.azure import catalog
from infra.azure.foundation import role_definition_id


@dataclass(frozen=True)
class WorkloadIdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    subscription_id: pulumi.Input[str]
    issuer_url: pulumi.Input[str]
    namespace: str
    service_account: str
    role: str  # a built-in role definition ID (infra/azure/catalog.py)
    scope: pulumi.Input[str]
    tags: dict[str, str]


class WorkloadIdentity(pulumi.ComponentResource):
    client_id: Output[str]
    principal_id: Output[str]
    subject: str
    service_account_annotations: Mapping[str, pulumi.Input[str]]
    pod_labels: Mapping[str, str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:WorkloadIdentity", name, None, opts)
        child = ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        self.subject = catalog.service_account_subject(args.namespace, args.service_account)
        managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=args.resource_group_name,
            resource_name_=identity.name,
            issuer=args.issuer_url,
            subject=self.subject,
            audiences=[catalog.WORKLOAD_IDENTITY_AUDIENCE],
            opts=child,
        )
        authorization.RoleAssignment(
            f"{name}-role",
            scope=args.scope,
            role_definition_id=role_definition_id(args.subscription_id, args.role),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            opts=child,
        )
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.service_account_annotations = {catalog.WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION: self.client_id}
        self.pod_labels = {catalog.WORKLOAD_IDENTITY_USE_LABEL: "true"}
        self.register_outputs({"clientId": self.client_id, "principalId": self.principal_id, "subject": self.subject})


def blob_models_volume(
    account_name: pulumi.Input[str], container_name: pulumi.Input[str], resource_group_name: pulumi.Input[str], client_id: pulumi.Input[str]
) -> Output[Mapping[str, Any]]:
    """A read-only PersistentVolume source for a blob container, mounted by the Blob CSI driver as a workload identity."""

    def source(values: list[Any]) -> Mapping[str, Any]:
        account, container, group, client = (str(v) for v in values)
        return {
            "csi": {
                "driver": catalog.BLOB_CSI_DRIVER,
                # Unique per container in the cluster; `#` and `/` are reserved (create-volume-azure-blob-storage.md).
                "volumeHandle": f"{group}_{account}_{container}",
                "readOnly": True,
                "volumeAttributes": {
                    "resourceGroup": group,
                    "storageAccount": account,
                    "containerName": container,
                    "protocol": "fuse2",
                    "clientID": client,
                    "mountWithWorkloadIdentityToken": "true",
                },
            },
            # As the article's blobfuse example: other users (vision runs as uid 10001) may read the mount.
            "mountOptions": ["-o allow_other", "--file-cache-timeout-in-seconds=120"],
        }

    return Output.all(account_name, container_name, resource_group_name, client_id).apply(source)
