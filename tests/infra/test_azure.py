"""The `azure` stack, as recorded under the mocks: the GPU pool, workload identity, registry access, data kept, secrets, config.

The Kubernetes objects are the shared workloads' (tests/infra/test_k8s.py);
here the Azure side's own decisions are asserted on the recorded plan.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
import yaml

from infra import spec
from infra.azure import catalog
from infra.azure.aks import azurecli_kubeconfig
from infra.config import ConfigError
from infra.plan.model import RecordedResource, reveal
from infra.plan.run import Plan

PlanOf = Callable[..., Plan]
CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
ROLE = "azure-native:authorization:RoleAssignment"


@pytest.fixture(scope="module")
def azure_plan(plan_of: PlanOf) -> Plan:
    return plan_of("azure")


def _one(plan: Plan, type_: str) -> RecordedResource:
    (found,) = plan.recorded.of_type(type_)
    return found


def _roles(plan: Plan, role: str) -> list[RecordedResource]:
    return [r for r in plan.recorded.of_type(ROLE) if str(r.inputs["roleDefinitionId"]).endswith(f"/roleDefinitions/{role}")]


def test_the_azure_side_plans_without_azure_problems(azure_plan: Plan) -> None:
    mine = [p for p in azure_plan.problems if (p.resource is not None and p.resource.type.startswith("azure-native:")) or p.rule == "mocks-answer-every-invoke"]
    assert mine == [], [f"{p.rule}: {p.message}" for p in mine]
    assert not azure_plan.recorded.unanswered_invokes, "every invoke the program calls has a mock answer"


def test_the_gpu_pool_is_tainted_labelled_scales_to_zero_and_gets_the_nvidia_driver(azure_plan: Plan) -> None:
    pool = _one(azure_plan, POOL)
    i = pool.inputs
    assert i["mode"] == "User" and i["vmSize"] == catalog.DEFAULT_GPU_VM_SIZE
    assert i["nodeTaints"] == ["sku=gpu:NoSchedule"], "only pods that tolerate the GPU taint land on GPU nodes"
    assert i["nodeLabels"] == {"nvidia.com/gpu.present": "true"}, "the NVIDIA device plugin chart selects this label"
    assert i["enableAutoScaling"] is True and i["minCount"] == 0 and i["maxCount"] >= 1
    assert i["gpuProfile"] == {"driver": "Install"}
    assert i["osDiskSizeGB"] >= 128
    placement = azure_plan.recorded.config.gpu_placement()  # type: ignore[union-attr]
    assert dict(placement.node_selector) == i["nodeLabels"]
    assert [f"{t['key']}={t['value']}:{t['effect']}" for t in placement.tolerations] == i["nodeTaints"], "the workloads tolerate exactly the pool's taint"


def test_the_gpu_pool_upgrades_by_draining_its_node_not_by_surging_a_second_gpu(azure_plan: Plan) -> None:
    settings = _one(azure_plan, POOL).inputs["upgradeSettings"]
    assert settings == {"maxSurge": "0", "maxUnavailable": "1"}, "AKS's default 10% surge is one more GPU node, past a one-GPU quota"


def test_nothing_is_created_in_the_cluster_before_the_deployers_role_reaches_it(azure_plan: Plan) -> None:
    (wait,) = azure_plan.recorded.of_type("time:index/sleep:Sleep")
    assert wait.inputs["createDuration"] == "5m"
    admin = _roles(azure_plan, catalog.ROLE_AKS_RBAC_CLUSTER_ADMIN)
    assert [r.key for r in admin] and admin[0].key in wait.dependencies, "the wait starts once the role assignment exists"
    (provider,) = azure_plan.recorded.of_type("pulumi:providers:kubernetes")
    assert wait.key in provider.dependencies, "the Kubernetes provider (and so every object in the cluster) waits for it"


def test_a_gpu_pool_change_that_forces_replacement_deletes_the_old_pool_first(azure_plan: Plan) -> None:
    pool = _one(azure_plan, POOL)
    assert pool.delete_before_replace, "a second GPU pool beside the first would need twice the GPU quota, and the name is fixed"
    assert {"vmSize", "nodeTaints"} <= set(pool.replace_on_changes)
    assert pool.ignore_changes == ["count"], "the autoscaler owns the node count"


def test_the_system_pool_is_not_tainted_so_the_web_tier_has_somewhere_to_run(azure_plan: Plan) -> None:
    (system,) = _one(azure_plan, CLUSTER).inputs["agentPoolProfiles"]
    assert system["mode"] == "System" and system["count"] >= catalog.SYSTEM_MIN_NODES
    assert not system.get("nodeTaints"), "with the GPU pool tainted, a CriticalAddonsOnly system pool would leave the frontend and backend unschedulable"


def test_the_cluster_enforces_network_policies_and_signs_in_with_entra_id_only(azure_plan: Plan) -> None:
    c = _one(azure_plan, CLUSTER).inputs
    network = c["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"]) == ("azure", "overlay")
    assert network["networkPolicy"] == "cilium" and network["networkDataplane"] == "cilium"
    assert c["disableLocalAccounts"] is True and c["aadProfile"]["enableAzureRBAC"] is True
    assert c["oidcIssuerProfile"]["enabled"] is True and c["securityProfile"]["workloadIdentity"]["enabled"] is True
    assert c["storageProfile"]["blobCSIDriver"]["enabled"] is True
    assert c["addonProfiles"]["omsagent"]["enabled"] is True
    deployer = _roles(azure_plan, catalog.ROLE_AKS_RBAC_CLUSTER_ADMIN)
    assert len(deployer) == 1 and deployer[0].inputs["scope"] == _one(azure_plan, CLUSTER).id


def test_vision_signs_in_as_its_own_identity_federated_to_its_service_account(azure_plan: Plan) -> None:
    plan = azure_plan.recorded
    identity = _one(azure_plan, "azure-native:managedidentity:UserAssignedIdentity")
    federation = _one(azure_plan, "azure-native:managedidentity:FederatedIdentityCredential")
    assert federation.inputs["subject"] == f"system:serviceaccount:dixi:{spec.VISION.name}"
    assert federation.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert federation.inputs["issuer"] == _one(azure_plan, CLUSTER).state["oidcIssuerProfile"]["issuerURL"]
    assert federation.inputs["resourceName"] == identity.state["name"]
    (reader,) = _roles(azure_plan, catalog.ROLE_STORAGE_BLOB_DATA_READER)
    container = _one(azure_plan, "azure-native:storage:BlobContainer")
    assert reader.inputs["principalId"] == identity.state["principalId"] and reader.inputs["scope"] == container.id, "read on the models container only"
    accounts = [r for r in plan.of_type("kubernetes:core/v1:ServiceAccount") if r.inputs["metadata"]["name"] == spec.VISION.name]
    if accounts:  # the workloads are the lead's; once they land, the service account carries the client ID
        assert accounts[0].inputs["metadata"]["annotations"][catalog.WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION] == identity.state["clientId"]


def test_vision_mounts_the_models_container_read_only_through_the_blob_csi_driver(azure_plan: Plan) -> None:
    volumes = [reveal(r.inputs["spec"]) for r in azure_plan.recorded.of_type("kubernetes:core/v1:PersistentVolume")]
    csi = [v["csi"] for v in volumes if v.get("csi", {}).get("driver") == catalog.BLOB_CSI_DRIVER]
    assert len(csi) == 1
    attributes = csi[0]["volumeAttributes"]
    account = _one(azure_plan, "azure-native:storage:StorageAccount")
    identity = _one(azure_plan, "azure-native:managedidentity:UserAssignedIdentity")
    assert attributes["storageAccount"] == account.state["name"] and attributes["containerName"] == "models"
    assert attributes["clientID"] == identity.state["clientId"] and attributes["mountWithWorkloadIdentityToken"] == "true"
    assert csi[0]["readOnly"] is True


def test_the_kubelet_identity_may_pull_from_the_stack_registry(azure_plan: Plan) -> None:
    (pull,) = _roles(azure_plan, catalog.ROLE_ACR_PULL)
    cluster = _one(azure_plan, CLUSTER)
    registry = _one(azure_plan, "azure-native:containerregistry:Registry")
    assert pull.inputs["principalId"] == cluster.state["identityProfile"]["kubeletidentity"]["objectId"]
    assert pull.inputs["principalType"] == "ServicePrincipal" and pull.inputs["scope"] == registry.id
    assert registry.inputs["sku"] == {"name": "Basic"} and registry.inputs["anonymousPullEnabled"] is False


def test_the_models_storage_is_kept_on_destroy_by_default(azure_plan: Plan) -> None:
    for type_ in ("azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer", "azure-native:resources:ResourceGroup"):
        assert _one(azure_plan, type_).retain_on_delete, f"{type_} holds the models: destroy keeps it"
    account = _one(azure_plan, "azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False and account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2" and account["enableHttpsTrafficOnly"] is True


def test_the_models_storage_goes_with_the_stack_when_data_is_not_kept(plan_of: PlanOf) -> None:
    plan = plan_of("azure", **{"dixi:retainData": "false"})
    for type_ in ("azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer", "azure-native:resources:ResourceGroup"):
        assert not _one(plan, type_).retain_on_delete


def test_no_key_or_password_reaches_the_stack_outputs(azure_plan: Plan) -> None:
    outputs = json.dumps(reveal(azure_plan.recorded.outputs)).lower()
    for word in ("password", "mock-acr", "apiversion: v1", "accountkey", "client-certificate", "kubelogin get-token"):
        assert word not in outputs, f"{word!r} in the stack outputs"


def test_the_provider_kubeconfig_is_a_secret_that_signs_in_with_the_azure_cli(azure_plan: Plan) -> None:
    (provider,) = [r for r in azure_plan.recorded.resources if r.type == "pulumi:providers:kubernetes"]
    assert type(provider.inputs["kubeconfig"]).__name__ == "Secret", "the cluster's credentials stay secret in state"
    document = yaml.safe_load(reveal(provider.inputs["kubeconfig"]))
    args = document["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--login") + 1] == "azurecli" and "devicecode" not in args


def test_kubeconfig_rewrite_keeps_the_server_id_and_drops_the_device_code_login() -> None:
    source = {"users": [{"name": "u", "user": {"exec": {"command": "kubelogin", "args": ["get-token", "--login", "devicecode", "--server-id", "x", "--client-id", "y"]}}}]}
    rewritten = yaml.safe_load(azurecli_kubeconfig(base64.b64encode(yaml.safe_dump(source).encode()).decode()))
    assert rewritten["users"][0]["user"]["exec"]["args"] == ["get-token", "--server-id", "x", "--login", "azurecli"]


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("dixi:aksSystemVmSize", "Standard_B2s", "B-series"),
        ("dixi:aksSystemNodes", "1", "at least two nodes"),
        ("dixi:aksGpuVmSize", "Standard_NV4as_v4", "GPU node pool"),
        ("dixi:aksGpuMaxNodes", "0", "out of range"),
        ("dixi:aksTier", "Premium", "AKS pricing tier"),
        ("dixi:aksKubernetesVersion", "latest", "Kubernetes version"),
        ("dixi:aksKubernetesVersion", "1.34.2", "patches upgrade automatically"),
        ("azure-native:location", "mars-1", "region"),
        ("dixi:images", '["backend=myregistry.azurecr.io/dixi-backend:1"]', "AcrPull on the stack's own registry"),
    ],
)
def test_a_bad_azure_config_names_the_key_the_value_and_what_is_allowed(plan_of: PlanOf, key: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        plan_of("azure", **{key: value})
    (line,) = [line for line in raised.value.lines if key in line]
    assert value.strip('[]"').split("=")[-1] in line, "the line shows the bad value"
    assert says in line, line


def test_the_gpu_pool_must_hold_a_gpu_for_vision_when_vision_asks_for_one(plan_of: PlanOf) -> None:
    with pytest.raises(ConfigError, match="dixi:aksGpuMaxNodes"):
        plan_of("azure", **{"dixi:visionGpu": "true"})
    with pytest.raises(ConfigError, match="below dixi:aksGpuMinNodes"):
        plan_of("azure", **{"dixi:aksGpuMinNodes": "2", "dixi:aksGpuMaxNodes": "1"})
