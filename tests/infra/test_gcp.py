"""The `gcp` stack, as recorded under the mocks: routing, private reach, the GPU VM, identities, both Ollama profiles.

Component details are tested with the components (test_gcp_load_balancer.py,
test_gcp_ollama_vm.py); the rules with the rules (test_gcp_checks.py); here
the stack's own decisions are asserted on the recorded plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra import spec
from infra.config import ConfigError
from infra.gcp.network import SUBNET_CIDR
from infra.plan.model import RecordedResource
from infra.plan.run import Plan

PlanOf = Callable[..., Plan]
RUN = "gcp:cloudrunv2/service:Service"
FIREWALL = "gcp:compute/firewall:Firewall"
HEALTH_CHECKERS = ["35.191.0.0/16", "130.211.0.0/22"]


def _run(plan: Plan, name: str) -> RecordedResource:
    return plan.recorded.one(RUN, f"dixi-{name}")


def _container(plan: Plan, name: str) -> dict[str, Any]:
    (container,) = _run(plan, name).inputs["template"]["containers"]
    found: dict[str, Any] = container
    return found


def _env(plan: Plan, name: str) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in _container(plan, name)["envs"] if "value" in e}


def _secret_env(plan: Plan, name: str) -> dict[str, str]:
    return {e["name"]: e["valueSource"]["secretKeyRef"]["secret"] for e in _container(plan, name)["envs"] if "valueSource" in e}


def test_both_committed_gcp_stacks_plan_without_problems(gcp_plan: Plan, plan_of: PlanOf) -> None:
    assert gcp_plan.problems == [], [f"{p.rule}: {p.message}" for p in gcp_plan.problems]
    assert plan_of("gcp-cloud-run-gpu").problems == []


def test_the_load_balancer_sends_api_and_ws_to_the_backend_and_the_rest_to_the_frontend(gcp_plan: Plan) -> None:
    plan = gcp_plan.recorded
    negs = {n.name: n.inputs["cloudRun"]["service"] for n in plan.of_type("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")}
    assert negs == {"dixi-web-frontend": "dixi-gcp-frontend", "dixi-web-backend": "dixi-gcp-backend"}, "only the public services sit behind the load balancer"
    (routes,) = [u for u in plan.of_type("gcp:compute/uRLMap:URLMap") if u.inputs.get("pathMatchers")]
    backend = plan.one("gcp:compute/backendService:BackendService", "dixi-web-backend")
    frontend = plan.one("gcp:compute/backendService:BackendService", "dixi-web-frontend")
    assert routes.inputs["defaultService"] in (frontend.id, frontend.state.get("selfLink"))
    (matcher,) = routes.inputs["pathMatchers"]
    (rule,) = matcher["pathRules"]
    assert rule["paths"] == ["/api", "/api/*", "/ws", "/ws/*"] and rule["service"] in (backend.id, backend.state.get("selfLink"))


def test_with_a_domain_the_load_balancer_serves_https_with_a_managed_certificate_and_redirects_http(plan_of: PlanOf) -> None:
    plan = plan_of("gcp", **{"dixi:domain": "dixi.example.com"}).recorded
    (certificate,) = plan.of_type("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    assert certificate.inputs["managed"]["domains"] == ["dixi.example.com"]
    ports = sorted(str(r.inputs["portRange"]) for r in plan.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule"))
    assert ports == ["443", "80"]
    assert any(u.inputs.get("defaultUrlRedirect", {}).get("httpsRedirect") for u in plan.of_type("gcp:compute/uRLMap:URLMap"))


def test_only_the_load_balancer_reaches_the_web_tier_and_only_the_network_reaches_vision(gcp_plan: Plan) -> None:
    assert _run(gcp_plan, "frontend").inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert _run(gcp_plan, "backend").inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert _run(gcp_plan, "vision").inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    for name in ("frontend", "backend", "vision"):
        assert _run(gcp_plan, name).inputs["deletionProtection"] is False, "Cloud Run v2 defaults to on, and destroy would fail"


def test_the_backend_and_vision_leave_through_the_vpc_to_reach_ollama_the_bus_and_each_other(gcp_plan: Plan) -> None:
    (subnet,) = gcp_plan.recorded.of_type("gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["privateIpGoogleAccess"] is True, "internal run.app calls go through Private Google Access"
    for name in ("backend", "vision"):
        access = _run(gcp_plan, name).inputs["template"]["vpcAccess"]
        assert access["egress"] == "ALL_TRAFFIC" and access["networkInterfaces"][0]["subnetwork"] == subnet.id
    assert "vpcAccess" not in _run(gcp_plan, "frontend").inputs["template"], "the frontend calls nothing private"


def test_services_reach_each_other_at_their_urls(gcp_plan: Plan) -> None:
    (address,) = gcp_plan.recorded.of_type("gcp:compute/address:Address")
    backend = _env(gcp_plan, "backend")
    assert backend["OLLAMA_BASE_URL"] == f"http://{address.state['address']}:{spec.OLLAMA.port}", "Ollama's VM keeps its static internal address"
    assert backend["VISION_SERVICE_URL"] == _run(gcp_plan, "vision").state["uri"]
    assert _env(gcp_plan, "vision")["BACKEND_URL"] == _run(gcp_plan, "backend").state["uri"]


def test_nothing_but_the_subnet_and_googles_health_checkers_reaches_ollama(gcp_plan: Plan) -> None:
    rules = {f.name: f.inputs for f in gcp_plan.recorded.of_type(FIREWALL)}
    assert {tuple(r["sourceRanges"]) for r in rules.values()} == {(SUBNET_CIDR,), tuple(HEALTH_CHECKERS)}
    for rule in rules.values():
        assert rule["allows"] == [{"protocol": "tcp", "ports": [str(spec.OLLAMA.port)]}] and rule["targetTags"] == ["dixi-ollama"]


def test_the_gpu_vm_terminates_on_maintenance_has_no_external_ip_and_its_t4(gcp_plan: Plan, plan_of: PlanOf) -> None:
    (template,) = gcp_plan.recorded.of_type("gcp:compute/instanceTemplate:InstanceTemplate")
    assert template.inputs["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert template.inputs["guestAccelerators"] == [{"type": "nvidia-tesla-t4", "count": 1}]
    assert all(not nic.get("accessConfigs") for nic in template.inputs["networkInterfaces"])
    assert "deeplearning-platform-release" in template.inputs["disks"][0]["sourceImage"]
    (g2,) = plan_of("gcp", **{"dixi:gceMachineType": "g2-standard-4"}).recorded.of_type("gcp:compute/instanceTemplate:InstanceTemplate")
    assert not g2.inputs.get("guestAccelerators"), "a G2 brings its L4"


def test_each_service_has_its_own_account_reading_only_its_secrets(gcp_plan: Plan) -> None:
    plan = gcp_plan.recorded
    accounts = {r.name: r.state["email"] for r in plan.of_type("gcp:serviceaccount/account:Account")}
    assert len(set(accounts.values())) == len(accounts) == 4, "frontend, backend, vision and the Ollama VM each have one"
    for name in ("frontend", "backend", "vision"):
        assert _run(gcp_plan, name).inputs["template"]["serviceAccount"] == accounts[f"dixi-{name}-sa"]
        assert "compute@developer" not in accounts[f"dixi-{name}-sa"]
    readers: dict[str, set[str]] = {}
    for grant in plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        assert grant.inputs["role"] == "roles/secretmanager.secretAccessor"
        readers.setdefault(grant.inputs["member"].split(":", 1)[1], set()).add(grant.inputs["secretId"].rsplit("/", 1)[-1])
    assert readers == {
        accounts["dixi-backend-sa"]: {"dixi-gcp-gesture-token", "dixi-gcp-bus-password", "dixi-gcp-bus-ca"},
        accounts["dixi-vision-sa"]: {"dixi-gcp-gesture-token"},
    }
    roles = {(g.inputs["role"], g.inputs["member"].split(":", 1)[1]) for g in plan.of_type("gcp:projects/iAMMember:IAMMember")}
    assert roles == {("roles/logging.logWriter", accounts["dixi-ollama-sa"]), ("roles/monitoring.metricWriter", accounts["dixi-ollama-sa"])}, "no project-wide grant but the VM's logs and metrics"


def test_secrets_reach_containers_only_as_references(gcp_plan: Plan) -> None:
    for service in (spec.BACKEND, spec.VISION):
        assert set(service.secret_env) <= set(_secret_env(gcp_plan, service.name))
        assert not set(service.secret_env) & set(_env(gcp_plan, service.name))
    assert _secret_env(gcp_plan, "backend")[spec.EVENT_BUS.password_env].endswith("/secrets/dixi-gcp-bus-password")


def test_the_backend_shares_events_through_a_private_tls_redis_with_auth(gcp_plan: Plan, plan_of: PlanOf) -> None:
    (bus,) = gcp_plan.recorded.of_type("gcp:redis/instance:Instance")
    assert bus.inputs["authEnabled"] is True and bus.inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert bus.inputs["deletionProtection"] is False
    env = _env(gcp_plan, "backend")
    assert env[spec.EVENT_BUS.url_env].startswith("rediss://") and env["EVENT_BUS_CA_FILE"] == "/etc/dixi/bus-ca/ca.pem"
    backend = _run(gcp_plan, "backend").inputs["template"]
    assert backend["sessionAffinity"] is True and backend["timeout"] == "3600s", "WebSockets last up to Cloud Run's hour"
    assert _container(gcp_plan, "backend")["resources"]["cpuIdle"] is False, "the bus subscription runs between requests"
    one = plan_of("gcp", **{"dixi:backendMaxInstances": "1"})
    assert one.recorded.of_type("gcp:redis/instance:Instance") == [] and one.problems == []


def test_the_cloud_run_gpu_profile_runs_ollama_on_an_l4_with_its_models_in_a_bucket(plan_of: PlanOf) -> None:
    plan = plan_of("gcp-cloud-run-gpu")
    assert plan.recorded.of_type("gcp:compute/instanceTemplate:InstanceTemplate") == []
    assert plan.recorded.of_type(FIREWALL) == [], "no VM, no way in to open"
    ollama = _run(plan, "ollama").inputs
    assert ollama["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert ollama["template"]["nodeSelector"] == {"accelerator": "nvidia-l4"} and ollama["template"]["scaling"]["maxInstanceCount"] == 1
    container = _container(plan, "ollama")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1" and container["resources"]["cpuIdle"] is False
    (volume,) = ollama["template"]["volumes"]
    assert volume["gcs"]["bucket"] and container["volumeMounts"] == [{"name": volume["name"], "mountPath": spec.OLLAMA.volumes[0].mount_path}]
    assert _env(plan, "backend")["OLLAMA_BASE_URL"] == _run(plan, "ollama").state["uri"]
    assert plan.cost.monthly < plan_of("gcp").cost.monthly


def test_project_apis_are_enabled_and_left_enabled_and_everything_waits_for_them(gcp_plan: Plan) -> None:
    plan = gcp_plan.recorded
    apis = plan.of_type("gcp:projects/service:Service")
    assert {a.inputs["service"] for a in apis} >= {"run.googleapis.com", "compute.googleapis.com", "redis.googleapis.com", "secretmanager.googleapis.com"}
    assert all(a.inputs["disableOnDestroy"] is False for a in apis), "other workloads of the project may use them"
    # A component's dependsOn does not reach its children; a provider that waits for the APIs does.
    (provider,) = [r for r in plan.resources if r.type == "pulumi:providers:gcp"]
    assert {a.key for a in apis} <= set(provider.depends_on)
    others = [r for r in plan.resources if r.custom and r.package == "gcp" and r.type != "gcp:projects/service:Service"]
    assert others and all(r.provider == provider.key for r in others), [r.name for r in others if r.provider != provider.key]


def test_two_stacks_in_one_project_never_share_a_physical_name(gcp_plan: Plan, plan_of: PlanOf) -> None:
    def physical(plan: Plan) -> set[tuple[str, str]]:
        keys = ("name", "accountId", "secretId", "repositoryId", "namePrefix", "baseInstanceName")
        return {(r.type, str(r.inputs[k])) for r in plan.recorded.resources if r.custom and r.package == "gcp" for k in keys if isinstance(r.inputs.get(k), str)}

    shared = physical(gcp_plan) & physical(plan_of("gcp-cloud-run-gpu"))
    assert shared == set(), f"the committed gcp stacks would collide in one project: {sorted(shared)}"


def test_a_newly_published_gpu_image_changes_nothing_in_an_existing_stack() -> None:
    import json

    from infra.plan.mocking import MockContext
    from infra.plan.run import plan_stack

    def newer(ctx: MockContext, args: Any) -> dict[str, Any]:
        family, project = str(args.get("family")), str(args.get("project"))
        link = f"https://www.googleapis.com/compute/v1/projects/{project}/global/images/{family}-v20270101"
        return {"name": f"{family}-v20270101", "family": family, "project": project, "selfLink": link, "id": link}

    def inputs(plan: Plan) -> dict[tuple[str, str], str]:
        return {(r.type, r.name): json.dumps(r.inputs, sort_keys=True, default=repr) for r in plan.recorded.resources}

    first = plan_stack("gcp")
    fresh = plan_stack("gcp", invoke_overrides={"gcp:compute/getImage:getImage": newer})
    assert inputs(fresh) != inputs(first), "the lookup does decide a new stack's image"
    again = plan_stack("gcp", prior=first.recorded, invoke_overrides={"gcp:compute/getImage:getImage": newer})
    changed = sorted(k for k, v in inputs(again).items() if inputs(first).get(k) != v)
    assert changed == [], f"a new image alone must not replace the GPU VM; changed: {changed}"


def test_destroy_keeps_the_models_and_the_model_disk_unless_told(gcp_plan: Plan, plan_of: PlanOf) -> None:
    kept = {r.type for r in gcp_plan.recorded.resources if r.retain_on_delete}
    assert {"gcp:storage/bucket:Bucket", "gcp:compute/disk:Disk"} <= kept
    throwaway = plan_of("gcp", **{"dixi:retainData": "false"})
    assert not [r.name for r in throwaway.recorded.resources if r.retain_on_delete and r.type != "docker-build:index:Image"]


def test_images_from_the_projects_registry_or_a_public_one_are_accepted(plan_of: PlanOf) -> None:
    ours = '["backend=us-central1-docker.pkg.dev/dixi-demo-project/r/backend:1", "frontend=docker.io/acme/front:2"]'
    plan = plan_of("gcp", **{"dixi:images": ours})
    assert _container(plan, "backend")["image"] == "us-central1-docker.pkg.dev/dixi-demo-project/r/backend:1" and plan.problems == []


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("gcp:project", "Bad_Project", "is not a Google Cloud project ID"),
        ("gcp:region", "us-west1", "has no Cloud Run nvidia-l4 GPUs for dixi:ollamaRuntime 'cloud-run'"),
        ("dixi:gceMachineType", "n1-standard-2", "is not a GPU machine type this stack can run and price"),
        ("dixi:backendMaxInstances", "0", "out of range"),
        ("dixi:images", '["backend=us-central1-docker.pkg.dev/another-project/r/backend:1"]', "which the stack's service accounts cannot read"),
    ],
)
def test_a_bad_gcp_setting_is_one_line_naming_the_key(plan_of: PlanOf, key: str, value: str, words: str) -> None:
    overrides = {key: value}
    if key == "gcp:region":
        overrides["dixi:ollamaRuntime"] = "cloud-run"
    with pytest.raises(ConfigError) as error:
        plan_of("gcp", **overrides)
    (line,) = error.value.lines
    assert line.startswith(f"Pulumi.gcp.yaml: {key}: ") and words in line, line
