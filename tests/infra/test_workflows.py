"""The GitHub workflows validate against GitHub's schema and run what the README promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

from infra.plan.run import ROOT

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def _check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    return found


def test_every_workflow_validates_against_the_github_workflow_schema() -> None:
    assert WORKFLOWS, "there must be a PR workflow"
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: not-a-list\n")
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0


def test_pull_requests_run_the_tests_the_offline_plan_and_a_guarded_preview() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/pr-checks.yml").read_text())
    assert "pull_request" in workflow[True], "runs on every pull request"  # PyYAML reads `on:` as True
    assert "bookworm" in workflow["jobs"]["test"]["container"], "tests run on Debian, where the .ci/run packages exist"
    runs = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs and any("dixi plan --all" in r for r in runs)
    preview = workflow["jobs"]["preview"]["steps"]
    pulumi = [s for s in preview if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi and pulumi[0]["with"]["command"] == "preview"
    assert pulumi[0]["if"] == "steps.creds.outputs.present == 'true'", "preview is skipped without credentials"
    assert "::notice" in preview[0]["run"], "a skipped preview says so"


def _supported_pythons() -> list[str]:
    """The 3.x minor versions pyproject.toml's requires-python admits."""
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    return [f"3.{minor}" for minor in range(8, 30) if any(requires.contains(f"3.{minor}.{patch}") for patch in (0, 99))]


def test_the_tests_run_on_every_supported_python_in_a_debian_container() -> None:
    assert _supported_pythons() == ["3.11", "3.12", "3.13"], "the README and this workflow say 3.11 to 3.13"
    test = yaml.safe_load((ROOT / ".github/workflows/pr-checks.yml").read_text())["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == _supported_pythons(), "a test job for each Python pyproject.toml admits"
    assert test["strategy"].get("fail-fast") is False, "one Python failing does not hide the others' results"
    assert test["container"] == "python:${{ matrix.python }}-bookworm", "each job runs in that Python's Debian image"
    assert test["env"]["PYTHON_VERSION"] == "${{ matrix.python }}", "the Makefile installs .venv with the container's Python"


def test_every_install_is_the_locked_one_through_the_makefile() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/pr-checks.yml").read_text())
    runs = "\n".join(s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"])
    assert "pip install" not in runs, "installs go through uv and uv.lock, not pip"
    preview = workflow["jobs"]["preview"]
    assert any("make setup" in s.get("run", "") for s in preview["steps"]), "the preview installs as the Makefile does"
    assert preview["env"]["UV_LOCKED"] == "1", "Pulumi's own `uv sync` before the preview keeps to uv.lock"
    assert "make test" in (ROOT / ".ci/run").read_text(), ".ci/run runs the README's test command"
    assert (ROOT / "uv.lock").is_file(), "the lock file is committed"
