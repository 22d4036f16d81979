"""`dixi plan` as users and other tools run it: the JSON contract, the tree, the exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from infra import cli
from infra.plan import stackfiles
from infra.plan.run import ROOT, plan_stack

SCHEMA = json.loads((ROOT / "infra/plan/plan.schema.json").read_text())


def test_plan_all_json_matches_the_contract_for_every_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["plan", "--all", "--json"])
    documents = json.loads(capsys.readouterr().out)
    assert code == 0, "the committed stacks must plan without error problems"
    assert [d["stack"] for d in documents] == stackfiles.stack_names(ROOT)
    for document in documents:
        jsonschema.validate(document, SCHEMA)
        keys = [(r["type"], r["name"]) for r in document["resources"]]
        assert len(keys) == len(set(keys)), "resources are keyed by (type, name): no duplicates"
        assert keys == sorted(keys), "resources are sorted by (type, name) so two plans diff cleanly"
        known = set(keys)
        for resource in document["resources"]:
            if resource["parent"]:
                assert (resource["parent"]["type"], resource["parent"]["name"]) in known
            for dependency in resource["dependencies"]:
                assert (dependency["type"], dependency["name"]) in known
        components = [r for r in document["resources"] if not r["custom"]]
        assert components and all(r["type"].startswith(("dixi:", "pulumi:")) for r in components)
        summary = document["summary"]
        assert summary["resources"] == sum(1 for r in document["resources"] if r["custom"])
        assert summary["monthly"] == document["cost"]["monthly"] and summary["errors"] == 0
        assert document["cost"]["monthly"] == pytest.approx(sum(i["monthly"] for i in document["cost"]["items"]), abs=0.05)


def test_the_json_uses_the_engines_camel_case_inputs_and_hides_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "aws-ec2", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (host,) = [r for r in document["resources"] if r["type"] == "aws:ec2/instance:Instance"]
    assert host["inputs"]["metadataOptions"]["httpTokens"] == "required"
    (parameter,) = [r for r in document["resources"] if r["type"] == "aws:ssm/parameter:Parameter"]
    assert parameter["inputs"]["value"] == "[secret]"
    (bucket,) = [r for r in document["resources"] if r["type"] == "aws:s3/bucket:Bucket"]
    assert bucket["retainOnDelete"] is True
    images = [r for r in document["resources"] if r["type"] == "docker-build:index:Image"]
    # Pulumi marks the whole registries list secret once one of its values is.
    assert images and all(i["inputs"]["registries"] == "[secret]" for i in images)
    text = json.dumps(document)
    assert "mock-ecr-password" not in text, "the registry password is a secret"
    assert not re.search(r"mock-[0-9a-f]{24}", text), "the gesture token (the mocks' password) is a secret"


def test_a_plan_with_an_error_problem_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("Pulumi.yaml", "Pulumi.aws-ec2.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "__main__.py").write_text(
        "import pulumi, pulumi_aws.ec2 as ec2\n"
        "parent = pulumi.ComponentResource('dixi:test:Legacy', 'dixi')\n"
        "ec2.Instance('dixi-legacy', ami='ami-1', instance_type='g4dn.xlarge',"
        " metadata_options=ec2.InstanceMetadataOptionsArgs(http_tokens='optional'), opts=pulumi.ResourceOptions(parent=parent))\n"
    )
    code = cli.main(["plan", "aws-ec2", "--json", "--root", str(tmp_path)])
    document = json.loads(capsys.readouterr().out)
    assert code == 1, "error problems make the plan exit 1"
    assert [p["rule"] for p in document["problems"] if p["severity"] == "error"] == ["imdsv2-required"]


def test_the_readable_plan_shows_the_tree_problems_and_monthly_cost() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.cli", "plan", "aws-ec2"], capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    for words in ("dixi/aws-ec2:", "dixi:aws:Ec2DockerDeployment", "aws:ec2/instance:Instance", "kept on destroy",
                  "Monthly cost", "g4dn.xlarge on-demand us-east-1", "total", "seed's estimate"):
        assert words in result.stdout, f"{words!r} missing from the plan output"


def test_plan_all_ends_with_one_table_comparing_every_stack() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.cli", "plan", "--all"], capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout[result.stdout.rindex("Stacks compared"):]
    for column in ("stack", "kind", "cloud, region", "resources", "err/warn", "GPUs", "USD/mo", "seed"):
        assert column in table, f"{column!r} missing from the comparison"
    for stack in stackfiles.stack_names(ROOT):
        (row,) = [line for line in table.splitlines() if line.split()[:1] == [stack]]
        plan = plan_stack(stack)
        assert " 0/0 " in row, row
        if plan.cost.seed_monthly is not None:
            assert f"~{plan.cost.seed_monthly:,.0f}" in row and f"{plan.cost.monthly:,.2f}" in row, row
        else:  # no machines of its own: the cluster requests stand where dollars would
            assert plan.cost.requests is not None and f"{plan.cost.requests['cpu_cores']:g}cpu" in row, row


def test_each_plan_starts_from_a_clean_engine_state() -> None:
    from infra.plan.run import plan_stack

    https = plan_stack("aws-ec2", overrides={"dixi:domain": "dixi.example.com"})
    plain = plan_stack("aws-ec2")
    again = plan_stack("aws-ec2")
    keys = sorted((r.type, r.name) for r in plain.recorded.resources)
    assert keys == sorted((r.type, r.name) for r in again.recorded.resources), "planning twice gives the same resources"
    assert len(keys) == len(set(keys)), "nothing from an earlier plan leaks into this one"
    assert not plain.recorded.of_type("aws:acm/certificate:Certificate") and https.recorded.of_type("aws:acm/certificate:Certificate")
