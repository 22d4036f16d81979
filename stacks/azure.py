"""The `azure` stack kind: AKS with a system pool and a GPU pool, ACR, Blob storage for vision's models, Log Analytics.

Composes the Azure components (infra/azure/) from the validated config, builds
a Kubernetes provider from the cluster's credentials (Microsoft Entra ID
through kubelogin's Azure CLI login: `pulumi up` needs `az login` and
`kubelogin`), then deploys the add-ons and the app with
`infra.k8s.stack.ClusterApp`. Creates nothing itself; owns the stack outputs.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes
from pulumi import Output, ResourceOptions

from infra import spec
from infra.azure import catalog
from infra.azure.aks import AksCluster, AksClusterArgs, GpuNodePool, GpuNodePoolArgs
from infra.azure.config import AzureConfig
from infra.azure.foundation import AzureFoundation, AzureFoundationArgs
from infra.azure.identity import WorkloadIdentity, WorkloadIdentityArgs, blob_models_volume
from infra.azure.monitoring import LogAnalytics, LogAnalyticsArgs
from infra.azure.registry import AcrImages, AcrImagesArgs
from infra.azure.storage import ModelsStorage, ModelsStorageArgs
from infra.common.naming import tags
from infra.k8s.stack import CloudWiring, ClusterApp, ClusterAppArgs
from infra.k8s.workloads import NAMESPACE


def deploy(cfg: AzureConfig) -> None:
    stack = pulumi.get_stack()
    labels = tags(stack, cfg.stack_kind)
    base = AzureFoundation("dixi", AzureFoundationArgs(location=cfg.region, retain_data=cfg.retain_data, tags=labels))
    group = base.resource_group_name
    logs = LogAnalytics("dixi-logs", LogAnalyticsArgs(resource_group_name=group, location=cfg.region, tags=labels))
    cluster = AksCluster(
        "dixi-aks",
        AksClusterArgs(
            resource_group_name=group,
            location=cfg.region,
            tenant_id=base.tenant_id,
            subscription_id=base.subscription_id,
            deployer_object_id=base.deployer_object_id,
            system_vm_size=cfg.system_vm_size,
            system_nodes=cfg.system_nodes,
            tier=cfg.tier,
            kubernetes_version=cfg.kubernetes_version,
            api_server_ranges=cfg.api_server_ranges,
            workspace_id=logs.workspace_id,
            collection_rule_id=logs.collection_rule_id,
            tags=labels,
        ),
    )
    gpu = GpuNodePool(
        "dixi-gpu",
        GpuNodePoolArgs(
            resource_group_name=group,
            cluster_name=cluster.cluster_name,
            vm_size=cfg.gpu_vm_size,
            min_nodes=cfg.gpu_min_nodes,
            max_nodes=cfg.gpu_max_nodes,
            kubernetes_version=cfg.kubernetes_version,
            tags=labels,
        ),
    )
    images = AcrImages(
        "dixi-images",
        AcrImagesArgs(
            resource_group_name=group,
            location=cfg.region,
            subscription_id=base.subscription_id,
            stack=stack,
            kubelet_object_id=cluster.kubelet_object_id,
            prebuilt=cfg.images,
            tags=labels,
        ),
    )
    models = ModelsStorage(
        "dixi-models",
        ModelsStorageArgs(
            resource_group_name=group, location=cfg.region, subscription_id=base.subscription_id, stack=stack, retain=cfg.retain_data, tags=labels
        ),
    )
    vision = WorkloadIdentity(
        "dixi-vision",
        WorkloadIdentityArgs(
            resource_group_name=group,
            location=cfg.region,
            subscription_id=base.subscription_id,
            issuer_url=cluster.oidc_issuer_url,
            namespace=NAMESPACE,
            service_account=spec.VISION.name,
            role=catalog.ROLE_STORAGE_BLOB_DATA_READER,
            scope=models.container_id,
            tags=labels,
        ),
    )
    provider = kubernetes.Provider(
        "dixi-aks",
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        # Azure RBAC and AcrPull take effect only once their role assignments exist.
        # and vision's Blob volume mounts only once its federated credential and role exist.
        opts=ResourceOptions(depends_on=[cluster.admin_access, images.pull_access, gpu, vision]),
    )
    app = ClusterApp(
        "dixi",
        ClusterAppArgs(
            config=cfg,
            images=images.refs,
            gpu=cfg.gpu_placement(),
            labels=labels,
            wiring=CloudWiring(
                models_volume=blob_models_volume(models.account_name, models.container_name, group, vision.client_id),
                service_account_annotations={spec.VISION.name: vision.service_account_annotations},
                pod_labels={spec.VISION.name: dict(vision.pod_labels)},
            ),
        ),
        opts=ResourceOptions(providers=[provider]),
    )
    pulumi.export("url", Output.from_input(app.url).apply(lambda u: u or "no dixi:domain: see the Gateway's address (README, Azure)"))
    pulumi.export("namespace", app.namespace)
    pulumi.export("resourceGroup", group)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("getCredentials", Output.concat("az aks get-credentials --resource-group ", group, " --name ", cluster.cluster_name, " && kubelogin convert-kubeconfig -l azurecli"))
    pulumi.export("registry", images.login_server)
    pulumi.export("modelsStorageAccount", models.account_name)
    pulumi.export("modelsContainer", models.container_name)
    pulumi.export("visionClientId", vision.client_id)
    pulumi.export("gpuPool", gpu.pool_name)
    pulumi.export("dataKeptOnDestroy", cfg.retain_data)
    pulumi.export("imageSources", {s.name: ("prebuilt: " + cfg.images[s.name]) if s.name in cfg.images else f"build: {s.build_context}" for s in spec.SERVICES})
