"""The `k8s` stack kind under the offline engine: what the cluster gets from the app spec.

Every test reads the recorded plan of `Pulumi.k8s.yaml` (with overrides where
it says): the manifests as the Kubernetes provider receives them, their
parents and options, and what the project's rules make of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra import spec
from infra.config import ConfigError
from infra.plan.model import RecordedResource, Secret, reveal, secret_values
from infra.plan.run import Plan

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RELEASE = "kubernetes:helm.sh/v3:Release"
PlanOf = Callable[..., Plan]
DOMAIN = {"dixi:domain": "dixi.example.com", "dixi:acmeEmail": "ops@example.com"}


@pytest.fixture(scope="module")
def k8s(plan_of: PlanOf) -> Plan:
    return plan_of("k8s")


def _manifest(r: RecordedResource) -> dict[str, Any]:
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _named(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    for r in plan.recorded.of_type(type_):
        if _manifest(r)["metadata"]["name"] == name:
            return _manifest(r)
    raise AssertionError(f"no {type_} named {name} in the plan")


def _pod(plan: Plan, service: str) -> dict[str, Any]:
    found: dict[str, Any] = _named(plan, DEPLOYMENT, service)["spec"]["template"]["spec"]
    return found


def _policy(plan: Plan, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _named(plan, POLICY, name)["spec"]
    return found


def test_the_cluster_gets_the_seeds_replicas_requests_limits_and_probe_timings(k8s: Plan) -> None:
    for service in spec.SERVICES:
        deployment = _named(k8s, DEPLOYMENT, service.name)
        assert deployment["spec"]["replicas"] == service.replicas, service.name
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        resources = container["resources"]
        assert resources["requests"] == {"cpu": service.resources.request_cpu, "memory": service.resources.request_memory}
        assert {k: v for k, v in resources["limits"].items() if k != "nvidia.com/gpu"} == {"cpu": service.resources.limit_cpu, "memory": service.resources.limit_memory}
        for probe, wanted in (("livenessProbe", service.liveness), ("readinessProbe", service.readiness)):
            got = container[probe]
            assert (got["httpGet"]["path"], got["initialDelaySeconds"], got["periodSeconds"]) == (wanted.path, wanted.initial_delay_seconds, wanted.period_seconds)
    backend = _named(k8s, DEPLOYMENT, "backend")
    container = backend["spec"]["template"]["spec"]["containers"][0]
    # The seed's manifest, literally: 3 replicas, 512Mi/500m requests, 1Gi/1000m limits, probes 30/10 and 10/5.
    assert backend["spec"]["replicas"] == 3
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health/live" and container["livenessProbe"]["initialDelaySeconds"] == 30


def test_only_ollama_gets_a_gpu_by_default_and_lands_on_the_gpu_nodes(k8s: Plan) -> None:
    ollama = _pod(k8s, "ollama")
    assert ollama["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert ollama["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in ollama["tolerations"]
    for name in ("frontend", "backend", "vision"):
        pod = _pod(k8s, name)
        assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"], f"{name} must not reserve a GPU"
        assert "nodeSelector" not in pod, f"{name} has no reason to sit on a GPU node"
    assert k8s.cost.requests is not None and k8s.cost.requests["gpus"] == 1


def test_vision_takes_a_gpu_only_when_the_stack_opts_in(plan_of: PlanOf) -> None:
    pod = _pod(plan_of("k8s", **{"dixi:visionGpu": "true"}), "vision")
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_the_gpu_nodes_labels_and_taints_come_from_config(plan_of: PlanOf) -> None:
    plan = plan_of("k8s", **{"dixi:gpuNodeSelector": '["pool=gpu"]', "dixi:gpuTaints": '["sku=gpu:NoSchedule"]'})
    pod = _pod(plan, "ollama")
    assert pod["nodeSelector"] == {"pool": "gpu"}
    assert pod["tolerations"] == [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]


def test_every_container_runs_non_root_without_privilege_or_capabilities(k8s: Plan) -> None:
    for service in spec.SERVICES:
        pod = _pod(k8s, service.name)
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False, "no pod talks to the Kubernetes API"
        context = pod["containers"][0]["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsUser"] == service.run_as_uid
        # Read-only where the spec names what the image writes; each such path is an emptyDir.
        assert context["readOnlyRootFilesystem"] is (service.scratch_paths is not None), service.name
        mounted = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert set(service.scratch_paths or ()) <= mounted


def test_ollama_keeps_its_models_on_a_claim_and_is_replaced_not_rolled(k8s: Plan) -> None:
    ollama = _named(k8s, DEPLOYMENT, "ollama")
    assert ollama["spec"]["strategy"] == {"type": "Recreate"}, "one GPU and a ReadWriteOnce claim: two pods would deadlock"
    claim = _named(k8s, CLAIM, "ollama-ollama")
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    volumes = {v["name"]: v for v in ollama["spec"]["template"]["spec"]["volumes"]}
    assert volumes["ollama"]["persistentVolumeClaim"]["claimName"] == "ollama-ollama"


def test_data_claims_and_their_namespace_survive_destroy_unless_the_user_opts_out(k8s: Plan, plan_of: PlanOf) -> None:
    kept = [r for r in k8s.recorded.of_type(CLAIM, "kubernetes:core/v1:Namespace")]
    assert kept and all(r.retain_on_delete for r in kept)
    thrown = plan_of("k8s", **{"dixi:retainData": "false"})
    assert not any(r.retain_on_delete for r in thrown.recorded.of_type(CLAIM, "kubernetes:core/v1:Namespace"))


def test_secrets_reach_the_pods_only_through_a_secret_and_never_in_plain_text(k8s: Plan) -> None:
    secret = next(r for r in k8s.recorded.of_type(SECRET) if _manifest(r)["metadata"]["name"] == "dixi-secrets")
    data = secret.inputs["stringData"]
    assert isinstance(data, Secret) or all(isinstance(v, Secret) for v in data.values()), "the Secret's values are sent as Pulumi secrets"
    assert set(reveal(data)) == {"GESTURE_TOKEN", "EVENT_BUS_PASSWORD"}
    values = {str(v) for v in secret_values(secret.inputs)}
    for r in k8s.recorded.resources:
        if r.key == secret.key:
            continue
        plain = str(reveal(r.inputs)) if r.type in (CONFIG_MAP, DEPLOYMENT) else ""
        assert not any(v and v in plain for v in values), f"{r.key} carries a secret value in plain text"
    env = {e["name"]: e for e in _pod(k8s, "backend")["containers"][0]["env"]}
    assert env["GESTURE_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "dixi-secrets", "key": "GESTURE_TOKEN"}
    assert env["EVENT_BUS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "EVENT_BUS_PASSWORD"


def test_the_backends_wiring_is_a_configmap_that_points_at_the_cluster_services_and_the_bus(k8s: Plan) -> None:
    data = _named(k8s, CONFIG_MAP, "backend-env")["data"]
    assert data["VISION_SERVICE_URL"] == "http://vision.dixi.svc.cluster.local:5000"
    assert data["OLLAMA_BASE_URL"] == "http://ollama.dixi.svc.cluster.local:11434"
    assert data["EVENT_BUS_URL"].startswith("redis://") and "@" not in data["EVENT_BUS_URL"]
    assert k8s.problems == [] or all(p.rule != "event-bus-for-replicas" for p in k8s.problems)


def test_a_managed_bus_replaces_the_one_in_the_cluster(plan_of: PlanOf) -> None:
    plan = plan_of("k8s", **{"dixi:eventBusUrl": "rediss://bus.example.internal:6380"})
    assert _named(plan, CONFIG_MAP, "backend-env")["data"]["EVENT_BUS_URL"] == "rediss://bus.example.internal:6380"
    assert not [r for r in plan.recorded.resources if r.type == "dixi:k8s:ValkeyBus"]
    egress = _policy(plan, "backend")["egress"]
    assert any(rule["ports"] == [{"protocol": "TCP", "port": 6380}] for rule in egress), "the backend may reach the managed bus's port"


def test_the_namespace_denies_everything_then_admits_only_the_paths_the_app_uses(k8s: Plan) -> None:
    deny = _policy(k8s, "default-deny")
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    backend_only = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "backend"}}}]
    for name in ("vision", "ollama", "bus"):
        ingress = _policy(k8s, name)["ingress"]
        assert [peer for rule in ingress for peer in rule["from"]] == backend_only, f"only the backend reaches {name}"
    proxies = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}}
    assert _policy(k8s, "frontend")["ingress"] == [{"from": [proxies], "ports": [{"protocol": "TCP", "port": spec.FRONTEND.port}]}]
    assert proxies in _policy(k8s, "backend")["ingress"][0]["from"]
    # Only Ollama reaches beyond the cluster: HTTPS, to pull models.
    for name in ("frontend", "backend", "vision"):
        assert not any(peer.get("ipBlock") for rule in _policy(k8s, name)["egress"] for peer in rule["to"]), name
    (https,) = [rule for rule in _policy(k8s, "ollama")["egress"] if rule.get("ports") == [{"protocol": "TCP", "port": 443}]]
    assert https["to"][0]["ipBlock"]["except"] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], "Ollama's way out opens nothing private"


def test_the_bus_policy_selects_the_pods_the_valkey_chart_runs(k8s: Plan) -> None:
    from infra.k8s.event_bus import ValkeyBus  # noqa: F401  (the labels come from the component)

    bus = _policy(k8s, "bus")
    release = k8s.recorded.of_type(RELEASE)
    assert any("valkey" in str(_manifest(r).get("chart")) for r in release)
    assert bus["podSelector"]["matchLabels"], "the bus policy must select the bus pods, not every pod"


def test_frontend_and_backend_lose_at_most_one_pod_to_a_drain(k8s: Plan) -> None:
    budgets = {_manifest(r)["metadata"]["name"]: _manifest(r)["spec"] for r in k8s.recorded.of_type(PDB)}
    assert set(budgets) == {"frontend", "backend"}
    assert all(b["maxUnavailable"] == 1 for b in budgets.values())


def test_traffic_comes_in_through_a_gateway_with_api_and_ws_to_the_backend_and_the_rest_to_the_frontend(k8s: Plan) -> None:
    gateway = _named(k8s, GATEWAY, "dixi")
    assert [listener["port"] for listener in gateway["spec"]["listeners"]] == [80]
    backend = _named(k8s, ROUTE, "backend")["spec"]
    paths = {rule["matches"][0]["path"]["value"]: rule for rule in backend["rules"]}
    assert set(paths) == {"/api", "/ws"}
    assert all(ref == {"name": "backend", "port": 3001} for rule in backend["rules"] for ref in rule["backendRefs"])
    assert paths["/ws"]["timeouts"] == {"request": "0s"}, "a WebSocket lives for hours: no request timeout"
    frontend = _named(k8s, ROUTE, "frontend")["spec"]
    assert frontend["rules"][0]["backendRefs"] == [{"name": "frontend", "port": 8080}]
    routes = k8s.recorded.of_type(ROUTE)
    assert all(ref["name"] in ("frontend", "backend") for r in routes for rule in _manifest(r)["spec"]["rules"] for ref in rule.get("backendRefs", []))


def test_with_a_domain_the_gateway_terminates_tls_with_cert_managers_certificate_and_redirects_http(plan_of: PlanOf) -> None:
    plan = plan_of("k8s", **DOMAIN)
    gateway = _named(plan, GATEWAY, "dixi")
    https = next(listener for listener in gateway["spec"]["listeners"] if listener["name"] == "https")
    assert https["hostname"] == "dixi.example.com" and https["tls"]["mode"] == "Terminate"
    assert gateway["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    redirect = _named(plan, ROUTE, "https-redirect")["spec"]
    assert redirect["parentRefs"] == [{"name": "dixi", "sectionName": "http"}]
    assert redirect["rules"][0]["filters"][0]["requestRedirect"]["scheme"] == "https"
    assert _named(plan, ROUTE, "backend")["spec"]["parentRefs"][0]["sectionName"] == "https"
    assert plan.recorded.outputs["url"] == "https://dixi.example.com"


def test_an_ingress_serves_clusters_that_already_run_a_controller(plan_of: PlanOf) -> None:
    plan = plan_of("k8s", **{"dixi:routing": "ingress", "dixi:ingressClass": "traefik", "dixi:proxyNamespace": "traefik"})
    assert not plan.recorded.of_type(GATEWAY) and not plan.recorded.of_type(ROUTE)
    ingress = _named(plan, INGRESS, "dixi")["spec"]
    assert ingress["ingressClassName"] == "traefik"
    assert {p["path"]: p["backend"]["service"]["name"] for p in ingress["rules"][0]["http"]["paths"]} == {"/api": "backend", "/ws": "backend", "/": "frontend"}
    assert not any("gateway-helm" in str(_manifest(r).get("chart")) for r in plan.recorded.of_type(RELEASE)), "no Gateway implementation without a Gateway"
    proxies = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
    assert _policy(plan, "frontend")["ingress"][0]["from"] == [proxies]


def test_no_private_service_is_ever_a_load_balancer_node_port_or_route_backend(k8s: Plan) -> None:
    for r in k8s.recorded.of_type(SERVICE):
        assert _manifest(r)["spec"]["type"] == "ClusterIP"
    assert k8s.problems == [], [f"{p.rule}: {p.message}" for p in k8s.problems]


def test_each_add_on_can_be_left_out(plan_of: PlanOf) -> None:
    plan = plan_of("k8s", **{"dixi:installGateway": "false", "dixi:installCertManager": "false", "dixi:installGpuPlugin": "false", "dixi:proxyNamespace": "istio-ingress"})
    charts = [str(_manifest(r).get("chart")) for r in plan.recorded.of_type(RELEASE)]
    assert all("valkey" in chart for chart in charts), charts


def test_the_images_are_built_into_the_configured_registry_and_pulled_by_digest(k8s: Plan) -> None:
    images = k8s.recorded.of_type("docker-build:index:Image")
    assert {str(reveal(r.inputs)["tags"][0]).rsplit("/", 1)[0] for r in images} == {"ghcr.io/your-org"}
    for service in spec.SERVICES:
        image = _pod(k8s, service.name)["containers"][0]["image"]
        assert "@sha256:" in image, f"{service.name} runs {image}, not a digest"


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        ({"dixi:routing": "ingress"}, "dixi:ingressClass", "name the IngressClass"),
        ({"dixi:routing": "nginx"}, "dixi:routing", "allowed: 'gateway', 'ingress'"),
        ({"dixi:domain": "dixi.example.com"}, "dixi:acmeEmail", "Let's Encrypt needs an email"),
        ({"dixi:imageRegistry": ""}, "dixi:imageRegistry", "nothing can hold the images"),
        ({"dixi:gpuTaints": '["nvidia.com/gpu:Never"]'}, "dixi:gpuTaints", "Effect one of"),
        ({"dixi:gpuNodeSelector": "[]"}, "dixi:gpuNodeSelector", "could land on a node without a GPU"),
        ({"dixi:eventBusUrl": "redis://:hunter2@bus:6379"}, "dixi:eventBusUrl", "carries a password"),
        ({"dixi:installGateway": "false"}, "dixi:proxyNamespace", "Gateway implementation runs its proxies"),
    ],
)
def test_a_bad_config_is_one_clear_error_naming_the_key(plan_of: PlanOf, overrides: dict[str, str], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of("k8s", **overrides)
    assert any(line.startswith(f"Pulumi.k8s.yaml: {key}") and words in line for line in caught.value.lines), caught.value.lines
