"""`AzureFoundation`: the stack's resource group, and who is deploying (subscription, tenant, principal).

Every other Azure resource of the stack lives in this group, so `pulumi
destroy` (or deleting the group) leaves nothing behind but what the stack
keeps on purpose (the models storage account, `dixi:retainData`): the group
is `retainOnDelete` with it, because Azure deletes a group's contents with
the group. The node resource group AKS creates for the cluster's VMs, disks,
load balancer and public IPs (`MC_...`) belongs to the cluster and goes with it.

The deploying principal (`authorization.get_client_config`) is read once:
its subscription names role definitions, its object ID gets the cluster's
Kubernetes admin role (infra/azure/aks.py), and its tenant is the cluster's
Entra tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi import Output, ResourceOptions
from pulumi_azure_native import authorization, resources


@dataclass(frozen=True)
class AzureFoundationArgs:
    location: str
    retain_data: bool
    tags: dict[str, str]


class AzureFoundation(pulumi.ComponentResource):
    resource_group_name: Output[str]
    resource_group_id: Output[str]
    subscription_id: Output[str]
    tenant_id: Output[str]
    deployer_object_id: Output[str]

    def __init__(self, name: str, args: AzureFoundationArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:Foundation", name, None, opts)
        group = resources.ResourceGroup(
            f"{name}-rg",
            location=args.location,
            tags=args.tags,
            # Deleting a group deletes what is in it: the kept storage account too.
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain_data),
        )
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.resource_group_name = group.name
        self.resource_group_id = group.id
        self.subscription_id = client.subscription_id
        self.tenant_id = client.tenant_id
        self.deployer_object_id = client.object_id
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "resourceGroupId": self.resource_group_id,
                "subscriptionId": self.subscription_id,
                "tenantId": self.tenant_id,
                "deployerObjectId": self.deployer_object_id,
            }
        )


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> Output[str]:
    """The full ID of a built-in role definition in `subscription_id`."""
    return Output.concat("/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role)
