"""The seams: every stack kind and cloud comes from one registry, and shared code never reaches into a cloud.

A new target is a folder under infra/, a module under stacks/, and a line in
infra/targets.py (docs/adding-a-target.md); these tests hold the tree to that.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from infra import targets
from infra.config import DixiConfig
from infra.plan.run import ROOT

CLOUD_PACKAGES = {f"infra.{name}" for name in targets.CLOUDS}
# Code every cloud shares: it may look clouds up in infra.targets, never import one.
SHARED = ["infra/config.py", "infra/spec.py", "infra/targets.py", "infra/common", "infra/checks", "infra/cost", "infra/plan", "__main__.py"]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _files(*parts: str) -> list[Path]:
    paths: list[Path] = []
    for part in parts:
        path = ROOT / part
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return paths


@pytest.mark.parametrize("kind", sorted(targets.KINDS.values(), key=lambda k: k.name), ids=lambda k: k.name)
def test_each_kind_has_its_config_model_stack_module_and_cloud(kind: targets.Kind) -> None:
    assert kind.cloud in targets.CLOUDS
    model = kind.config_model()
    assert issubclass(model, DixiConfig)
    assert typing.get_args(model.model_fields["stack_kind"].annotation) == (kind.name,), "the model's tag is the kind's name"
    assert callable(kind.deploy())
    cloud = targets.CLOUDS[kind.cloud]
    for part, name in (("mocks", "MOCKS"), ("prices", "PRICER"), ("checks", None)):
        module = cloud.module(part)
        assert module is not None, f"infra/{cloud.name}/{part}.py is missing"
        assert name is None or hasattr(module, name), f"infra/{cloud.name}/{part}.py must define {name}"


def test_every_cloud_package_has_at_least_its_check_adapters() -> None:
    for cloud in targets.CLOUDS.values():
        assert cloud.module("checks") is not None, f"infra/{cloud.name}/checks.py"


def test_shared_code_never_imports_a_clouds_module() -> None:
    for path in _files(*SHARED):
        clouds = {m for m in _imports(path) if any(m == c or m.startswith(f"{c}.") for c in CLOUD_PACKAGES)}
        assert not clouds, f"{path.relative_to(ROOT)} imports {clouds}; look the cloud up in infra.targets instead"


def test_checks_and_cost_read_the_plan_model_not_the_mock_runtime() -> None:
    for path in _files("infra/checks", "infra/cost", "infra/plan/model.py", "infra/plan/mocking.py", *(f"infra/{c}" for c in targets.CLOUDS)):
        bad = {m for m in _imports(path) if m == "infra.plan.engine" or m.startswith("pulumi.runtime")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    for path in _files("infra/plan/model.py", "infra/plan/mocking.py"):
        assert not {m for m in _imports(path) if m.split(".")[0] == "pulumi"}, f"{path.name} must not import Pulumi"


def test_no_shared_module_names_a_stack_kind() -> None:
    for path in _files(*[p for p in SHARED if p != "infra/targets.py"]):
        text = path.read_text()
        for kind in targets.KINDS:
            assert f'"{kind}"' not in text, f"{path.relative_to(ROOT)} names the stack kind {kind!r}: an if-chain in shared code"


def test_the_guide_to_adding_a_target_lists_every_place_a_target_touches() -> None:
    guide = (ROOT / "docs/adding-a-target.md").read_text()
    for place in ("infra/<cloud>/config.py", "infra/<cloud>/mocks.py", "infra/<cloud>/prices.py", "infra/<cloud>/checks.py",
                  "stacks/<kind>.py", "infra/targets.py", "Pulumi.<stack>.yaml", "Pulumi.yaml"):  # fmt: skip
        assert place in guide, f"docs/adding-a-target.md does not mention {place}"
