"""The offline engine's answers for pulumi-azure-native: ARM IDs, computed outputs and the invokes the `azure` stack calls.

Every resource gets, unless its inputs already say: a `name` (the input that
names it, e.g. `accountName`, or the logical name with a short hash, the way
the provider's auto-naming adds a random suffix) and an `id` in Azure's
`/subscriptions/<sub>/resourceGroups/<group>/providers/<namespace>/<type>/<name>`
form, child resources under their parent's path, so the checks and the
role-assignment scopes can follow references by value. Types with outputs of
their own (the cluster's kubelet identity and OIDC issuer, a registry's login
server, an identity's principal and client IDs) get them below, each derived
from the type and name so that every value is handed out once.

Invokes: the deployer's client config, the cluster's user credentials (a base64
`exec` kubeconfig shaped like the one AKS returns), and the registry's admin
credentials.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import yaml

from infra.plan.mocking import MockAnswers, MockContext, digest

SUBSCRIPTION: Final = "00000000-0000-4000-8000-00000000d1c5"
TENANT: Final = "00000000-0000-4000-8000-0000000e0a1d"
DEPLOYER_OBJECT_ID: Final = "00000000-0000-4000-8000-00000000de91"


def _guid(*parts: str) -> str:
    return str(uuid.UUID(digest(*parts)[:32], version=4))


def _location(ctx: MockContext, state: Mapping[str, Any]) -> str:
    return str(state.get("location") or getattr(ctx.config, "region", "eastus") or "eastus")


# token -> (the input naming the resource, ARM provider namespace/type, parent name input, parent collection)
ARM_TYPES: Final = MappingProxyType(
    {
        "azure-native:resources:ResourceGroup": ("resourceGroupName", "", None, None),
        "azure-native:containerservice:ManagedCluster": ("resourceName", "Microsoft.ContainerService/managedClusters", None, None),
        "azure-native:containerservice:AgentPool": ("agentPoolName", "Microsoft.ContainerService/managedClusters", "resourceName", "agentPools"),
        "azure-native:containerregistry:Registry": ("registryName", "Microsoft.ContainerRegistry/registries", None, None),
        "azure-native:storage:StorageAccount": ("accountName", "Microsoft.Storage/storageAccounts", None, None),
        "azure-native:storage:BlobContainer": ("containerName", "Microsoft.Storage/storageAccounts", "accountName", "blobServices/default/containers"),
        "azure-native:managedidentity:UserAssignedIdentity": ("resourceName", "Microsoft.ManagedIdentity/userAssignedIdentities", None, None),
        "azure-native:managedidentity:FederatedIdentityCredential": (
            "federatedIdentityCredentialResourceName",
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "resourceName",
            "federatedIdentityCredentials",
        ),
        "azure-native:operationalinsights:Workspace": ("workspaceName", "Microsoft.OperationalInsights/workspaces", None, None),
        "azure-native:monitor:DataCollectionRule": ("dataCollectionRuleName", "Microsoft.Insights/dataCollectionRules", None, None),
    }
)
# Extension resources live under the resource they apply to (`scope`, `resourceUri`).
ARM_EXTENSIONS: Final = MappingProxyType(
    {
        "azure-native:authorization:RoleAssignment": ("roleAssignmentName", "scope", "Microsoft.Authorization/roleAssignments"),
        "azure-native:monitor:DataCollectionRuleAssociation": ("associationName", "resourceUri", "Microsoft.Insights/dataCollectionRuleAssociations"),
    }
)


def _every(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    group = str(state.get("resourceGroupName") or "dixi-rg")
    if typ in ARM_EXTENSIONS:
        name_key, scope_key, collection = ARM_EXTENSIONS[typ]
        resource = str(state.get(name_key) or _guid(typ, name))
        state.setdefault("name", resource)
        return f"{state.get(scope_key) or f'/subscriptions/{SUBSCRIPTION}'}/providers/{collection}/{resource}"
    name_key, arm_type, parent_key, child_collection = ARM_TYPES.get(typ, ("", "", None, None))
    resource = str(state.get(name_key) or f"{name}{digest(typ, name)[:8]}") if name_key else f"{name}{digest(typ, name)[:8]}"
    state.setdefault("name", resource)
    if typ == "azure-native:resources:ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource}"
    if not arm_type:
        module, kind = typ.split(":")[1:3]
        arm_type = f"Microsoft.{module}/{kind[0].lower()}{kind[1:]}s"
    base = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{arm_type}"
    if parent_key and child_collection:
        return f"{base}/{state.get(parent_key)}/{child_collection}/{resource}"
    return f"{base}/{resource}"


def _cluster(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    cluster = str(state["name"])
    location = _location(ctx, state)
    group = str(state.get("resourceGroupName") or "dixi-rg")
    node_group = f"MC_{group}_{cluster}_{location}"
    kubelet = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{node_group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{cluster}-agentpool"
    state.update(
        fqdn=f"{state.get('dnsPrefix') or cluster}-{digest('fqdn', name)[:8]}.hcp.{location}.azmk8s.io",
        nodeResourceGroup=node_group,
        identityProfile={
            "kubeletidentity": {"objectId": _guid("kubelet-object", name), "clientId": _guid("kubelet-client", name), "resourceId": kubelet}
        },
        oidcIssuerProfile={**dict(state.get("oidcIssuerProfile") or {}), "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT}/{_guid('oidc', name)}/"},
        identity={**dict(state.get("identity") or {}), "principalId": _guid("cluster-principal", name), "tenantId": TENANT},
        provisioningState="Succeeded",
    )
    return None


def _registry(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state["loginServer"] = f"{str(state['name']).lower()}.azurecr.io"
    return None


def _account(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    account = str(state["name"])
    state["primaryEndpoints"] = {"blob": f"https://{account}.blob.core.windows.net/", "dfs": f"https://{account}.dfs.core.windows.net/"}
    return None


def _identity(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state.update(principalId=_guid("principal", name), clientId=_guid("client", name), tenantId=TENANT)
    return None


def _workspace(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state["customerId"] = _guid("workspace", name)
    return None


def _client_config(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"clientId": _guid("deployer-client"), "objectId": DEPLOYER_OBJECT_ID, "subscriptionId": SUBSCRIPTION, "tenantId": TENANT}


def _user_credentials(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """An `exec` kubeconfig shaped like AKS's (`az aks get-credentials --format exec`): kubelogin with device code."""
    cluster = str(args.get("resourceName") or "cluster")
    server = f"https://{cluster}-{digest('fqdn', cluster)[:8]}.hcp.eastus.azmk8s.io:443"
    user = f"clusterUser_{args.get('resourceGroupName')}_{cluster}"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": base64.b64encode(b"mock-ca").decode()}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "users": [
            {
                "name": user,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token", "--login", "devicecode", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
                            "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", TENANT, "--environment", "AzurePublicCloud",
                        ],
                        "interactiveMode": "IfAvailable",
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }
    encoded = base64.b64encode(yaml.safe_dump(document).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}


def _registry_credentials(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    registry = str(args.get("registryName") or "registry")
    return {
        "username": registry,
        "passwords": [{"name": "password", "value": "mock-acr-" + digest("acr", registry)[:24]}, {"name": "password2", "value": "mock-acr2"}],
    }


MOCKS = MockAnswers(
    every_resource=_every,
    resources=MappingProxyType(
        {
            "azure-native:containerservice:ManagedCluster": _cluster,
            "azure-native:containerregistry:Registry": _registry,
            "azure-native:storage:StorageAccount": _account,
            "azure-native:managedidentity:UserAssignedIdentity": _identity,
            "azure-native:operationalinsights:Workspace": _workspace,
        }
    ),
    invokes=MappingProxyType(
        {
            "azure-native:authorization:getClientConfig": _client_config,
            "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
            "azure-native:containerregistry:listRegistryCredentials": _registry_credentials,
        }
    ),
)
