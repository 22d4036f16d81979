"""`infra.k8s.render` and `dixi render k8s`: a plan's Kubernetes objects as YAML, secrets never written, Helm releases listed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import cli
from infra.k8s import render
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT

COMPONENT = ResourceKey("dixi:k8s:Workloads", "dixi")
TOKEN = "s3cr3t-gesture-token"


def _r(type_: str, name: str, custom: bool = True, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, name, custom, COMPONENT, inputs, id=f"{name}-id", state=dict(inputs))


def _plan(*resources: RecordedResource) -> RecordedPlan:
    return RecordedPlan("dixi", "test", None, [RecordedResource(COMPONENT.type, COMPONENT.name, False, None, {}), *resources])


def _sample() -> RecordedPlan:
    return _plan(
        _r("pulumi:providers:kubernetes", "dixi-cluster", kubeconfig=Secret("apiVersion: v1")),
        _r("kubernetes:apps/v1:Deployment", "dixi-backend", apiVersion="apps/v1", kind="Deployment",
           metadata={"name": "backend", "namespace": "dixi"}, spec={"replicas": 3.0, "template": {"spec": {"containers": [{"name": "backend", "image": "b:1"}]}}}),
        _r("kubernetes:core/v1:Service", "dixi-backend-svc", metadata={"name": "backend", "namespace": "dixi"}, spec={"ports": [{"port": 3001.0}]}),
        _r("kubernetes:core/v1:Secret", "dixi-tokens", apiVersion="v1", kind="Secret", metadata={"name": "tokens", "namespace": "dixi"},
           data=Secret({"GESTURE_TOKEN": base64.b64encode(TOKEN.encode()).decode()}), stringData=Secret({"OTHER": TOKEN})),
        _r("kubernetes:core/v1:Namespace", "dixi-ns", apiVersion="v1", kind="Namespace", metadata={"name": "dixi"}),
        _r("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "dixi-route", apiVersion="gateway.networking.k8s.io/v1", kind="HTTPRoute",
           metadata={"name": "dixi", "namespace": "dixi"}, spec={"parentRefs": [{"name": "dixi"}]}),
        _r("kubernetes:core/v1:ServicePatch", "dixi-patch", metadata={"name": "kube-dns", "namespace": "kube-system"}),
        _r("kubernetes:helm.sh/v3:Release", "dixi-valkey", chart="valkey", version="3.0.1", namespace="dixi",
           repositoryOpts={"repo": "https://charts.example"}, values={"auth": {"password": Secret(TOKEN)}, "replicas": 1.0}),
    )  # fmt: skip


def test_every_kubernetes_object_is_rendered_in_apply_order_and_helm_releases_and_providers_are_not() -> None:
    objects = render.manifests(_sample())
    assert [m.label for m in objects] == ["Namespace dixi", "Secret dixi/tokens", "Deployment dixi/backend", "HTTPRoute dixi/dixi", "Service dixi/backend"], (
        "namespaces and secrets go first; the provider, the Helm release and the patch of someone else's object are not objects of this plan"
    )


def test_api_version_and_kind_come_from_the_type_token_when_the_inputs_lack_them() -> None:
    (service,) = [m for m in render.manifests(_sample()) if m.kind == "Service"]
    assert (service.body["apiVersion"], service.body["kind"]) == ("v1", "Service"), "the core group core/v1 is written v1"
    assert list(service.body)[:3] == ["apiVersion", "kind", "metadata"]
    assert render.api_version_of("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") == "gateway.networking.k8s.io/v1"


def test_whole_numbers_the_engine_sends_as_floats_are_written_as_integers() -> None:
    text = render.objects_yaml(_sample())
    assert "replicas: 3\n" in text and "port: 3001\n" in text and "3.0" not in text, "int32 fields refuse 3.0"


def test_secrets_are_written_as_placeholders_and_a_secrets_data_still_decodes() -> None:
    text = render.objects_yaml(_sample()) + render.releases_yaml(_sample())
    assert TOKEN not in text and base64.b64encode(TOKEN.encode()).decode() not in text, "no secret value is ever written"
    (secret,) = [d for d in yaml.safe_load_all(render.objects_yaml(_sample())) if d["kind"] == "Secret"]
    assert base64.b64decode(secret["data"]["GESTURE_TOKEN"]).decode() == render.PLACEHOLDER, "data holds base64, so the placeholder is base64 too"
    assert secret["stringData"] == {"OTHER": render.PLACEHOLDER}, "a secret object keeps its keys"


def test_helm_releases_are_listed_with_chart_version_repository_and_redacted_values() -> None:
    (release,) = yaml.safe_load(render.releases_yaml(_sample()))["releases"]
    assert {k: release[k] for k in ("chart", "version", "repository", "namespace")} == {
        "chart": "valkey", "version": "3.0.1", "repository": "https://charts.example", "namespace": "dixi",
    }  # fmt: skip
    assert release["values"] == {"auth": {"password": render.PLACEHOLDER}, "replicas": 1}


def test_write_puts_objects_and_releases_in_the_folder_and_renders_the_same_bytes_twice(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in render.write(_sample(), tmp_path / "a")]
    second = [p.read_bytes() for p in render.write(_sample(), tmp_path / "b")]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [render.RELEASES_FILE, render.OBJECTS_FILE]
    assert first == second, "the same plan renders the same bytes"
    assert len(list(yaml.safe_load_all(first[0]))) == 5


def test_an_object_left_to_autonaming_gets_the_engines_name() -> None:
    deployment = _r("kubernetes:apps/v1:Deployment", "dixi-web", metadata={"namespace": "dixi"})
    deployment.state = {"metadata": {"name": "dixi-web-1a2b3c", "namespace": "dixi"}}
    (m,) = render.manifests(_plan(deployment))
    assert m.name == "dixi-web-1a2b3c"


# --- dixi render k8s ----------------------------------------------------------------------


def _root_with(tmp_path: Path, program: str, stack_file: str | None = None) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.aws-ec2.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    if stack_file is not None:
        (tmp_path / "Pulumi.aws-ec2.yaml").write_text(stack_file)
    (tmp_path / "__main__.py").write_text(program)
    return tmp_path


PROGRAM = (
    "import pulumi, pulumi_kubernetes as k8s\n"
    "parent = pulumi.ComponentResource('dixi:test:Objects', 'dixi')\n"
    "opts = pulumi.ResourceOptions(parent=parent)\n"
    "k8s.core.v1.Namespace('dixi-ns', metadata={'name': 'dixi'}, opts=opts)\n"
    "k8s.core.v1.Secret('dixi-token', metadata={'name': 'token', 'namespace': 'dixi'},"
    " string_data={'GESTURE_TOKEN': pulumi.Output.secret('" + TOKEN + "')}, opts=opts)\n"
)


def test_render_k8s_prints_the_objects_of_a_stack_as_yaml_without_its_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _root_with(tmp_path, PROGRAM)
    assert cli.main(["render", "k8s", "aws-ec2", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out)] == [("Namespace", "dixi"), ("Secret", "token")]
    assert TOKEN not in out


def test_render_k8s_with_out_writes_the_files_and_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "root").mkdir()
    root = _root_with(tmp_path / "root", PROGRAM)
    out_dir = tmp_path / "rendered"
    assert cli.main(["render", "k8s", "aws-ec2", "--root", str(root), "--out", str(out_dir)]) == 0
    said = capsys.readouterr().out
    assert str(out_dir / render.OBJECTS_FILE) in said and str(out_dir / render.RELEASES_FILE) in said
    assert (out_dir / render.OBJECTS_FILE).is_file() and (out_dir / render.RELEASES_FILE).is_file()


def test_render_k8s_of_a_stack_without_kubernetes_objects_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", "k8s", "aws-ec2"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["dixi: stack aws-ec2 has no Kubernetes objects to render"]


def test_render_k8s_with_bad_config_prints_the_config_errors_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = (ROOT / "Pulumi.aws-ec2.yaml").read_text() + "  dixi:notAKey: 1\n"
    root = _root_with(tmp_path, PROGRAM, stack_file=bad)
    assert cli.main(["render", "k8s", "aws-ec2", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "notAKey" in err and "Traceback" not in err


def test_render_compose_still_takes_no_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", "compose", "--check"]) == 0
    assert cli.main(["render", "compose", "aws"]) == 2
