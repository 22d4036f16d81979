"""`ValkeyBus`, the in-cluster event bus, recorded under the offline engine.

A small program creates the app's namespace and the bus in it, as
`infra.k8s.workloads` does, with a secret password. The tests read the
recorded plan. Under mocks the Helm release is one resource with its inputs;
the objects the valkey chart renders are not in the plan, so the labels, names
and value keys asserted here cite the chart's templates at the pinned version
(github:valkey-io/valkey-helm, tag valkey-0.11.0).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core
import pytest
from pulumi import Output, ResourceOptions

from infra.k8s.charts import VALKEY
from infra.k8s.event_bus import ValkeyBus, ValkeyBusArgs, chart_fullname
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret, reveal
from infra.plan.run import ROOT

NAME = "dixi-app-bus"
COMPONENT = ResourceKey("dixi:k8s:ValkeyBus", NAME)
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
PASSWORD = "bus-password-under-test-0123456789"
LABELS = {"app.kubernetes.io/part-of": "dixi", "app.kubernetes.io/name": "not-for-the-bus", "team": "dixi"}


def _record() -> RecordedPlan:
    def program() -> None:
        ns = core.Namespace("dixi-namespace", metadata={"name": "dixi"})
        bus = ValkeyBus(
            NAME,
            ValkeyBusArgs(namespace=ns.metadata.apply(lambda m: str(m.name)), password=Output.secret(PASSWORD), storage_class=None, labels=LABELS),
            opts=ResourceOptions(depends_on=[ns]),
        )
        pulumi.export("url", bus.url)
        pulumi.export("podLabels", bus.pod_labels)
        pulumi.export("port", bus.port)

    return record("dixi", "t", None, {}, [], program, ROOT)


@pytest.fixture(scope="module")
def plan() -> RecordedPlan:
    return _record()


def _release(plan: RecordedPlan) -> RecordedResource:
    return plan.one(RELEASE, f"{NAME}-valkey")


def _values(plan: RecordedPlan) -> dict[str, Any]:
    values = _release(plan).inputs["values"]
    assert isinstance(values, dict)
    return values


def _plain_occurrences(value: Any, needle: str, path: str = "") -> list[str]:
    """Where `needle` appears in `value` outside a Secret wrapper."""
    if isinstance(value, Secret):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _plain_occurrences(v, needle, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _plain_occurrences(v, needle, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and needle in value else []


def test_the_bus_is_the_pinned_official_valkey_chart_released_into_the_app_namespace(plan: RecordedPlan) -> None:
    release = _release(plan)
    i = release.inputs
    assert (i["chart"], i["repositoryOpts"], i["version"]) == ("valkey", {"repo": "https://valkey.io/valkey-helm/"}, VALKEY.version)
    assert i["name"] == NAME, "an explicit release name: the chart derives the Service's name from it"
    assert i["namespace"] == "dixi"
    assert i["createNamespace"] is False, "the app owns its namespace; destroying the bus must not take it"
    assert i["atomic"] is True and i["cleanupOnFail"] is True
    assert release.parent == COMPONENT
    assert ResourceKey(NAMESPACE, "dixi-namespace") in release.dependencies, "the release waits for the namespace it lands in"


def test_the_password_never_appears_in_plain_text_in_any_input(plan: RecordedPlan) -> None:
    leaks = {r.name: _plain_occurrences(r.inputs, PASSWORD) for r in plan.resources}
    assert {name: paths for name, paths in leaks.items() if paths} == {}
    secret = plan.one(SECRET, f"{NAME}-users")
    data = secret.inputs["stringData"]
    assert isinstance(data, Secret) and data.value == {"default": PASSWORD}, "only inside the Secret, wrapped as a Pulumi secret"
    assert PASSWORD not in str(reveal(_release(plan).inputs)), "not even secret-wrapped: Helm keeps its values in the release record"
    assert PASSWORD not in str(plan.outputs), "the URL carries no password: the backend reads EVENT_BUS_PASSWORD"


def test_auth_reads_the_default_users_password_from_the_secret_the_release_waits_for(plan: RecordedPlan) -> None:
    secret = plan.one(SECRET, f"{NAME}-users")
    auth = _values(plan)["auth"]
    assert auth["enabled"] is True
    # templates/init_config.yaml `get_user_password`: /valkey-users-secret/<passwordKey> from
    # auth.usersExistingSecret; the backend sends no username, so the one user is `default`
    # (app/backend/dixi_backend/bus.py:165-172; redis-py 8.1 sends HELLO 3 AUTH default <password>).
    assert auth["usersExistingSecret"] == secret.inputs["metadata"]["name"]
    assert secret.inputs["metadata"]["namespace"] == "dixi"
    assert list(auth["aclUsers"]) == ["default"]
    user = auth["aclUsers"]["default"]
    assert "password" not in user, "an inline password would land in the Helm values"
    assert user["passwordKey"] in secret.inputs["stringData"].value
    assert "aclConfig" not in auth
    assert secret.key in _release(plan).depends_on, "the init container reads the Secret: it must exist first"


def test_the_default_user_gets_the_buses_least_privilege_rules_not_every_command(plan: RecordedPlan) -> None:
    permissions = _values(plan)["auth"]["aclUsers"]["default"]["permissions"].split()
    assert "-@all" in permissions and "+publish" in permissions and "+subscribe" in permissions
    assert not {"+@all", "~*", "&*", "allcommands", "allkeys", "allchannels"} & set(permissions)
    assert "on" not in permissions, "the chart writes `user default on #<hash>` itself"
    assert not any(c in " ".join(permissions) for c in "\"'$`"), "the init script echoes the rules inside double quotes"


def test_the_url_names_the_charts_service_in_the_namespace_on_6379_without_a_password(plan: RecordedPlan) -> None:
    # templates/service.yaml: metadata.name is `valkey.fullname`, port service.port (6379, which
    # init_config.yaml also writes into valkey.conf).
    assert plan.outputs["url"] == "redis://dixi-app-bus-valkey.dixi.svc.cluster.local:6379/0"
    assert plan.outputs["port"] == 6379
    assert _values(plan)["service"] == {"type": "ClusterIP", "port": 6379}


@pytest.mark.parametrize(
    ("release", "fullname"),
    [("dixi-app-bus", "dixi-app-bus-valkey"), ("valkey", "valkey"), ("my-valkey-bus", "my-valkey-bus"), ("b" * 53, "b" * 53 + "-valkey")],
)
def test_the_service_name_follows_the_charts_fullname_helper(release: str, fullname: str) -> None:
    # templates/_helpers.tpl `valkey.fullname`: the release name if it contains the chart's name,
    # else "<release>-valkey", truncated to 63 (never reached: release names stop at 53).
    assert chart_fullname(release) == fullname


def test_pod_labels_are_exactly_the_labels_the_chart_puts_on_the_valkey_pods(plan: RecordedPlan) -> None:
    # templates/deploy_valkey.yaml, spec.template.metadata.labels: `valkey.selectorLabels`
    # (_helpers.tpl: app.kubernetes.io/name = the chart name, app.kubernetes.io/instance = the
    # release name), then .Values.commonLabels, then .Values.podLabels (unset).
    values = _values(plan)
    assert "podLabels" not in values
    assert values["commonLabels"] == {"app.kubernetes.io/part-of": "dixi", "team": "dixi"}, (
        "a label the chart sets itself would be written twice in one YAML map"
    )
    assert plan.outputs["podLabels"] == {
        "app.kubernetes.io/name": "valkey",
        "app.kubernetes.io/instance": NAME,
        "app.kubernetes.io/part-of": "dixi",
        "team": "dixi",
    }


def test_nothing_is_kept_and_no_exporter_runs(plan: RecordedPlan) -> None:
    values = _values(plan)
    assert values["dataStorage"] == {"enabled": False}, "no PVC: the bus holds nothing worth keeping"
    assert values["replica"] == {"enabled": False}, "one standalone Deployment (templates/deploy_valkey.yaml)"
    assert values["metrics"] == {"enabled": False}
    config = values["valkeyConfig"].splitlines()
    assert 'save ""' in config and "appendonly no" in config


def test_the_pod_meets_the_restricted_pod_security_standard(plan: RecordedPlan) -> None:
    values = _values(plan)
    pod, container = values["podSecurityContext"], values["securityContext"]
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"} and pod["runAsNonRoot"] is True
    # deploy_valkey.yaml gives `securityContext` to the init container and the server alike.
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["readOnlyRootFilesystem"] is True and container["runAsNonRoot"] is True
    assert container["runAsUser"] != 0
    assert values["serviceAccount"]["automount"] is False, "Valkey never calls the Kubernetes API"


def test_both_containers_have_small_requests_and_limits(plan: RecordedPlan) -> None:
    values = _values(plan)
    for key in ("resources", "initResources"):
        resources = values[key]
        assert set(resources) == {"requests", "limits"}, key
        assert set(resources["limits"]) == {"cpu", "memory"}, f"{key}: a bounded pod on a shared node"


def test_probes_are_tcp_checks_that_need_no_password(plan: RecordedPlan) -> None:
    values = _values(plan)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert values[probe]["enabled"] is True, probe
        # _helpers.tpl `valkey.healthProbes`: a customProbe replaces the default `valkey-cli ping` handler.
        assert values[probe]["customProbe"]["tcpSocket"] == {"port": "tcp"}, probe


def test_only_the_secret_and_the_release_are_registered_under_the_component(plan: RecordedPlan) -> None:
    children = sorted((r.type, r.name) for r in plan.resources if r.parent == COMPONENT)
    assert children == [(SECRET, f"{NAME}-users"), (RELEASE, f"{NAME}-valkey")], "the chart's objects are rendered by Helm at `up`, not here"


@pytest.mark.parametrize("name", ["Dixi-Bus", "bus_1", "x" * 54, "-bus"])
def test_a_name_helm_cannot_use_as_a_release_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot name a Helm release"):
        ValkeyBus(name, ValkeyBusArgs(namespace="dixi", password="x", storage_class=None, labels={}))
