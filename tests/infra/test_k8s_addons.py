"""`ClusterAddons`, the cluster's Helm add-ons, recorded under the offline engine.

Small programs build the component as `infra.k8s.stack` does: everything on
(Gateway routing, an ACME e-mail, an AKS-like GPU pool), everything off, and
cert-manager alone for a cluster routed by Ingress. The tests read the
recorded plan: types, the camelCase inputs pulumi-kubernetes 4.34.2 sends,
parents and dependencies.

Under mocks a `helm.v3.Release` registers as one resource whose inputs (chart,
version, repositoryOpts, namespace, values, ...) are in the plan; the objects
its chart would render (Deployments, CRDs, ...) are not: no chart is fetched.
So these tests check what we ask Helm for, and cite the chart files that say
what Helm makes of it.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest

from infra.k8s import addons
from infra.k8s.addons import ClusterAddons, ClusterAddonsArgs
from infra.k8s.charts import CHARTS
from infra.k8s.placement import GpuPlacement
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey
from infra.plan.run import ROOT

NAME = "dixi-addons"
COMPONENT = ResourceKey("dixi:k8s:ClusterAddons", NAME)
RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY_CLASS = "kubernetes:gateway.networking.k8s.io/v1:GatewayClass"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
EMAIL = "ops@example.com"
# An AKS GPU pool as the azure stack labels and taints it (use-nvidia-gpu.md: `sku=gpu:NoSchedule`).
AKS_GPU = GpuPlacement(
    node_selector={"nvidia.com/gpu.present": "true", "kubernetes.azure.com/agentpool": "gpu"},
    tolerations=(
        {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    ),
)
# An exact release: no range, no `^`/`~`, no wildcard, no "latest".
EXACT = re.compile(r"^v?\d+\.\d+\.\d+$")


def _record(args: ClusterAddonsArgs, seen: list[ClusterAddons] | None = None) -> RecordedPlan:
    def program() -> None:
        component = ClusterAddons(NAME, args)
        if seen is not None:
            seen.append(component)
        pulumi.export("gatewayClass", component.gateway_class)
        pulumi.export("gatewayNamespace", component.gateway_namespace)
        pulumi.export("clusterIssuer", component.cluster_issuer)

    return record("dixi", "t", None, {}, [], program, ROOT)


ALL_ON = ClusterAddonsArgs(gateway=True, cert_manager=True, acme_email=EMAIL, nvidia_device_plugin=True, gpu=AKS_GPU)


@pytest.fixture(scope="module")
def everything() -> tuple[RecordedPlan, ClusterAddons]:
    seen: list[ClusterAddons] = []
    plan = _record(ALL_ON, seen)
    return plan, seen[0]


@pytest.fixture(scope="module")
def full(everything: tuple[RecordedPlan, ClusterAddons]) -> RecordedPlan:
    return everything[0]


@pytest.fixture(scope="module")
def nothing() -> RecordedPlan:
    return _record(ClusterAddonsArgs(gateway=False, cert_manager=False, acme_email=None, nvidia_device_plugin=False, gpu=GpuPlacement({}, ())))


@pytest.fixture(scope="module")
def ingress_routed() -> RecordedPlan:
    return _record(
        ClusterAddonsArgs(gateway=False, cert_manager=True, acme_email=EMAIL, nvidia_device_plugin=False, gpu=AKS_GPU, ingress_class="nginx")
    )


def _release(plan: RecordedPlan, part: str) -> RecordedResource:
    return plan.one(RELEASE, f"{NAME}-{part}")


def _values(release: RecordedResource) -> dict[str, Any]:
    values = release.inputs["values"]
    assert isinstance(values, dict)
    return values


def _only(plan: RecordedPlan, type_: str) -> RecordedResource:
    found = plan.of_type(type_)
    assert len(found) == 1, f"expected one {type_}, got {[r.name for r in found]}"
    return found[0]


def test_every_release_is_an_exact_version_of_the_upstream_chart_from_its_publishers_registry(full: RecordedPlan) -> None:
    # Where each publisher documents its chart: envoyproxy/gateway site/content/en/v1.9/install/install-helm.md,
    # cert-manager's installation/helm docs (OCI at quay.io/jetstack/charts), NVIDIA/k8s-device-plugin README.md.
    expected = {
        "envoy-gateway": ("oci://docker.io/envoyproxy/gateway-helm", None),
        "cert-manager": ("oci://quay.io/jetstack/charts/cert-manager", None),
        "nvidia-device-plugin": ("nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin"),
    }
    releases = {r.inputs["name"]: r for r in full.of_type(RELEASE)}
    assert sorted(releases) == sorted(expected), "each add-on is one named Helm release (Pulumi would otherwise suffix the name)"
    for name, (chart, repo) in expected.items():
        inputs = releases[name].inputs
        assert inputs["chart"] == chart
        assert inputs.get("repositoryOpts", {}).get("repo") == repo, f"{name}: an OCI chart has no repository, a classic one its publisher's"
        assert EXACT.match(inputs["version"]), f"{name}: {inputs['version']!r} is not one exact release"
        assert inputs["version"] == CHARTS[name].version, f"{name}: the release installs the version the table pins and cites"


def test_the_pinned_chart_table_holds_only_exact_versions_with_a_source_and_a_date() -> None:
    for chart in CHARTS.values():
        assert EXACT.match(chart.version), f"{chart.name}: {chart.version!r} is a range or a tag, not a release"
        assert chart.source.startswith("github:") and re.match(r"^\d{4}-\d{2}-\d{2}$", chart.read), chart.name
        assert (chart.repo is None) == chart.chart.startswith("oci://"), f"{chart.name}: OCI charts carry their registry in `chart`"


def test_every_release_is_atomic_cleans_up_a_failed_upgrade_and_waits_a_bounded_time(full: RecordedPlan) -> None:
    for release in full.of_type(RELEASE):
        i = release.inputs
        assert i["atomic"] is True and i["cleanupOnFail"] is True, f"{release.name}: a failed install must not leave half a controller"
        assert 60 <= i["timeout"] <= 900, f"{release.name}: timeout {i['timeout']}s"
        assert i["maxHistory"] > 0, f"{release.name}: Helm's revision Secrets are bounded"
        assert i.get("skipAwait") is not True, f"{release.name}: dependents must wait for the release's workloads"
        assert i["createNamespace"] is True, f"{release.name}: each add-on gets its own namespace"


def test_children_are_parented_to_the_component_and_named_after_it(full: RecordedPlan) -> None:
    children = [r for r in full.resources if r.parent == COMPONENT]
    assert sorted(r.name for r in children) == sorted(
        f"{NAME}-{part}" for part in ("envoy-gateway", "gateway-class", "cert-manager", "cluster-issuer", "nvidia-device-plugin")
    )
    assert all(r.custom for r in children)


def test_under_mocks_the_releases_register_their_inputs_but_none_of_the_objects_their_charts_render(full: RecordedPlan) -> None:
    kinds = {r.type for r in full.resources if r.package == "kubernetes"}
    assert kinds == {RELEASE, GATEWAY_CLASS, CLUSTER_ISSUER}, "no Deployment or CRD of the charts appears: they are rendered by Helm at `up`"


def test_envoy_gateway_runs_in_its_namespace_and_brings_the_gateway_api_crds(full: RecordedPlan) -> None:
    release = _release(full, "envoy-gateway")
    assert release.inputs["namespace"] == "envoy-gateway-system"
    values = _values(release)
    # charts/gateway-helm/Chart.yaml: the `crds` subchart (condition crds.enabled) ships the Gateway API
    # CRDs in crds/gatewayapi-crds.yaml, which Helm applies before the templates.
    assert values["crds"] == {"enabled": True}
    assert values["config"]["envoyGateway"]["gateway"]["controllerName"] == addons.GATEWAY_CONTROLLER


def test_the_gateway_class_names_envoy_gateways_controller_and_waits_for_the_release_that_brings_its_crd(full: RecordedPlan) -> None:
    gateway_class = _only(full, GATEWAY_CLASS)
    assert gateway_class.inputs["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert gateway_class.inputs["spec"] == {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}
    assert gateway_class.inputs["metadata"]["name"] == full.outputs["gatewayClass"], "the output names the class created"
    assert _release(full, "envoy-gateway").key in gateway_class.depends_on


def test_cert_manager_installs_and_keeps_its_crds_with_gateway_api_support_on(full: RecordedPlan) -> None:
    release = _release(full, "cert-manager")
    assert release.inputs["namespace"] == "cert-manager"
    values = _values(release)
    # deploy/charts/cert-manager/values.yaml (v1.21.1): crds.enabled defaults to false; crds.keep adds
    # helm.sh/resource-policy: keep, so uninstalling does not delete every Certificate with its CRD.
    assert values["crds"] == {"enabled": True, "keep": True}
    # pkg/apis/config/controller/v1alpha1/types.go: GatewayAPIConfig `json:"gatewayAPI"`, field `enabled`;
    # `enableGatewayAPI` is deprecated in 1.21 (release-notes-1.21.md).
    config = values["config"]
    assert config["gatewayAPI"] == {"enabled": True}
    assert "enableGatewayAPI" not in config
    assert (config["apiVersion"], config["kind"]) == ("controller.config.cert-manager.io/v1alpha1", "ControllerConfiguration")


def test_cert_manager_starts_after_the_gateway_release_so_it_sees_the_gateway_api_crds(full: RecordedPlan) -> None:
    assert _release(full, "envoy-gateway").key in _release(full, "cert-manager").depends_on, (
        "cert-manager watches Gateways only if their CRDs exist when it starts (cert-manager docs, usage/gateway.md)"
    )


def test_the_cluster_issuer_answers_http01_through_the_dixi_gateways_http_listener(full: RecordedPlan) -> None:
    issuer = _only(full, CLUSTER_ISSUER)
    assert issuer.inputs["apiVersion"] == "cert-manager.io/v1"
    assert issuer.inputs["metadata"]["name"] == "letsencrypt" == full.outputs["clusterIssuer"]
    acme = issuer.inputs["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory", "Let's Encrypt production, not staging"
    assert acme["email"] == EMAIL
    assert acme["privateKeySecretRef"] == {"name": "letsencrypt-account-key"}
    [solver] = acme["solvers"]
    # The contract's Gateway: name dixi, namespace dixi, port-80 listener `http` (k8s-contract.md).
    assert solver == {"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "dixi", "namespace": "dixi", "kind": "Gateway", "sectionName": "http"}]}}}
    assert _release(full, "cert-manager").key in issuer.depends_on, "the ClusterIssuer CRD and webhook come with cert-manager"


def test_with_ingress_routing_the_issuer_solves_through_the_ingress_class_and_gateway_api_support_is_off(ingress_routed: RecordedPlan) -> None:
    [solver] = _only(ingress_routed, CLUSTER_ISSUER).inputs["spec"]["acme"]["solvers"]
    assert solver == {"http01": {"ingress": {"ingressClassName": "nginx"}}}
    release = _release(ingress_routed, "cert-manager")
    assert "gatewayAPI" not in _values(release)["config"], "a cluster without Gateway API CRDs would stall cert-manager's informers"
    assert release.depends_on == [], "no gateway release to wait for"
    assert ingress_routed.outputs.get("gatewayClass") is None, "an unset output is not exported"


def test_the_device_plugin_selects_the_gpu_nodes_and_replaces_the_charts_nfd_affinity(full: RecordedPlan) -> None:
    release = _release(full, "nvidia-device-plugin")
    assert release.inputs["namespace"] == "nvidia-device-plugin", "NVIDIA's README namespace; the chart refuses `default`"
    values = _values(release)
    assert values["nodeSelector"] == dict(AKS_GPU.node_selector)
    # deployments/helm/nvidia-device-plugin/values.yaml: the default affinity's terms want NFD labels
    # (or nvidia.com/gpu.present); nodeSelectorTerms is a list, so ours replaces them all.
    [term] = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    required = {e["key"]: e["values"] for e in term["matchExpressions"] if e["operator"] == "In"}
    assert required == {k: [v] for k, v in AKS_GPU.node_selector.items()}, "one term: every placement label, nothing of NFD's"
    assert not any(e["key"].startswith("feature.node.kubernetes.io/") for e in term["matchExpressions"])


def test_the_device_plugin_tolerates_the_placements_taints_and_keeps_the_charts_own(full: RecordedPlan) -> None:
    tolerations = _values(_release(full, "nvidia-device-plugin"))["tolerations"]
    for toleration in AKS_GPU.tolerations:
        assert dict(toleration) in tolerations, f"the GPU pool's taint {toleration} must be tolerated"
    # values.yaml's own: Helm replaces a list, so they are restated.
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in tolerations
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations
    assert len(tolerations) == len({tuple(sorted(t.items())) for t in tolerations}), "each toleration once"


def test_ready_lists_what_the_apps_objects_must_wait_for(everything: tuple[RecordedPlan, ClusterAddons]) -> None:
    plan, component = everything
    names = sorted(r._name for r in component.ready)
    assert names == sorted(r.name for r in plan.resources if r.parent == COMPONENT)
    assert component.gateway_namespace == "envoy-gateway-system" == plan.outputs["gatewayNamespace"]


def test_parts_switched_off_are_absent(nothing: RecordedPlan) -> None:
    assert [r.key for r in nothing.resources if r.parent == COMPONENT] == []
    assert nothing.outputs.get("gatewayClass") is None and nothing.outputs.get("clusterIssuer") is None
    assert nothing.outputs["gatewayNamespace"] == "envoy-gateway-system", "the proxies' namespace is still named for the caller"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"cert_manager": False}, "needs cert-manager"),
        ({"acme_email": "not-an-address"}, "not an e-mail address"),
        ({"gpu": GpuPlacement({}, ())}, "GPU nodes' label"),
    ],
)
def test_arguments_that_cannot_work_are_refused_with_the_reason(changes: dict[str, Any], why: str) -> None:
    fields = {"gateway": True, "cert_manager": True, "acme_email": EMAIL, "nvidia_device_plugin": True, "gpu": AKS_GPU, **changes}
    with pytest.raises(ValueError, match=why):
        ClusterAddonsArgs(**fields)
