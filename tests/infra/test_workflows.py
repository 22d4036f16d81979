"""The GitHub workflows validate against GitHub's schema and run what the README promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

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
