"""`dixi scan`: the Terraform plan JSON a recorded plan becomes, checkov's verdicts on it, the skip list.

checkov runs for real here (from `.venv-checkov`), a few times, each over
several hand-made plans at once (one folder per plan): a run takes seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infra.cli import main
from infra.config import ConfigError
from infra.cost.estimate import estimate
from infra.k8s import object_checks
from infra.k8s import render as k8s_render
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT, Plan, plan_stack
from infra.scan import arm, bridge, skips, tfplan
from infra.scan.run import StackScan, scan_plans

PlanOf = Callable[..., Plan]

STACKS = ("aws", "aws-ec2", "aws-seed-shape", "azure", "do", "gcp", "gcp-cloud-run-gpu", "k8s")


def _resource(type_: str, name: str, inputs: dict[str, Any], *, rid: str = "", deps: dict[str, list[ResourceKey]] | None = None, state: dict[str, Any] | None = None) -> RecordedResource:
    resource = RecordedResource(type_, name, True, None, inputs, id=rid or f"{name}-id", state={**inputs, **(state or {})})
    resource.property_dependencies = deps or {}
    resource.dependencies = sorted({k for keys in (deps or {}).values() for k in keys})
    return resource


def _plan(stack: str, *resources: RecordedResource) -> Plan:
    recorded = RecordedPlan("dixi", stack, None, list(resources))
    return Plan(recorded, [], estimate(recorded))


@pytest.fixture
def checkov(monkeypatch: pytest.MonkeyPatch) -> str:
    binary = object_checks.checkov_binary(ROOT)
    assert binary is not None, "checkov is installed by `make setup` (.venv-checkov)"
    monkeypatch.setenv(object_checks.CHECKOV_ENV, binary)
    return binary


def _root(tmp_path: Path, *stacks: str, skip_file: str | None = None) -> Path:
    for stack in stacks:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    if skip_file is not None:
        (tmp_path / skips.FILE).write_text(skip_file)
    return tmp_path


def _verdicts(scan: StackScan, *check_ids: str) -> dict[tuple[str, str], bool]:
    return {(r.check_id, r.where): r.passed for r in scan.results if r.check_id in check_ids}


# --- the bridge facts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "terraform_type"),
    [
        ("aws:ec2/instance:Instance", "aws_instance"),
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),  # v7: the V2 bucket (see scripts/vendor-bridge-metadata.py OVERLAYS)
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
        ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
        ("gcp:compute/instanceTemplate:InstanceTemplate", "google_compute_instance_template"),
        ("gcp:cloudrunv2/service:Service", "google_cloud_run_v2_service"),
        ("gcp:projects/iAMMember:IAMMember", "google_project_iam_member"),
        ("digitalocean:index/loadBalancer:LoadBalancer", "digitalocean_loadbalancer"),
        ("digitalocean:index/spacesKey:SpacesKey", "digitalocean_spaces_key"),
        ("random:index/randomPassword:RandomPassword", "random_password"),
        ("time:index/sleep:Sleep", "time_sleep"),
    ],
)
def test_a_token_maps_to_the_terraform_type_its_provider_names(token: str, terraform_type: str) -> None:
    assert bridge.terraform_type(token) == terraform_type


@pytest.mark.parametrize(
    ("token", "pulumi_name", "terraform_name", "kind"),
    [
        ("aws:ec2/instance:Instance", "ebsBlockDevices", "ebs_block_device", "blocks"),  # pluralised by the bridge
        ("aws:ec2/instance:Instance", "metadataOptions", "metadata_options", "block"),  # MaxItems 1
        ("aws:ec2/instance:Instance", "tags", "tags", "map"),
        ("aws:ec2/instance:Instance", "vpcSecurityGroupIds", "vpc_security_group_ids", "list"),
        ("digitalocean:index/droplet:Droplet", "dropletUrn", "urn", "scalar"),  # an explicit rename
        ("digitalocean:index/firewall:Firewall", "inboundRules", "inbound_rule", "blocks"),
        ("gcp:compute/instanceTemplate:InstanceTemplate", "networkInterfaces", "network_interface", "blocks"),
    ],
)
def test_a_property_gets_its_terraform_name_and_shape(token: str, pulumi_name: str, terraform_name: str, kind: str) -> None:
    found = bridge.lookup(token)
    assert found is not None
    field = found.schema.fields[pulumi_name]
    assert (field.tf_name, field.kind) == (terraform_name, kind)


@pytest.mark.parametrize("package", ["digitalocean", "gcp"])
def test_the_sdk_shapes_agree_with_the_providers_max_items_one_flags(package: str) -> None:
    """A single nested object in the SDK is a `maxItemsOne: true` block in the provider's own `auto-aliasing` tree, and a list is not."""
    trees = bridge.vendored(package)["autoAliasing"]
    compared = 0

    def walk(schema: bridge.TfType, tree: dict[str, Any]) -> None:
        nonlocal compared
        for field in schema.fields.values():
            entry = tree.get(field.tf_name)
            if entry is None or field.kind in ("scalar", "map"):
                continue
            assert entry["maxItemsOne"] == (field.kind == "block"), f"{schema.token} {field.tf_name}: SDK says {field.kind}"
            compared += 1
            if field.nested is not None:
                walk(field.nested, entry.get("elem", {}).get("fields", {}))

    for token, terraform_type in bridge.vendored(package)["resources"].items():
        found = bridge.lookup(token)
        assert found is not None
        walk(found.schema, trees.get(terraform_type, {}))
    assert compared > 0


def test_every_resource_of_every_stack_is_written_or_listed_as_unscanned(plan_of: PlanOf) -> None:
    for stack in STACKS:
        recorded = plan_of(stack).recorded
        converted = tfplan.terraform_plan(recorded)
        written = set(converted.addresses.values())
        rendered = {m.resource.key for m in k8s_render.manifests(recorded)}
        template = arm.arm_template(recorded)
        assert not template.unscanned, f"{stack}: an azure-native token has no ARM type: {template.unscanned}"
        rendered |= set(template.addresses.values())
        unscanned = {u.resource for u in converted.unscanned if u.resource.type.split(":", 1)[0] != arm.PACKAGE}
        for resource in recorded.resources:
            if resource.custom:
                assert resource.key in written | rendered | unscanned, f"{stack}: {resource.key} dropped silently"
        assert not written & unscanned
        for item in converted.unscanned:
            assert item.resource.type.split(":", 1)[0] in ("azure-native", "docker-build", "pulumi", "kubernetes"), f"{stack}: a bridged token is unmapped: {item}"
        document = converted.document
        assert document["format_version"] == "1.2"
        addresses = [r["address"] for r in document["planned_values"]["root_module"]["resources"]]
        assert len(addresses) == len(set(addresses)) == len(written)


def test_the_terraform_plan_never_holds_a_secret(plan_of: PlanOf) -> None:
    recorded = plan_of("do").recorded
    secrets = {str(v) for r in recorded.resources for v in _secret_leaves([r.inputs, r.state]) if len(str(v)) >= 8}
    assert secrets, "the do stack has secrets (passwords, keys) to hide"
    text = json.dumps(tfplan.terraform_plan(recorded).document)
    assert not [s for s in secrets if s in text]
    assert tfplan.SECRET_PLACEHOLDER in text


def _secret_leaves(value: Any, inside: bool = False) -> list[Any]:
    if isinstance(value, Secret):
        return _secret_leaves(value.value, True)
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _secret_leaves(v, inside)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _secret_leaves(v, inside)]
    return [value] if inside and isinstance(value, str) else []


def test_a_reference_to_an_id_is_unknown_until_apply_and_names_its_resource() -> None:
    bucket = _resource("aws:s3/bucket:Bucket", "models", {"forceDestroy": False}, rid="models-bucket-9f1", state={"arn": "arn:aws:s3:::models-bucket-9f1"})
    block = _resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models", {"bucket": "models-bucket-9f1", "blockPublicAcls": True}, deps={"bucket": [bucket.key]})
    document = tfplan.terraform_plan(RecordedPlan("dixi", "t", None, [bucket, block])).document
    (written,) = [r for r in document["planned_values"]["root_module"]["resources"] if r["type"] == "aws_s3_bucket_public_access_block"]
    assert written["values"] == {"block_public_acls": True}
    (configured,) = [r for r in document["configuration"]["root_module"]["resources"] if r["type"] == "aws_s3_bucket_public_access_block"]
    assert configured["expressions"]["bucket"] == {"references": ["aws_s3_bucket.models.id", "aws_s3_bucket.models"]}
    (change,) = [r for r in document["resource_changes"] if r["type"] == "aws_s3_bucket_public_access_block"]
    assert change["change"]["after_unknown"] == {"bucket": True}


def test_an_equal_value_without_a_dependency_is_not_a_reference() -> None:
    bucket = _resource("aws:s3/bucket:Bucket", "models", {}, rid="models-bucket-9f1")
    block = _resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models", {"bucket": "models-bucket-9f1"})
    document = tfplan.terraform_plan(RecordedPlan("dixi", "t", None, [bucket, block])).document
    (configured,) = [r for r in document["configuration"]["root_module"]["resources"] if r["type"] == "aws_s3_bucket_public_access_block"]
    assert configured["expressions"] == {}


# --- checkov on converted plans ----------------------------------------------------------------


def test_checkov_fails_a_bad_plan_by_id_and_passes_the_fixed_one(checkov: str, tmp_path: Path) -> None:
    def stack(name: str, *, imds_v2: bool, public: bool, with_block: bool, referenced: bool = True) -> Plan:
        bucket = _resource("aws:s3/bucket:Bucket", "models", {"forceDestroy": False}, rid=f"models-{name}-bucket")
        blocked = not public
        block = _resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models",
            {"bucket": f"models-{name}-bucket", "blockPublicAcls": blocked, "blockPublicPolicy": blocked, "ignorePublicAcls": blocked, "restrictPublicBuckets": blocked},
            deps={"bucket": [bucket.key]} if referenced else None,
        )  # fmt: skip
        instance = _resource(
            "aws:ec2/instance:Instance", "gpu",
            {"ami": "ami-0123456789abcdef0", "instanceType": "g4dn.xlarge", "metadataOptions": {"httpTokens": "required" if imds_v2 else "optional", "httpEndpoint": "enabled"}},
        )  # fmt: skip
        return _plan(name, bucket, instance, *([block] if with_block else []))

    plans = [
        stack("bad", imds_v2=False, public=True, with_block=True),
        stack("fixed", imds_v2=True, public=False, with_block=True),
        stack("no-block", imds_v2=True, public=False, with_block=False),
        stack("unlinked", imds_v2=True, public=False, with_block=True, referenced=False),
    ]
    bad, fixed, no_block, unlinked = scan_plans(plans, _root(tmp_path, "bad", "fixed", "no-block", "unlinked"))
    ids = ("CKV_AWS_79", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6")
    assert _verdicts(bad, *ids) == {
        ("CKV_AWS_79", "aws_instance.gpu"): False,  # IMDSv1 allowed
        ("CKV_AWS_53", "aws_s3_bucket_public_access_block.models"): False,
        ("CKV_AWS_54", "aws_s3_bucket_public_access_block.models"): False,
        ("CKV_AWS_55", "aws_s3_bucket_public_access_block.models"): False,
        ("CKV_AWS_56", "aws_s3_bucket_public_access_block.models"): False,
        ("CKV2_AWS_6", "aws_s3_bucket.models"): False,  # its block does not block
    }
    assert set(_verdicts(fixed, *ids).values()) == {True} and len(_verdicts(fixed, *ids)) == 6
    # The graph check follows the reference: no block, or a block that does not name the bucket, fails it.
    assert _verdicts(no_block, "CKV2_AWS_6") == {("CKV2_AWS_6", "aws_s3_bucket.models"): False}
    assert _verdicts(unlinked, "CKV2_AWS_6") == {("CKV2_AWS_6", "aws_s3_bucket.models"): False}
    problem_rules = {p.rule for p in bad.problems}
    assert {"checkov:CKV_AWS_79", "checkov:CKV2_AWS_6"} <= problem_rules
    assert all(p.severity == "error" and p.resource is not None for p in bad.problems if p.rule.startswith("checkov:"))
    assert not {p.rule for p in fixed.problems} & {f"checkov:{check}" for check in ids}


def test_the_skip_list_accepts_a_failure_on_its_stack_only_and_is_judged(checkov: str, tmp_path: Path) -> None:
    def stack(name: str) -> Plan:
        return _plan(name, _resource("aws:ec2/instance:Instance", "gpu", {"ami": "ami-0123456789abcdef0", "instanceType": "g4dn.xlarge", "metadataOptions": {"httpTokens": "optional"}}))

    skip_file = """skips:
  - check: CKV_AWS_79
    stacks: [one]
    reason: "IMDSv1 accepted here for the test's sake"
  - check: CKV_AWS_46
    stacks: [one]
    resource: aws_instance.gpu
    reason: "an accepted failure that no longer happens"
  - check: CKV_AWS_126
    stacks: [one, nowhere]
    reason: "detailed monitoring: accepted for the test"
  - check: CKV_AWS_135
    stacks: [one]
"""
    one, two = scan_plans([stack("one"), stack("two")], _root(tmp_path, "one", "two", skip_file=skip_file))
    assert ("CKV_AWS_79", "aws_instance.gpu") in {(r.check_id, r.where) for r, _ in one.skipped}
    assert "checkov:CKV_AWS_79" not in {p.rule for p in one.problems}
    assert "checkov:CKV_AWS_79" in {p.rule for p in two.problems}, "skipped on its stack only"
    judged = sorted(p.message for s in (one, two) for p in s.problems if p.rule == skips.RULE)
    assert judged == [
        "checkov-skips.yaml: CKV_AWS_126 names stack 'nowhere', which has no Pulumi.nowhere.yaml (stacks: one, two)",
        "checkov-skips.yaml: CKV_AWS_46 on aws_instance.gpu no longer fails on stack one: remove it from the entry",
        "checkov-skips.yaml: skips[3] (CKV_AWS_135) has no reason: say in one line why the failure is accepted",
    ]
    (alone,) = scan_plans([stack("two")], _root(tmp_path, "one", "two", skip_file=skip_file))
    judged_alone = [p.message for p in alone.problems if p.rule == skips.RULE]
    assert not [m for m in judged_alone if "no longer fails" in m], "an entry for a stack not scanned is not judged stale"
    assert len(judged_alone) == 2, "an unknown stack and a missing reason are errors whatever is scanned"


def test_a_reason_must_be_one_line_and_a_check_id_must_look_like_one() -> None:
    parsed = skips.parse("skips:\n  - {check: CKV_AWS_1, stacks: [a], reason: 'ok reason here'}\n  - {check: aws-1, stacks: [a], reason: 'a fine reason'}\n  - {check: CKV_AWS_2, stacks: [a], reason: 'short'}\n")
    assert [s.check for s in parsed.skips] == ["CKV_AWS_1"]
    assert len(parsed.errors) == 2 and "skips[1]" in parsed.errors[0] and "check" in parsed.errors[0]
    assert "skips[2] (CKV_AWS_2) reason must be one line of at least 10 characters" in parsed.errors[1]
    assert skips.parse("skips: [").errors[0].startswith("checkov-skips.yaml is not valid YAML")


def test_without_checkov_the_scan_fails_and_says_it_did_not_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(object_checks.CHECKOV_ENV, str(tmp_path / "no-checkov"))
    (scan,) = scan_plans([_plan("one", _resource("aws:ec2/instance:Instance", "gpu", {"ami": "ami-1"}))], _root(tmp_path, "one"))
    assert scan.results == [] and scan.has_errors
    assert [p.message for p in scan.problems] == [f"not scanned: checkov not found (make .venv-checkov, or set {object_checks.CHECKOV_ENV})"]


# --- the command -----------------------------------------------------------------------------------


def test_dixi_plan_prints_a_stack_as_terraform_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "do", "--format", "terraform-plan"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert {r["type"] for r in document["planned_values"]["root_module"]["resources"]} >= {"digitalocean_droplet", "digitalocean_firewall", "digitalocean_loadbalancer"}
    assert err.count("not written (no Terraform resource): docker-build:index:Image") == 4
    assert main(["plan", "--all", "--format", "terraform-plan"]) == 2


def test_dixi_scan_exits_0_on_a_stack_whose_failures_the_skip_list_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "do", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, json.loads((ROOT / "infra/plan/plan.schema.json").read_text()))
    assert document["stack"] == "do"
    assert document["scan"]["checks"] == document["scan"]["passed"] + document["scan"]["skipped"] > 0
    assert {item["reason"] for item in document["scan"]["skippedChecks"]}
    assert not [p for p in document["problems"] if p["severity"] == "error"]


def test_a_list_named_only_by_the_sdk_is_reported_as_unconfirmed(monkeypatch: pytest.MonkeyPatch, checkov: str, tmp_path: Path) -> None:
    found = bridge.lookup("aws:ec2/instance:Instance")
    assert found is not None
    field = found.schema.fields["vpcSecurityGroupIds"]
    monkeypatch.setattr(field, "derived", True)
    instance = _resource("aws:ec2/instance:Instance", "gpu", {"ami": "ami-1", "vpcSecurityGroupIds": ["sg-1"]})
    (scan,) = scan_plans([_plan("one", instance)], _root(tmp_path, "one"))
    assert scan.terraform.unconfirmed == ["aws_instance.vpc_security_group_ids"]
    (warning,) = [p for p in scan.problems if p.rule == "scan-unconfirmed-names"]
    assert warning.severity == "warning" and "aws_instance.vpc_security_group_ids" in warning.message


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [
        ("aws", {"dixi:domain": "dixi.example.com", "dixi:route53ZoneId": "Z0123456789ABCDEFGHIJ"}),
        ("gcp", {"dixi:domain": "dixi.example.com"}),
        ("do", {"dixi:domain": "dixi.example.com", "dixi:doAlertEmails": '["ops@example.com"]', "dixi:doEventBus": "managed"}),
    ],
)
def test_resources_only_config_adds_are_mapped_too(plan_of: PlanOf, stack: str, overrides: dict[str, str]) -> None:
    converted = tfplan.terraform_plan(plan_of(stack, **overrides).recorded)
    assert [u for u in converted.unscanned if u.resource.type.split(":", 1)[0] in bridge.SDK_MODULES] == []
    assert converted.unconfirmed == []


def test_with_a_domain_the_aws_listeners_pass_the_https_checks_the_skip_list_names(plan_of: PlanOf, checkov: str) -> None:
    """The skip list's reasons for CKV2_AWS_20, CKV_AWS_2 and CKV_AWS_103 say a domain makes them pass: it does."""
    plan = plan_of("aws-ec2", **{"dixi:domain": "dixi.example.com", "dixi:route53ZoneId": "Z0123456789ABCDEFGHIJ"})
    (scan,) = scan_plans([plan], ROOT)
    verdicts = _verdicts(scan, "CKV2_AWS_20", "CKV_AWS_2", "CKV_AWS_103")
    assert verdicts == {
        ("CKV2_AWS_20", "aws_lb.dixi-web"): True,
        ("CKV_AWS_2", "aws_lb_listener.dixi-web-http"): True,
        ("CKV_AWS_2", "aws_lb_listener.dixi-web-https"): True,
        ("CKV_AWS_103", "aws_lb_listener.dixi-web-http"): True,
        ("CKV_AWS_103", "aws_lb_listener.dixi-web-https"): True,
    }


# --- azure-native as ARM ---------------------------------------------------------------------------


def test_an_azure_native_resource_becomes_its_arm_type_with_the_body_flattened_back() -> None:
    cluster = _resource(
        "azure-native:containerservice:ManagedCluster", "aks",
        {"resourceName": "dixi-aks", "resourceGroupName": "rg", "location": "eastus", "tags": {"a": "b"}, "disableLocalAccounts": True, "sku": {"tier": "Free"}},
        state={"name": "dixi-aks"},
    )  # fmt: skip
    pool = _resource("azure-native:containerservice:AgentPool", "gpu", {"agentPoolName": "gpu", "resourceName": "dixi-aks", "resourceGroupName": "rg", "count": 1.0, "vmSize": "x"}, state={"name": "gpu"})
    blob = _resource("azure-native:storage:BlobContainer", "models", {"containerName": "models", "accountName": "acct", "resourceGroupName": "rg", "publicAccess": "None"}, state={"name": "models"})
    template = arm.arm_template(RecordedPlan("dixi", "t", None, [cluster, pool, blob]))
    by_type = {r["type"]: r for r in template.document["resources"]}
    aks = by_type["Microsoft.ContainerService/managedClusters"]
    assert aks["name"] == "dixi-aks" and aks["location"] == "eastus" and aks["sku"] == {"tier": "Free"}
    assert aks["properties"] == {"disableLocalAccounts": True}, "URL parts leave the body, the rest is `properties`"
    assert re.fullmatch(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}(-preview)?", aks["apiVersion"])
    assert by_type["Microsoft.ContainerService/managedClusters/agentPools"]["name"] == "dixi-aks/gpu"
    assert by_type["Microsoft.ContainerService/managedClusters/agentPools"]["properties"] == {"count": 1, "vmSize": "x"}
    assert by_type["Microsoft.Storage/storageAccounts/blobServices/containers"]["name"] == "acct/default/models"
    assert template.addresses["Microsoft.ContainerService/managedClusters.dixi-aks"] == cluster.key


def test_checkov_judges_the_arm_template_by_id(checkov: str, tmp_path: Path) -> None:
    def stack(name: str, *, local_accounts: bool, admin_user: bool, ranges: list[str]) -> Plan:
        cluster = _resource(
            "azure-native:containerservice:ManagedCluster", "aks",
            {"resourceName": "dixi-aks", "resourceGroupName": "rg", "location": "eastus", "disableLocalAccounts": not local_accounts, "enableRBAC": True,
             **({"apiServerAccessProfile": {"authorizedIPRanges": ranges}} if ranges else {})},
            state={"name": "dixi-aks"},
        )  # fmt: skip
        registry = _resource("azure-native:containerregistry:Registry", "acr", {"registryName": "dixiacr", "resourceGroupName": "rg", "location": "eastus", "adminUserEnabled": admin_user, "sku": {"name": "Basic"}}, state={"name": "dixiacr"})
        return _plan(name, cluster, registry)

    bad, fixed = scan_plans(
        [stack("bad", local_accounts=True, admin_user=True, ranges=[]), stack("fixed", local_accounts=False, admin_user=False, ranges=["203.0.113.7/32"])],
        _root(tmp_path, "bad", "fixed"),
    )
    ids = ("CKV_AZURE_141", "CKV_AZURE_137", "CKV_AZURE_6")
    assert _verdicts(bad, *ids) == {
        ("CKV_AZURE_141", "Microsoft.ContainerService/managedClusters.dixi-aks"): False,  # local admin account
        ("CKV_AZURE_137", "Microsoft.ContainerRegistry/registries.dixiacr"): False,  # ACR admin user
        ("CKV_AZURE_6", "Microsoft.ContainerService/managedClusters.dixi-aks"): False,  # API server open to all
    }
    assert set(_verdicts(fixed, *ids).values()) == {True} and len(_verdicts(fixed, *ids)) == 3
    (problem,) = [p for p in bad.problems if p.rule == "checkov:CKV_AZURE_141"]
    assert problem.resource == ResourceKey("azure-native:containerservice:ManagedCluster", "aks")


def test_the_azure_stack_takes_api_server_ranges_and_refuses_bad_ones(plan_of: PlanOf) -> None:
    plan = plan_of("azure", **{"dixi:aksApiServerAllowedRanges": '["203.0.113.7", "198.51.100.0/24"]'})
    (cluster,) = plan.recorded.of_type("azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["apiServerAccessProfile"] == {"authorizedIPRanges": ["203.0.113.7/32", "198.51.100.0/24"]}
    (default,) = plan_of("azure").recorded.of_type("azure-native:containerservice:ManagedCluster")
    assert "apiServerAccessProfile" not in default.inputs, "no ranges: the cluster sends what it always sent"
    for bad, says in (('["0.0.0.0/0"]', "the whole internet"), ('["2001:db8::/32"]', "only IPv4 ranges"), ('["x"]', "not an IPv4 address"), (json.dumps([f"10.0.{i // 250}.{i % 250}" for i in range(201)]), "at most 200")):
        with pytest.raises(ConfigError) as raised:
            plan_stack("azure", overrides={"dixi:aksApiServerAllowedRanges": bad})
        (line,) = raised.value.lines
        assert "dixi:aksApiServerAllowedRanges" in line and says in line
