"""The Kubernetes object rules (`infra/k8s/object_checks.py`) and the event bus in `private-ports-not-public`, each failing on bad objects and quiet on good ones."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from infra.checks import RULES, load_rules
from infra.k8s import object_checks
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT

COMPONENT = ResourceKey("dixi:k8s:Workloads", "dixi")
GATEWAY_API = "gateway.networking.k8s.io/v1"


def _obj(api_version: str, kind: str, name: str, namespace: str | None = "dixi", **fields: Any) -> RecordedResource:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    module = api_version if "/" in api_version else f"core/{api_version}"
    inputs = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
    return RecordedResource(f"kubernetes:{module}:{kind}", f"dixi-{kind.lower()}-{name}", True, COMPONENT, inputs, id=f"{name}-id", state=dict(inputs))


def _plan(*resources: RecordedResource) -> RecordedPlan:
    return RecordedPlan("dixi", "test", None, [RecordedResource(COMPONENT.type, COMPONENT.name, False, None, {}), *resources])


def _run(rule: str, plan: RecordedPlan) -> list[str]:
    load_rules()
    return [f"{p.severity}: {p.message}" for p in RULES[rule](plan, ROOT)]


HARDENED_POD: dict[str, Any] = {
    "serviceAccountName": "web",
    "automountServiceAccountToken": False,
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001.0, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{
        "name": "web",
        "image": "registry.example/web@sha256:" + "0" * 64,
        "imagePullPolicy": "Always",
        "ports": [{"containerPort": 8080.0}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/", "port": 8080.0}},
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080.0}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "runAsUser": 10001.0, "capabilities": {"drop": ["ALL"]}},
    }],
}  # fmt: skip


def deployment(pod: dict[str, Any] | None = None, **spec: Any) -> RecordedResource:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": pod or HARDENED_POD}
    return _obj("apps/v1", "Deployment", "web", spec={"replicas": 2.0, "selector": {"matchLabels": {"app": "web"}}, "template": template, **spec})


def network_policy() -> RecordedResource:
    return _obj("networking.k8s.io/v1", "NetworkPolicy", "web", spec={"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]})


def http_route(**rule: Any) -> RecordedResource:
    spec = {
        "parentRefs": [{"name": "dixi", "sectionName": "http"}],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "backendRefs": [{"name": "backend", "port": 3001.0}], **rule}],
    }
    return _obj(GATEWAY_API, "HTTPRoute", "dixi", spec=spec)


def gateway() -> RecordedResource:
    return _obj(GATEWAY_API, "Gateway", "dixi", spec={"gatewayClassName": "eg", "listeners": [{"name": "http", "port": 80.0, "protocol": "HTTP"}]})


def cluster_issuer(**acme: Any) -> RecordedResource:
    fields = {
        "server": "https://acme-v02.api.letsencrypt.org/directory", "email": "ops@example.com",
        "privateKeySecretRef": {"name": "letsencrypt-account"},
        "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "dixi", "namespace": "dixi", "kind": "Gateway"}]}}}],
        **acme,
    }  # fmt: skip
    return _obj("cert-manager.io/v1", "ClusterIssuer", "letsencrypt", namespace=None, spec={"acme": fields})


# --- k8s-schema ---------------------------------------------------------------------------


def test_k8s_schema_reports_a_field_the_api_does_not_know_naming_the_object_and_the_path() -> None:
    pod = copy.deepcopy(HARDENED_POD)
    pod["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True  # the API spells it readOnlyRootFilesystem
    (message,) = _run("k8s-schema", _plan(deployment(pod)))
    assert message.startswith("error: Deployment dixi/web (apps/v1) does not validate against Kubernetes 1.34.0 (strict)")
    assert "spec.template.spec.containers[0].securityContext" in message and "readOnlyRootFileSystem" in message


def test_k8s_schema_reports_a_wrong_type() -> None:
    (message,) = _run("k8s-schema", _plan(deployment(replicas="two")))
    assert "spec.replicas" in message and "'two'" in message


def test_k8s_schema_accepts_valid_built_in_objects_including_a_secret_with_placeholders() -> None:
    secret = _obj("v1", "Secret", "tokens", data=Secret({"TOKEN": "c2VjcmV0"}), stringData=Secret({"OTHER": "x"}), type="Opaque")
    service = _obj("v1", "Service", "web", spec={"selector": {"app": "web"}, "ports": [{"port": 80.0, "targetPort": "http"}]})
    assert _run("k8s-schema", _plan(deployment(), secret, service, network_policy())) == []


def test_k8s_schema_leaves_custom_resources_to_the_crd_rule() -> None:
    assert _run("k8s-schema", _plan(http_route(), cluster_issuer())) == []


def test_k8s_schema_warns_that_it_could_not_judge_without_kubernetes_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(object_checks, "kubernetes_validate_installed", lambda: False)
    assert _run("k8s-schema", _plan(deployment())) == ["warning: 1 Kubernetes object(s) not validated: kubernetes-validate is not installed (make setup)"]


def test_the_minimum_kubernetes_version_is_one_kubernetes_validate_ships_strict_schemas_for() -> None:
    from importlib.resources import files

    folder = files("kubernetes_validate") / "kubernetes-json-schema" / f"v{object_checks.KUBERNETES_VERSION}-local-strict"
    assert folder.is_dir()


# --- k8s-crd-schema -----------------------------------------------------------------------


def test_k8s_crd_schema_accepts_the_gateway_api_and_cert_manager_objects_the_app_uses() -> None:
    gateway_class = _obj(GATEWAY_API, "GatewayClass", "eg", namespace=None, spec={"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"})
    certificate = _obj("cert-manager.io/v1", "Certificate", "dixi", spec={"secretName": "dixi-tls", "dnsNames": ["dixi.example.com"], "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}})
    timeouts = http_route(timeouts={"request": "0s"})
    assert _run("k8s-crd-schema", _plan(gateway_class, gateway(), timeouts, cluster_issuer(), certificate)) == []


def test_k8s_crd_schema_reports_a_field_the_api_server_would_prune() -> None:
    (message,) = _run("k8s-crd-schema", _plan(http_route(timeout="3600s")))
    assert message.startswith("error: HTTPRoute dixi/dixi (gateway.networking.k8s.io/v1) does not validate against its CRD's schema: spec.rules[0]")
    assert "'timeout' was unexpected" in message


def test_k8s_crd_schema_reports_a_value_the_crd_refuses() -> None:
    messages = _run("k8s-crd-schema", _plan(cluster_issuer(solvers=[{"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "dixi", "port": 70000.0}]}}}])))
    assert any("spec.acme.solvers[0].http01.gatewayHTTPRoute.parentRefs[0].port" in m and "70000" in m for m in messages), messages


def test_k8s_crd_schema_warns_about_every_custom_kind_it_has_no_schema_for() -> None:
    proxy = _obj("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy", "dixi", spec={})
    old = _obj("gateway.networking.k8s.io/v1alpha2", "Gateway", "old", spec={})
    assert _run("k8s-crd-schema", _plan(proxy, old)) == [
        "warning: EnvoyProxy dixi/dixi (gateway.envoyproxy.io/v1alpha1) not validated: no schema for EnvoyProxy gateway.envoyproxy.io/v1alpha1",
        "warning: Gateway dixi/old (gateway.networking.k8s.io/v1alpha2) not validated: no schema for Gateway gateway.networking.k8s.io/v1alpha2 (the vendored gateway.networking.k8s.io CRD serves v1, v1beta1)",
    ]


def test_structural_schemas_keep_unknown_fields_where_the_crd_preserves_them() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "nullable": True}, "free": {"type": "object", "properties": {"x": {}}, "x-kubernetes-preserve-unknown-fields": True}}}
    converted = object_checks.structural(schema)
    assert converted["additionalProperties"] is False and converted["properties"]["a"]["type"] == ["string", "null"]
    assert "additionalProperties" not in converted["properties"]["free"]


# --- k8s-checkov --------------------------------------------------------------------------


def test_k8s_checkov_reports_each_failed_check_naming_the_object() -> None:
    pod = copy.deepcopy(HARDENED_POD)
    pod["containers"][0]["securityContext"]["privileged"] = True
    messages = _run("k8s-checkov", _plan(deployment(pod), network_policy()))
    assert messages == ["error: CKV_K8S_16 fails on Deployment dixi/web: Container should not be privileged"]


def test_k8s_checkov_passes_a_hardened_deployment_behind_a_network_policy() -> None:
    assert _run("k8s-checkov", _plan(deployment(), network_policy())) == []


def test_k8s_checkov_drops_the_failures_the_skip_list_accepts_for_that_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pod = copy.deepcopy(HARDENED_POD)
    pod["containers"][0]["securityContext"]["privileged"] = True
    binary = object_checks.checkov_binary(ROOT)
    assert binary is not None
    monkeypatch.setenv(object_checks.CHECKOV_ENV, binary)
    plan = _plan(deployment(pod), network_policy())
    load_rules()
    (tmp_path / "checkov-skips.yaml").write_text("skips:\n  - {check: CKV_K8S_16, stacks: [test], reason: a test's reason that is long enough}\n")
    assert RULES["k8s-checkov"](plan, tmp_path) == []
    (tmp_path / "checkov-skips.yaml").write_text("skips:\n  - {check: CKV_K8S_16, stacks: [test], resource: Deployment dixi/other, reason: another object only}\n")
    assert [p.message for p in RULES["k8s-checkov"](plan, tmp_path)] == ["CKV_K8S_16 fails on Deployment dixi/web: Container should not be privileged"]


def test_k8s_checkov_warns_that_it_could_not_judge_when_checkov_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(object_checks.CHECKOV_ENV, str(tmp_path / "no-checkov"))
    (message,) = _run("k8s-checkov", _plan(deployment()))
    assert message.startswith("warning: 1 Kubernetes object(s) not checked: checkov not found")


def test_k8s_checkov_runs_checkov_once_for_the_same_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = object_checks.run_checkov

    def counting(binary: str, files: Any) -> list[object_checks.Finding]:
        calls.append(binary)
        return real(binary, files)

    monkeypatch.setattr(object_checks, "run_checkov", counting)
    monkeypatch.setattr(object_checks, "_CACHE", {})
    plan = _plan(deployment(replicas=5.0), network_policy())
    assert _run("k8s-checkov", plan) == _run("k8s-checkov", plan) == []
    assert len(calls) == 1, "the second plan of the same objects reads the cache"


def test_checkov_is_found_in_the_projects_own_virtualenv() -> None:
    assert object_checks.checkov_binary(ROOT) == str(ROOT / object_checks.CHECKOV_VENV), "make setup installs it (the Makefile's .venv-checkov)"


# --- the event bus is private -------------------------------------------------------------


def test_a_load_balancer_service_to_the_event_bus_port_is_reported() -> None:
    service = _obj("v1", "Service", "cache", spec={"type": "LoadBalancer", "selector": {"app": "cache"}, "ports": [{"port": 6379.0}]})
    messages = _run("private-ports-not-public", _plan(service))
    assert any("opens port 6379 (event bus)" in m and "the event bus must never be reachable" in m for m in messages), messages


def test_a_route_to_a_service_named_like_the_bus_is_reported() -> None:
    route = _obj(GATEWAY_API, "HTTPRoute", "leak", spec={"rules": [{"backendRefs": [{"name": "dixi-bus-valkey", "port": 80.0}]}]})
    messages = _run("private-ports-not-public", _plan(route))
    assert any("(event bus)" in m and "Service dixi-bus-valkey" in m for m in messages), messages


def test_routes_to_frontend_and_backend_are_not_the_bus() -> None:
    assert _run("private-ports-not-public", _plan(http_route())) == []
