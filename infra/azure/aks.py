"""`AksCluster` and `GpuNodePool`: the AKS cluster with its system pool, and the GPU user pool Ollama runs on.

`AksCluster` creates the managed cluster and what it needs to be reached and watched:
- one system pool (`mode: System`) of `dixi:aksSystemNodes` nodes. It carries no
  `CriticalAddonsOnly` taint on purpose: the GPU pool is tainted, so a tainted
  system pool would leave the frontend, backend, vision and the event bus no
  node at all, and a third pool just for them would cost another two VMs.
  AKS allows application pods on system pools ("possible, but not recommended",
  use-system-pools.md); the app's pods are small, have requests and limits,
  and cannot delete system pods (no RBAC for it);
- Azure CNI Overlay (`networkPlugin: azure`, `networkPluginMode: overlay`: without
  the mode, Azure CNI gives pods node-subnet IPs; azure-cni-overlay.md) with the
  Cilium dataplane and Cilium as the network policy engine: the app's
  NetworkPolicies must be enforced, Cilium "supports all policy types" and is the
  one Microsoft recommends; Azure NPM for Linux retires on 2028-09-30
  (use-network-policies.md, azure-cni-powered-by-cilium.md);
- the OIDC issuer and workload identity (workload-identity-deploy-cluster.md), so
  vision reads its models with a federated identity rather than a key;
- local accounts off, Microsoft Entra ID with Azure RBAC on: no static admin
  certificate exists. The deploying principal gets "Azure Kubernetes Service
  RBAC Cluster Admin" on this cluster only, and the Kubernetes provider's
  kubeconfig (`kubeconfig`, a secret) is the user kubeconfig in `exec` format,
  switched to kubelogin's `azurecli` login (kubelogin-authentication.md):
  `pulumi up` needs `kubelogin` on the PATH and an `az login` session;
- automatic upgrades: Kubernetes patch versions (`patch`) and node images (`NodeImage`);
- Container insights (`omsagent` with Microsoft Entra auth) into the stack's Log
  Analytics workspace, through the data collection rule of infra/azure/monitoring.py;
- the Blob CSI driver, through which vision mounts the models container.

`GpuNodePool` is a separate `AgentPool` (mode User): the VM size of
`dixi:aksGpuVmSize`, taint `sku=gpu:NoSchedule`, label
`nvidia.com/gpu.present=true`, autoscaling from `dixi:aksGpuMinNodes` (0: no
GPU node while nothing asks for one) to `dixi:aksGpuMaxNodes`, AKS installing
the NVIDIA driver (`gpuProfile.driver: Install`, use-nvidia-gpu.md; the device
plugin is the cluster add-ons' job), a 128 GiB managed OS disk.

Replacement (shared/real-account-checklist.md, class 3): a pool's VM size, OS
disk and GPU driver setting are fixed at creation, and Microsoft's GPU article
says the same of its taints (use-nvidia-gpu.md; shared/cloud-facts.md section
9). A change to any of them replaces the pool, and the pool is
delete-before-replace: its name is fixed within the cluster, and a new GPU pool
next to the old one would need twice the GPU quota (a new subscription has
little or none). The node count is the autoscaler's: ignored after creation.

Left out: availability zones, private API server, a custom VNet, NAT gateway
egress (outbound goes through the cluster's Standard load balancer and one
managed public IP), spot pools, Defender, managed Prometheus.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumiverse_time as time
import yaml
from pulumi import Output, ResourceOptions
from pulumi_azure_native import authorization, containerservice, monitor

from infra.azure import catalog
from infra.azure.foundation import role_definition_id

SYSTEM_POOL: Final = "system"
GPU_POOL: Final = "gpu"
# What a change to forces a new pool (see the module docstring); recorded in the plan.
GPU_POOL_FIXED_AT_CREATION: Final = ("vmSize", "nodeTaints", "gpuProfile", "osDiskSizeGB", "osDiskType")
KUBELOGIN_LOGIN: Final = "azurecli"
# How long the deployer's new cluster-admin role needs before the cluster honours it (see AksCluster).
RBAC_PROPAGATION: Final = "5m"


@dataclass(frozen=True)
class AksClusterArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    deployer_object_id: pulumi.Input[str]
    system_vm_size: str
    system_nodes: int
    tier: str
    kubernetes_version: str | None
    # The API server's authorized IPv4 ranges; empty: none set (any address, Entra ID sign-in only).
    api_server_ranges: list[str]
    workspace_id: pulumi.Input[str]
    collection_rule_id: pulumi.Input[str]
    tags: dict[str, str]


def azurecli_kubeconfig(encoded: str) -> str:
    """The AKS `exec` kubeconfig (base64, as the API returns it) with kubelogin's login switched to the Azure CLI's.

    AKS returns `kubelogin get-token --login devicecode ...`, which would wait
    for a browser inside `pulumi up`. `azurecli` uses the `az login` session
    (or a CI job's) instead and needs only `--server-id` (kubelogin-authentication.md).
    """
    document: dict[str, Any] = yaml.safe_load(base64.b64decode(encoded).decode())
    for user in document.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_:
            continue
        args = [str(a) for a in exec_.get("args") or []]
        kept: list[str] = []
        skip = False
        for arg in args:
            if skip:
                skip = False
                continue
            if arg in ("--login", "-l", "--client-id", "--tenant-id", "--environment"):
                skip = True
                continue
            kept.append(arg)
        if "--server-id" not in kept:
            kept += ["--server-id", catalog.AKS_ENTRA_SERVER_ID]
        exec_["args"] = [*kept, "--login", KUBELOGIN_LOGIN]
    return yaml.safe_dump(document, sort_keys=False)


class AksCluster(pulumi.ComponentResource):
    cluster_name: Output[str]
    cluster_id: Output[str]
    oidc_issuer_url: Output[str]
    kubelet_object_id: Output[str]
    node_resource_group: Output[str]
    kubeconfig: Output[str]
    # The deployer's Kubernetes admin role: the Kubernetes provider must wait for it.
    # The deployer's cluster-admin role, once it has reached the cluster's API server.
    admin_access: pulumi.Resource

    def __init__(self, name: str, args: AksClusterArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:AksCluster", name, None, opts)
        child = ResourceOptions(parent=self)
        version = args.kubernetes_version
        cluster = containerservice.ManagedCluster(
            f"{name}",
            resource_name_=name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=name,
            kubernetes_version=version,
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier=args.tier),
            identity=containerservice.ManagedClusterIdentityArgs(type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED),
            agent_pool_profiles=[
                containerservice.ManagedClusterAgentPoolProfileArgs(
                    name=SYSTEM_POOL,
                    mode="System",
                    vm_size=args.system_vm_size,
                    count=args.system_nodes,
                    enable_auto_scaling=False,
                    os_type="Linux",
                    type="VirtualMachineScaleSets",
                    os_disk_type="Managed",
                    os_disk_size_gb=catalog.SYSTEM_OS_DISK_GIB,
                    orchestrator_version=version,
                    tags=args.tags,
                )
            ],
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_dataplane="cilium",
                network_policy="cilium",
                load_balancer_sku="standard",
                outbound_type="loadBalancer",
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
            ),
            # Unset when empty, so a stack without ranges sends what it always sent.
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(authorized_ip_ranges=args.api_server_ranges)
            if args.api_server_ranges
            else None,
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True, tenant_id=args.tenant_id),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(upgrade_channel="patch", node_os_upgrade_channel="NodeImage"),
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                blob_csi_driver=containerservice.ManagedClusterStorageProfileBlobCSIDriverArgs(enabled=True),
                disk_csi_driver=containerservice.ManagedClusterStorageProfileDiskCSIDriverArgs(enabled=True),
            ),
            addon_profiles={
                "omsagent": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True,
                    config={"logAnalyticsWorkspaceResourceID": args.workspace_id, "useAADAuth": "true"},
                )
            },
            tags=args.tags,
            opts=child,
        )
        monitor.DataCollectionRuleAssociation(
            f"{name}-insights",
            association_name="ContainerInsightsExtension",
            resource_uri=cluster.id,
            data_collection_rule_id=args.collection_rule_id,
            description="Container insights for the Dixi cluster; deleting it stops log collection",
            opts=child,
        )
        admin_role = authorization.RoleAssignment(
            f"{name}-deployer-admin",
            scope=cluster.id,
            role_definition_id=role_definition_id(args.subscription_id, catalog.ROLE_AKS_RBAC_CLUSTER_ADMIN),
            principal_id=args.deployer_object_id,
            description="The principal running pulumi up manages the Dixi objects in this cluster",
            opts=child,
        )
        # "New role assignments can take up to five minutes to propagate and be updated by the
        # authorization server" (learn.microsoft.com/azure/aks/manage-azure-rbac); the Kubernetes
        # provider retries only NotFound, so without this wait the first objects get 403.
        self.admin_access = time.Sleep(
            f"{name}-rbac-propagation",
            create_duration=RBAC_PROPAGATION,
            triggers={"roleAssignment": admin_role.id},
            opts=ResourceOptions(parent=self, depends_on=[admin_role]),
        )
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.kubeconfig = Output.secret(credentials.kubeconfigs.apply(lambda found: azurecli_kubeconfig(found[0].value)))
        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(lambda p: (p.issuer_url if p else None) or "")
        self.kubelet_object_id = cluster.identity_profile.apply(_kubelet_object_id)
        self.node_resource_group = cluster.node_resource_group.apply(lambda g: g or "")
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "clusterId": self.cluster_id,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeletObjectId": self.kubelet_object_id,
                "nodeResourceGroup": self.node_resource_group,
                "kubeconfig": self.kubeconfig,
                "adminAccess": admin_role.id,
            }
        )


def _kubelet_object_id(profile: Mapping[str, Any] | None) -> str:
    kubelet = (profile or {}).get("kubeletidentity")
    return str(getattr(kubelet, "object_id", "") or "")


@dataclass(frozen=True)
class GpuNodePoolArgs:
    resource_group_name: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    vm_size: str
    min_nodes: int
    max_nodes: int
    kubernetes_version: str | None
    tags: dict[str, str]


class GpuNodePool(pulumi.ComponentResource):
    pool_name: Output[str]

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:GpuNodePool", name, None, opts)
        pool = containerservice.AgentPool(
            f"{name}",
            agent_pool_name=GPU_POOL,
            resource_group_name=args.resource_group_name,
            resource_name_=args.cluster_name,
            mode="User",
            vm_size=args.vm_size,
            os_type="Linux",
            type="VirtualMachineScaleSets",
            enable_auto_scaling=True,
            min_count=args.min_nodes,
            max_count=args.max_nodes,
            # The first count only; the autoscaler owns it afterwards (ignore_changes below).
            count=max(args.min_nodes, 1),
            scale_down_mode="Delete",
            node_taints=[catalog.GPU_TAINT],
            node_labels=dict(catalog.GPU_LABEL),
            gpu_profile=containerservice.GPUProfileArgs(driver="Install"),
            os_disk_type="Managed",
            os_disk_size_gb=catalog.GPU_OS_DISK_GIB,
            orchestrator_version=args.kubernetes_version,
            # Upgrades (the weekly node image, patches) drain the one GPU node before
            # reimaging it instead of surging a second: AKS's default surge is 10%, rounded
            # up to one more NC4as_T4_v3, which a 4-vCPU GPU quota cannot hold (the SDK's
            # AgentPoolUpgradeSettings docstring; learn.microsoft.com/azure/aks/upgrade-cluster).
            upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="0", max_unavailable="1"),
            tags=args.tags,
            opts=ResourceOptions(
                parent=self,
                delete_before_replace=True,
                replace_on_changes=list(GPU_POOL_FIXED_AT_CREATION),
                ignore_changes=["count"],
            ),
        )
        self.pool_name = pool.name
        self.register_outputs({"poolName": self.pool_name})
