"""`GlobalLb`, the global external Application Load Balancer in front of Cloud Run, recorded under the offline engine.

A small program builds the component as issue 10's `gcp` stack will (a
frontend taking everything, a backend taking `/api` and `/ws`), with and
without a domain; the tests read the recorded plan: types, the camelCase
inputs pulumi_gcp 10.2 sends, parents, and what the project's rules make of it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra.checks import run_checks
from infra.checks.adapters import all_openings
from infra.gcp.load_balancer import GlobalLb, GlobalLbArgs, LbRoute
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey
from infra.plan.run import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp.*")

NAME = "dixi-web"
DOMAIN = "dixi.example.com"
COMPONENT = ResourceKey("dixi:gcp:GlobalLb", NAME)
ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
BACKEND = "gcp:compute/backendService:BackendService"
URL_MAP = "gcp:compute/uRLMap:URLMap"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
CERT = "gcp:compute/managedSslCertificate:ManagedSslCertificate"
POLICY = "gcp:compute/sSLPolicy:SSLPolicy"


def _args(domain: str | None) -> GlobalLbArgs:
    return GlobalLbArgs(
        region="us-central1",
        routes=(
            LbRoute("frontend", "dixi-frontend"),
            LbRoute("backend", "dixi-backend", paths=("/api", "/ws")),
        ),
        domain=domain,
        labels={"app": "dixi"},
    )


def _record(domain: str | None) -> RecordedPlan:
    def program() -> None:
        lb = GlobalLb(NAME, _args(domain))
        pulumi.export("url", lb.url)
        pulumi.export("ipAddress", lb.ip_address)
        pulumi.export("dnsRecord", lb.dns_record)
        pulumi.export("backendServiceIds", lb.backend_service_ids)

    return record("dixi", "t", None, {}, [], program, ROOT)


@pytest.fixture(scope="module")
def with_domain() -> RecordedPlan:
    return _record(DOMAIN)


@pytest.fixture(scope="module")
def without_domain() -> RecordedPlan:
    return _record(None)


def _only(plan: RecordedPlan, type_: str) -> RecordedResource:
    found = plan.of_type(type_)
    assert len(found) == 1, f"expected one {type_}, got {[r.name for r in found]}"
    return found[0]


def _by_ref(plan: RecordedPlan, value: Any, type_: str) -> RecordedResource:
    """The resource whose id (or self link) `value` is: how the inputs reference each other."""
    found = plan.producer(value, type_)
    assert found is not None, f"{value!r} names no {type_} in the plan"
    return found


def _backend_for(plan: RecordedPlan, value: Any) -> str:
    """The route name of the backend service `value` refers to (`dixi-web-backend` -> `backend`)."""
    return _by_ref(plan, value, BACKEND).name.removeprefix(f"{NAME}-")


def _routing_map(plan: RecordedPlan) -> dict[str, Any]:
    maps = [m for m in plan.of_type(URL_MAP) if "defaultUrlRedirect" not in m.inputs]
    assert len(maps) == 1, [m.name for m in maps]
    return maps[0].inputs


def _rules_by_port(plan: RecordedPlan) -> dict[str, RecordedResource]:
    return {str(r.inputs["portRange"]): r for r in plan.of_type(RULE)}


@pytest.mark.parametrize("domain", [DOMAIN, None])
def test_paths_go_to_the_backend_and_everything_else_to_the_frontend(domain: str | None, with_domain: RecordedPlan, without_domain: RecordedPlan) -> None:
    plan = with_domain if domain else without_domain
    routing = _routing_map(plan)
    assert _backend_for(plan, routing["defaultService"]) == "frontend", "unmatched paths (the SPA) go to the frontend"
    assert routing["hostRules"] == [{"hosts": ["*"], "pathMatcher": "routes"}], "the path matcher serves every host, the bare address too"
    [matcher] = routing["pathMatchers"]
    assert _backend_for(plan, matcher["defaultService"]) == "frontend"
    rules = {tuple(rule["paths"]): _backend_for(plan, rule["service"]) for rule in matcher["pathRules"]}
    assert rules == {("/api", "/api/*", "/ws", "/ws/*"): "backend"}, "exactly the API and WebSocket paths, bare and below, reach the backend"


def test_every_backend_service_is_the_current_global_alb_on_a_serverless_neg_without_health_check_or_timeout(with_domain: RecordedPlan) -> None:
    services = with_domain.of_type(BACKEND)
    assert sorted(s.name for s in services) == [f"{NAME}-backend", f"{NAME}-frontend"]
    for service in services:
        i = service.inputs
        assert i["loadBalancingScheme"] == "EXTERNAL_MANAGED", f"{service.name}: EXTERNAL would be the classic load balancer"
        assert "healthChecks" not in i and "timeoutSec" not in i, f"{service.name}: a serverless NEG's backend service refuses both"
        assert i["logConfig"]["enable"] is True and 0 < i["logConfig"]["sampleRate"] <= 1
        [backend] = i["backends"]
        neg = _by_ref(with_domain, backend["group"], NEG)
        assert neg.inputs["networkEndpointType"] == "SERVERLESS" and neg.inputs["region"] == "us-central1"
    negs = {n.name: n.inputs["cloudRun"]["service"] for n in with_domain.of_type(NEG)}
    assert negs == {f"{NAME}-frontend": "dixi-frontend", f"{NAME}-backend": "dixi-backend"}, "each NEG names its route's Cloud Run service"


def test_with_a_domain_443_terminates_tls_with_a_managed_certificate_and_80_redirects(with_domain: RecordedPlan) -> None:
    address = _only(with_domain, ADDRESS)
    rules = _rules_by_port(with_domain)
    assert sorted(rules) == ["443", "80"]
    for rule in rules.values():
        assert rule.inputs["loadBalancingScheme"] == "EXTERNAL_MANAGED"
        assert rule.inputs["ipAddress"] == address.state["address"], "both ports share the one reserved address the DNS record names"

    https = _by_ref(with_domain, rules["443"].inputs["target"], HTTPS_PROXY)
    assert "defaultService" in _by_ref(with_domain, https.inputs["urlMap"], URL_MAP).inputs, "443 serves the routing URL map"
    [cert_ref] = https.inputs["sslCertificates"]
    assert _by_ref(with_domain, cert_ref, CERT).inputs["managed"] == {"domains": [DOMAIN]}
    policy = _by_ref(with_domain, https.inputs["sslPolicy"], POLICY)
    assert policy.inputs["profile"] == "MODERN" and policy.inputs["minTlsVersion"] == "TLS_1_2"

    http = _by_ref(with_domain, rules["80"].inputs["target"], HTTP_PROXY)
    redirect = _by_ref(with_domain, http.inputs["urlMap"], URL_MAP).inputs
    assert "defaultService" not in redirect and "pathMatchers" not in redirect, "port 80 serves nothing, it only redirects"
    assert redirect["defaultUrlRedirect"] == {"httpsRedirect": True, "stripQuery": False, "redirectResponseCode": "MOVED_PERMANENTLY_DEFAULT"}

    assert with_domain.outputs["url"] == f"https://{DOMAIN}"
    assert with_domain.outputs["dnsRecord"] == {"name": DOMAIN, "type": "A", "value": address.state["address"]}, "the A record the certificate waits for"


def test_without_a_domain_only_port_80_serves_the_routes_on_the_address(without_domain: RecordedPlan) -> None:
    address = _only(without_domain, ADDRESS)
    rules = _rules_by_port(without_domain)
    assert sorted(rules) == ["80"]
    assert rules["80"].inputs["loadBalancingScheme"] == "EXTERNAL_MANAGED" and rules["80"].inputs["ipAddress"] == address.state["address"]
    http = _by_ref(without_domain, rules["80"].inputs["target"], HTTP_PROXY)
    assert "pathMatchers" in _by_ref(without_domain, http.inputs["urlMap"], URL_MAP).inputs, "port 80 serves the routing URL map"
    for absent in (HTTPS_PROXY, CERT, POLICY):
        assert not without_domain.of_type(absent), f"no {absent} without a domain"
    assert len(without_domain.of_type(URL_MAP)) == 1, "no redirect map without HTTPS to redirect to"
    assert without_domain.outputs["url"] == f"http://{address.state['address']}"
    assert without_domain.outputs["dnsRecord"] == {}


def test_the_component_reports_its_backend_services_by_route(with_domain: RecordedPlan) -> None:
    ids = with_domain.outputs["backendServiceIds"]
    assert {route: _backend_for(with_domain, ref) for route, ref in ids.items()} == {"frontend": "frontend", "backend": "backend"}
    assert with_domain.outputs["ipAddress"] == _only(with_domain, ADDRESS).state["address"]


@pytest.mark.parametrize("domain", [DOMAIN, None])
def test_every_child_is_parented_to_the_component_and_named_after_it(domain: str | None, with_domain: RecordedPlan, without_domain: RecordedPlan) -> None:
    plan = with_domain if domain else without_domain
    component = plan.get(COMPONENT)
    assert component is not None and not component.custom
    children = [r for r in plan.resources if r.custom]
    assert children and all(r.parent == COMPONENT for r in children), [(r.name, r.parent) for r in children if r.parent != COMPONENT]
    assert all(r.name.startswith(f"{NAME}-") for r in children), [r.name for r in children]
    labelled = [r for r in children if r.type in (ADDRESS, RULE)]
    assert labelled and all(r.inputs["labels"] == {"app": "dixi"} for r in labelled)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ((LbRoute("a", "svc-a"), LbRoute("b", "svc-b")), "exactly one route"),
        ((LbRoute("a", "svc-a", paths=("/api",)),), "exactly one route"),
        ((LbRoute("a", "svc-a"), LbRoute("a", "svc-b", paths=("/api",))), "unique"),
        ((LbRoute("a", "svc-a"), LbRoute("b", "svc-b", paths=("api",))), "starting with '/'"),
        ((LbRoute("a", "svc-a"), LbRoute("b", "svc-b", paths=("/api/*",))), "starting with '/'"),
    ],
)
def test_bad_routes_are_refused_before_any_resource(routes: tuple[LbRoute, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GlobalLbArgs(region="us-central1", routes=routes, domain=None, labels={})


@pytest.mark.parametrize("domain", [DOMAIN, None])
def test_the_rules_read_the_forwarding_rules_as_the_only_openings_on_80_and_443(domain: str | None, with_domain: RecordedPlan, without_domain: RecordedPlan) -> None:
    plan = with_domain if domain else without_domain
    problems = [p for p in run_checks(plan, ROOT) if p.rule in ("checks-cover-entry-points", "private-ports-not-public")]
    assert problems == [], [p.message for p in problems]
    openings = all_openings(plan)
    assert openings and all(o.resource.type == RULE and o.from_internet for o in openings)
    ports = sorted((o.protocol, o.from_port, o.to_port) for o in openings)
    expected = [("tcp", 443, 443), ("tcp", 80, 80)] if domain else [("tcp", 80, 80)]
    assert ports == sorted(expected), "the internet reaches the load balancer on its web ports only"
