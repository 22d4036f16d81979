"""Bad stack configs: one clear line each, exit code 2, and nothing registered."""

from __future__ import annotations

import runpy
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import pulumi
import pytest
import yaml
from pydantic import Field

from infra import cli, targets
from infra import config as dixi_config
from infra.config import ConfigError, DixiConfig, declared_keys, parse
from infra.plan import stackfiles
from infra.plan.engine import PlanMocks, RecordingMonitor, record
from infra.plan.run import ROOT

STACK_FILE = "Pulumi.aws-ec2.yaml"

# (key, bad value as written in the stack file, words the message must contain)
BAD_CONFIGS = [
    ("dixi:gpuInstanceType", "g4dn.xlarg", ["'g4dn.xlarg' is not a GPU instance type this stack can run and price", "did you mean 'g4dn.xlarge'?"]),
    ("dixi:gpuInstanceType", "p5.48xlarge", ["'p5.48xlarge' is not a GPU instance type", "allowed:"]),
    ("dixi:gpuInstanceType", "huge!", ["is not an EC2 instance type"]),
    ("aws:region", "us-east-9", ["'us-east-9' is not a region this stack can run and price", "did you mean"]),
    ("dixi:target", "aws-ec3", ["'aws-ec3' is not a stack kind this project deploys", "did you mean 'aws-ec2'?"]),
    ("dixi:retainData", "yes", ["'yes' is not a boolean; allowed: true, false"]),
    ("dixi:visionGpu", "maybe", ["'maybe' is not a boolean"]),
    ("dixi:rootVolumeGiB", 74, ["'74' is out of range; allowed: 75 to 16384 (the GPU image's root snapshot is 75 GiB"]),
    ("dixi:rootVolumeGiB", "big", ["'big' is not a whole number"]),
    ("dixi:dataVolumeGiB", 5, ["'5' is out of range; allowed: 20 to 16384"]),
    ("dixi:logRetentionDays", 45, ["'45' is not a CloudWatch Logs retention period", "30"]),
    ("dixi:domain", "not a domain", ["'not a domain' is not a DNS name"]),
    ("dixi:route53ZoneId", "zone-1", ["is not a Route 53 hosted zone id"]),
    ("dixi:route53ZoneId", "Z0123456789ABCDEFGHIJ", ["is set but dixi:domain is empty"]),
    ("dixi:ollamaModel", "Llama 3!", ["is not an Ollama model name"]),
    ("dixi:images", ["backnd=ghcr.io/x/backend:1"], ["unknown service 'backnd'", "did you mean 'backend'?"]),
    ("dixi:images", ["backend=Not An Image"], ["is not an image reference"]),
    ("dixi:images", ["ghcr.io/x/backend:1"], ["is not service=reference"]),
    ("dixi:images", {"backend": "ghcr.io/x/backend:1"}, ["is not a list of service=reference entries"]),
    ("dixi:images", ["backend=ghcr.io/x/b:1", "backend=ghcr.io/x/b:2"], ["names 'backend' twice"]),
    ("dixi:images", ["backend=registry.example.com/x/b:1"], ["pulls from registry.example.com, which the host cannot log in to", "ECR"]),
    ("dixi:vpcCidr", "8.8.8.0/24", ["must be a private IPv4 range"]),
    ("dixi:vpcCidr", "10.0.0.0/8", ["must be a private IPv4 range from /16 to /24"]),
    ("dixi:gpuInstanc", "g4dn.xlarge", ["is not a config key of this project", "did you mean 'dixi:gpuInstanceType'?"]),
]


def _project_with(tmp_path: Path, key: str, value: object) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", tmp_path / "__main__.py")
    document = yaml.safe_load((ROOT / STACK_FILE).read_text())
    document["config"][key] = value
    (tmp_path / STACK_FILE).write_text(yaml.safe_dump(document))
    return tmp_path


@pytest.mark.parametrize(("key", "value", "words"), BAD_CONFIGS, ids=[f"{k}={v}" for k, v, _ in BAD_CONFIGS])
def test_a_bad_value_gives_one_line_naming_file_key_and_value_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: object, words: list[str]
) -> None:
    root = _project_with(tmp_path, key, value)
    code = cli.main(["plan", "aws-ec2", "--root", str(root)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, f"a bad {key} must exit 2, got {code}"
    assert len(lines) == 1, f"one bad value must give exactly one line, got: {lines}"
    assert lines[0].startswith(f"{STACK_FILE}: {key}: "), f"the line must name the file and key: {lines[0]}"
    for word in words:
        assert word in lines[0], f"{word!r} missing from: {lines[0]}"
    assert "Traceback" not in err and out == "", "a config error prints no traceback and no plan"


@pytest.mark.parametrize(("key", "value", "words"), BAD_CONFIGS, ids=[f"{k}={v}" for k, v, _ in BAD_CONFIGS])
def test_under_pulumi_a_bad_config_is_a_run_error_and_registers_no_resource(
    tmp_path: Path, key: str, value: object, words: list[str]
) -> None:
    root = _project_with(tmp_path, key, value)
    files = stackfiles.load(root, "aws-ec2")
    monitor = RecordingMonitor(PlanMocks(None))
    with pytest.raises(pulumi.RunError) as raised:
        record(
            "dixi", "aws-ec2", None, files.values, [],
            lambda: runpy.run_path(str(root / "__main__.py"), run_name="__main__"),
            root, monitor=monitor,
        )
    assert str(raised.value).startswith(f"{STACK_FILE}: {key}: "), str(raised.value)
    registered = [r.type for r in monitor.recorded if r.type != "pulumi:pulumi:Stack"]
    assert registered == [], f"a bad config must stop the program before any resource, got {registered}"


def test_two_bad_values_give_two_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project_with(tmp_path, "dixi:retainData", "maybe")
    document = yaml.safe_load((root / STACK_FILE).read_text())
    document["config"]["dixi:logRetentionDays"] = 2
    (root / STACK_FILE).write_text(yaml.safe_dump(document))
    assert cli.main(["plan", "aws-ec2", "--root", str(root)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and {line.split(": ")[1] for line in lines} == {"dixi:retainData", "dixi:logRetentionDays"}, lines


def test_a_missing_stack_file_names_the_stacks_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "aws-ec3"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.aws-ec3.yaml: no such stack file" in err and "aws-ec2" in err, err


def test_a_stack_file_that_is_not_yaml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project_with(tmp_path, "dixi:domain", "")
    (root / STACK_FILE).write_text("config: [unclosed\n")
    assert cli.main(["plan", "aws-ec2", "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not valid YAML" in err[0], err


def test_usage_errors_exit_2_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan"]) == 2
    with pytest.raises(SystemExit) as raised:
        cli.main(["plan", "aws-ec2", "--bogus"])
    assert raised.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_every_key_the_program_reads_is_declared_once_in_pulumi_yaml_with_type_description_and_default() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    ours = {k for k in declared_keys() if k.startswith("dixi:")}
    assert set(declared) == ours, f"Pulumi.yaml and infra/config.py disagree: {set(declared) ^ ours}"
    for key, declaration in declared.items():
        assert declaration.get("description"), f"{key} needs a description"
        assert "default" in declaration, f"{key} needs a default"
        # Pulumi's project schema: a declaration needs a type, one of these four, and arrays their items.
        assert declaration.get("type") in ("string", "integer", "boolean", "array"), f"{key} needs a type Pulumi knows"
        assert declaration["type"] != "array" or "items" in declaration, f"{key}: an array needs items"


def test_a_secure_value_becomes_a_secret_placeholder(tmp_path: Path) -> None:
    root = _project_with(tmp_path, "dixi:domain", "")
    document = yaml.safe_load((root / STACK_FILE).read_text())
    document["config"]["aws:secretKey"] = {"secure": "v1:abcdef"}
    (root / STACK_FILE).write_text(yaml.safe_dump(document))
    files = stackfiles.load(root, "aws-ec2")
    assert files.values["aws:secretKey"] == stackfiles.SECRET_PLACEHOLDER
    assert files.secret_keys == ["aws:secretKey"]


def test_the_default_stack_config_parses_into_its_kinds_model() -> None:
    from infra.aws.config import AwsEc2Config

    files = stackfiles.load(ROOT, "aws-ec2")
    cfg = parse(files.values, files.stack_file, files.defaults)
    assert isinstance(cfg, AwsEc2Config)
    assert (cfg.gpu_instance_type, cfg.retain_data, cfg.domain, cfg.vision_gpu) == ("g4dn.xlarge", True, None, False)
    with pytest.raises(ConfigError):
        parse({**files.values, "dixi:retainData": "nope"}, files.stack_file)


class _TinyConfig(DixiConfig):
    """A second stack kind, for the tests: it reads only the common keys."""

    stack_kind: Literal["tiny"] = Field(alias="dixi:target")


class _TinyKind(targets.Kind):
    def config_model(self) -> type[DixiConfig]:
        return _TinyConfig


@pytest.fixture
def two_kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    kinds = MappingProxyType({**targets.KINDS, "tiny": _TinyKind("tiny", "aws", "-", "-", "a test kind")})
    monkeypatch.setattr(targets, "KINDS", kinds)
    dixi_config._union.cache_clear()
    yield
    dixi_config._union.cache_clear()


def test_each_kind_gets_its_own_model_from_the_union_on_dixi_target(two_kinds: None) -> None:
    from infra.aws.config import AwsEc2Config

    files = stackfiles.load(ROOT, "aws-ec2")
    assert isinstance(parse(files.values, files.stack_file, files.defaults), AwsEc2Config)
    tiny = parse({**files.values, "dixi:target": "tiny"}, files.stack_file, files.defaults)
    assert isinstance(tiny, _TinyConfig) and tiny.stack_kind == "tiny"


def test_a_key_of_another_kind_set_away_from_its_default_names_the_kinds_that_take_it(two_kinds: None) -> None:
    files = stackfiles.load(ROOT, "aws-ec2")
    with pytest.raises(ConfigError) as raised:
        parse({**files.values, "dixi:target": "tiny", "dixi:gpuInstanceType": "g5.xlarge"}, files.stack_file, files.defaults)
    assert raised.value.lines == [
        "Pulumi.aws-ec2.yaml: dixi:gpuInstanceType: 'g5.xlarge' is not used by stack kind 'tiny'; kinds that take it: aws, aws-ec2"
    ]


def test_every_key_says_which_kinds_take_it_when_not_every_kind_does() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    common = set(DixiConfig.config_keys())
    for key, declaration in declared.items():
        if key not in common:
            kinds = dixi_config.kinds_taking(key)
            said = declaration["description"]
            assert said.startswith("(") and ("only" in said or "kinds" in said), f"{key} is read by {kinds} only; its description must say so"
