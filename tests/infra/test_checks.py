"""Every rule in infra/checks, shown failing on a plan that breaks it (and passing on one that doesn't)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.checks import RULES, Problem, run_checks
from infra.checks import userdata as userdata_rules
from infra.common import cloudinit, compose
from infra.plan.engine import RecordedPlan, RecordedResource
from infra.plan.run import ROOT

needs_cloud_init = pytest.mark.skipif(shutil.which("cloud-init") is None, reason="Debian's cloud-init is not installed (.ci/run installs it)")


def _resource(type_: str, name: str, id_: str = "", **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, name, True, None, inputs, [], False, False, id=id_ or f"{name}-id")


def _plan(*resources: RecordedResource) -> RecordedPlan:
    return RecordedPlan("dixi", "test", None, list(resources), {}, [], [])


def _run(rule: str, plan: RecordedPlan) -> list[Problem]:
    run_checks(plan, ROOT)  # registers every rule
    return RULES[rule](plan, ROOT)


def _good_user_data() -> str:
    images = {s: f"registry.example/{s}:1" for s in ("frontend", "backend", "vision", "ollama")}
    return cloudinit.render(compose.dump(compose.render(images, "llama3.2")), cloudinit.boot_script([("/var/lib/dixi/x", 10001)], []))


def _vm(user_data: str, tokens: str | None = "required") -> RecordedResource:
    return _resource("aws:ec2/instance:Instance", "vm", userData=user_data, metadataOptions={"httpTokens": tokens} if tokens else {})


def test_every_rule_is_tested_here() -> None:
    run_checks(_plan(), ROOT)
    tested = {"cloud-init-schema", "compose-spec", "user-data-size", "private-ports-not-public", "alb-two-zones", "imdsv2-required", "image-build-context", "iam-policy"}
    assert set(RULES) == tested, f"rules without a test here: {set(RULES) - tested}"


@needs_cloud_init
def test_cloud_init_schema_rejects_user_data_cloud_init_would_refuse() -> None:
    bad = "#cloud-config\nruncmd: 5\nwrite_files:\n  - path: /x\n    permissions: 644\n"
    problems = _run("cloud-init-schema", _plan(_vm(bad)))
    assert len(problems) == 1 and problems[0].severity == "error"
    assert "runcmd" in problems[0].message and "permissions" in problems[0].message, problems[0].message
    assert _run("cloud-init-schema", _plan(_vm(_good_user_data()))) == []


def test_cloud_init_schema_warns_instead_of_crashing_where_cloud_init_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(userdata_rules, "cloud_init_binary", lambda: None)
    problems = _run("cloud-init-schema", _plan(_vm(_good_user_data())))
    assert [p.severity for p in problems] == ["warning"] and "not validated" in problems[0].message


def test_compose_spec_rejects_a_compose_file_that_breaks_the_spec() -> None:
    document = yaml.safe_load(compose.dump(compose.render({s: "img" for s in ("frontend", "backend", "vision", "ollama")}, "m")))
    document["services"]["backend"]["depends_on"]["vision"]["condition"] = "service_ready"
    document["services"]["frontend"]["ports"] = "80:80"
    user_data = cloudinit.render(compose.dump(document), "#!/bin/sh\n")
    messages = [p.message for p in _run("compose-spec", _plan(_vm(user_data)))]
    assert any("services/backend/depends_on" in m and "service_ready" in m for m in messages), messages
    assert any("services/frontend/ports" in m for m in messages), messages
    assert _run("compose-spec", _plan(_vm(_good_user_data()))) == []


def test_user_data_size_rejects_more_than_16_kib() -> None:
    problems = _run("user-data-size", _plan(_vm("#cloud-config\n" + "#" * 17000)))
    assert len(problems) == 1 and "16384" in problems[0].message
    assert _run("user-data-size", _plan(_vm(_good_user_data()))) == []


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        (_resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", ipProtocol="tcp", fromPort=11434, toPort=11434, cidrIpv4="0.0.0.0/0"), "port 11434 (ollama)"),
        (_resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", ipProtocol="tcp", fromPort=4000, toPort=6000, cidrIpv6="::/0"), "port 5000 (vision)"),
        (_resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", ipProtocol="-1", cidrIpv4="0.0.0.0/0"), "all ports"),
        (_resource("aws:ec2/securityGroup:SecurityGroup", "sg", ingress=[{"protocol": "tcp", "fromPort": 5000, "toPort": 5000, "cidrBlocks": ["0.0.0.0/0"]}]), "port 5000 (vision)"),
        (_resource("aws:ec2/securityGroupRule:SecurityGroupRule", "r", type="ingress", protocol="tcp", fromPort=0, toPort=65535, cidrBlocks=["0.0.0.0/0"]), "all ports"),
    ],
    ids=["ollama-v4", "vision-range-v6", "all-protocols", "inline-vision", "legacy-rule-all-ports"],
)
def test_private_ports_not_public_rejects_rules_that_open_vision_or_ollama(resource: RecordedResource, words: str) -> None:
    problems = _run("private-ports-not-public", _plan(resource))
    assert problems and problems[0].severity == "error" and words in problems[0].message, problems


def test_private_ports_not_public_allows_web_ports_and_private_sources() -> None:
    plan = _plan(
        _resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web", ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"),
        _resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "lan", ipProtocol="tcp", fromPort=11434, toPort=11434, cidrIpv4="10.0.0.0/16"),
    )
    assert _run("private-ports-not-public", plan) == []


def test_alb_two_zones_rejects_an_alb_in_one_zone() -> None:
    a = _resource("aws:ec2/subnet:Subnet", "a", availabilityZone="us-east-1a")
    b = _resource("aws:ec2/subnet:Subnet", "b", availabilityZone="us-east-1a")
    alb = _resource("aws:lb/loadBalancer:LoadBalancer", "alb", loadBalancerType="application", subnets=[a.id, b.id])
    problems = _run("alb-two-zones", _plan(a, b, alb))
    assert len(problems) == 1 and "1 availability zone" in problems[0].message
    b.inputs["availabilityZone"] = "us-east-1b"
    assert _run("alb-two-zones", _plan(a, b, alb)) == []


def test_imdsv2_required_rejects_optional_tokens() -> None:
    problems = _run("imdsv2-required", _plan(_vm("", tokens="optional"), _vm("", tokens=None)))
    assert [p.severity for p in problems] == ["error", "error"] and "'optional'" in problems[0].message
    assert _run("imdsv2-required", _plan(_vm("", tokens="required"))) == []


def test_image_build_context_warns_when_the_context_is_missing(tmp_path: Path) -> None:
    image = _resource("docker-build:index:Image", "img", context={"location": "app/nowhere"}, dockerfile={"location": "app/nowhere/Dockerfile"})
    problems = RULES["image-build-context"](_plan(image), tmp_path)
    assert [p.severity for p in problems] == ["warning"] and "app/nowhere" in problems[0].message
    (tmp_path / "app/nowhere").mkdir(parents=True)
    (tmp_path / "app/nowhere/Dockerfile").write_text("FROM scratch\n")
    assert RULES["image-build-context"](_plan(image), tmp_path) == []
    image.inputs["context"]["named"] = {"common": {"location": "app/gone"}}
    problems = RULES["image-build-context"](_plan(image), tmp_path)
    assert len(problems) == 1 and "named context 'common'" in problems[0].message


def test_iam_policy_rejects_unknown_actions_and_malformed_policies() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjectt", "Resource": "arn:aws:s3:::b/*"}]}
    bad = _resource("aws:iam/rolePolicy:RolePolicy", "p", policy=json.dumps(policy))
    broken = _resource("aws:iam/rolePolicy:RolePolicy", "q", policy="{not json")
    problems = _run("iam-policy", _plan(bad, broken))
    assert [p.resource.name for p in problems if p.resource] == ["p", "q"]
    assert "Unknown action s3:GetObjectt" in problems[0].message and "not JSON" in problems[1].message
    policy["Statement"][0]["Action"] = "s3:GetObject"
    assert _run("iam-policy", _plan(_resource("aws:iam/rolePolicy:RolePolicy", "p", policy=json.dumps(policy)))) == []
