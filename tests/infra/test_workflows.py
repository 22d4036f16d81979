"""The GitHub workflows validate against GitHub's schema, run what the README promises,
and cannot hand the pull request's code more than it should get: every action and image
pinned, credentials only behind the protected environment, zizmor clean."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.specifiers import SpecifierSet

from infra.plan.run import ROOT

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
PR_CHECKS = ROOT / ".github/workflows/pr-checks.yml"
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"


def _tool(name: str) -> str:
    """A console script of the project's venv (or, failing that, of PATH)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or str(beside))


def _load(text: str) -> dict[Any, Any]:
    workflow = yaml.safe_load(text)
    assert isinstance(workflow, dict)
    return workflow


def test_every_workflow_validates_against_the_github_workflow_schema() -> None:
    assert WORKFLOWS, "there must be a PR workflow"
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: not-a-list\n")
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0


def test_pull_requests_run_the_tests_the_offline_plan_and_a_guarded_preview() -> None:
    workflow = _load(PR_CHECKS.read_text())
    assert "pull_request" in workflow[True], "runs on every pull request"  # PyYAML reads `on:` as True
    runs = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs and any("dixi plan --all" in r for r in runs)
    assert any(r.strip() == ".venv/bin/dixi scan --all" for r in runs), "the PR job runs checkov over every stack"
    preview = workflow["jobs"]["preview"]["steps"]
    pulumi = [s for s in preview if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi and pulumi[0]["with"]["command"] == "preview"
    assert pulumi[0]["if"] == "steps.creds.outputs.present == 'true'", "preview is skipped without credentials"
    assert "::notice" in preview[0]["run"], "a skipped preview says so"
    assert "upsert" not in pulumi[0]["with"], "a preview never creates a stack: its role and token only read"


def _supported_pythons() -> list[str]:
    """The 3.x minor versions pyproject.toml's requires-python admits."""
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    return [f"3.{minor}" for minor in range(8, 30) if any(requires.contains(f"3.{minor}.{patch}") for patch in (0, 99))]


def test_the_tests_run_on_every_supported_python_in_a_debian_container_pinned_by_digest() -> None:
    assert _supported_pythons() == ["3.11", "3.12", "3.13"], "the README and this workflow say 3.11 to 3.13"
    test = _load(PR_CHECKS.read_text())["jobs"]["test"]
    matrix = test["strategy"]["matrix"]
    assert matrix["python"] == _supported_pythons(), "a test job for each Python pyproject.toml admits"
    assert test["strategy"].get("fail-fast") is False, "one Python failing does not hide the others' results"
    images = {entry["python"]: entry["image"] for entry in matrix["include"]}
    assert sorted(images) == matrix["python"], "each Python of the matrix names its image, and no other Python is added"
    for python, image in images.items():
        assert re.fullmatch(rf"python:{re.escape(python)}-bookworm@sha256:[0-9a-f]{{64}}", image), (
            f"Python {python} runs in the official Debian image of that Python, pinned by digest: {image}"
        )
    assert test["container"] == "${{ matrix.image }}", "each job runs in its Python's image"
    assert test["env"]["PYTHON_VERSION"] == "${{ matrix.python }}", "the Makefile installs .venv with the container's Python"


def test_every_install_is_the_locked_one_through_the_makefile() -> None:
    workflow = _load(PR_CHECKS.read_text())
    runs = "\n".join(s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"])
    assert "pip install" not in runs, "installs go through uv and uv.lock, not pip"
    preview = workflow["jobs"]["preview"]
    assert any("make setup" in s.get("run", "") for s in preview["steps"]), "the preview installs as the Makefile does"
    assert preview["env"]["UV_LOCKED"] == "1", "Pulumi's own `uv sync` before the preview keeps to uv.lock"
    assert "make test" in (ROOT / ".ci/run").read_text(), ".ci/run runs the README's test command"
    assert (ROOT / "uv.lock").is_file(), "the lock file is committed"


def test_the_preview_runs_the_pulumi_cli_of_the_locked_sdk() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    sdk = next(p["version"] for p in lock["package"] if p["name"] == "pulumi")
    steps = _load(PR_CHECKS.read_text())["jobs"]["preview"]["steps"]
    pulumi = next(s for s in steps if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert str(pulumi["with"].get("pulumi-version")) == sdk, (
        f"the action installs the newest 3.x CLI unless told; pin it to the SDK uv.lock holds ({sdk}), "
        "and move both together"
    )


# --- Pinning: a tag can be moved to other code; a commit cannot. ---

_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
_SHA = re.compile(r"[0-9a-f]{40}")
_VERSION = re.compile(r"v?\d+(?:\.\d+){1,2}")


def _uses_in(workflow: dict[Any, Any]) -> Iterator[str]:
    for job in workflow.get("jobs", {}).values():
        if "uses" in job:  # a reusable workflow
            yield str(job["uses"])
        for step in job.get("steps", []):
            if "uses" in step:
                yield str(step["uses"])


def pinning_problems(text: str) -> list[str]:
    """Each `uses:` of an action from another repository that is not `owner/repo@<40-hex> # vX.Y.Z`,
    and each Docker action not pinned by digest."""
    problems = []
    comments: dict[str, list[str]] = {}
    for match in filter(None, map(_USES_LINE.match, text.splitlines())):
        comments.setdefault(match["ref"].strip("'\""), []).append(match["comment"] or "")
    for ref in _uses_in(_load(text)):
        if ref.startswith("./"):
            continue  # an action of this repository: pinned by the checkout itself
        if ref not in comments:
            problems.append(f"{ref}: not on a `uses:` line of its own, so its version comment cannot be read")
        elif ref.startswith("docker://"):
            if not re.search(r"@sha256:[0-9a-f]{64}$", ref):
                problems.append(f"{ref}: a Docker action must be pinned by digest")
        elif not _SHA.fullmatch(pin := ref.partition("@")[2]):
            problems.append(f"{ref}: pinned to {pin or 'nothing'}, not to a full commit SHA")
        elif not all(_VERSION.search(comment) for comment in comments[ref]):
            problems.append(f"{ref}: no `# vX.Y.Z` comment saying which release the commit is")
    return sorted(set(problems))


def test_every_third_party_action_is_pinned_to_a_full_commit_with_its_version_in_a_comment() -> None:
    for path in WORKFLOWS:
        assert pinning_problems(path.read_text()) == [], f"{path.name}: pin to the release's commit (git rev-parse <tag>^{{commit}})"


def test_the_pin_check_rejects_a_tag_a_short_sha_and_a_commit_without_its_version() -> None:
    bad = """
on: pull_request
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@a26af69
      - uses: pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d
      - uses: docker://alpine:3.20
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
      - uses: ./.github/actions/local
"""
    problems = pinning_problems(bad)
    assert len(problems) == 4, problems
    assert "actions/checkout@v4: pinned to v4, not to a full commit SHA" in problems
    assert any(p.startswith("actions/setup-python@a26af69: pinned to a26af69") for p in problems)
    assert any(p.startswith("pulumi/actions@") and "no `# vX.Y.Z` comment" in p for p in problems)
    assert any(p.startswith("docker://alpine:3.20") for p in problems)


# --- Cloud credentials: only in the protected environment, never for a fork. ---


def _conjuncts(condition: str) -> list[str]:
    return [part.strip().removeprefix("${{").removesuffix("}}").strip() for part in condition.split("&&")]


def credential_problems(workflow: dict[Any, Any]) -> list[str]:
    """Jobs that can reach cloud credentials or secrets without the guard the README describes:
    a protected environment, pull requests from this repository's own branches only, and
    no `||` that could route around that."""
    problems = []
    default = workflow.get("permissions")
    if default not in ({}, {"contents": "read"}, "read-all"):
        problems.append(f"the workflow's default permissions are {default!r}, not none (permissions: {{}})")
    for name, job in workflow.get("jobs", {}).items():
        permissions = job.get("permissions", default)
        oidc = isinstance(permissions, dict) and permissions.get("id-token") == "write"
        aws = any(str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@") for s in job.get("steps", []))
        secrets = "secrets." in json.dumps(job)
        if not (oidc or aws or secrets):
            continue
        if not job.get("environment"):
            problems.append(f"{name}: gets credentials but is bound to no environment with required reviewers")
        condition = str(job.get("if", ""))
        if "||" in condition or FORK_GUARD not in _conjuncts(condition):
            problems.append(f"{name}: gets credentials but can run for a fork's pull request (if: {condition!r})")
        if "github.event_name == 'pull_request'" not in _conjuncts(condition):
            problems.append(f"{name}: gets credentials on events other than a pull request from this repository")
    return problems


def test_only_the_preview_gets_cloud_credentials_and_only_behind_its_environment_never_for_a_fork() -> None:
    workflow = _load(PR_CHECKS.read_text())
    assert credential_problems(workflow) == []
    assert workflow["permissions"] == {}, "no job gets a permission it does not ask for"
    preview = workflow["jobs"]["preview"]
    assert preview["environment"] == "preview", "the environment the README tells maintainers to protect"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name} says which permissions it needs"
        assert (job["permissions"].get("id-token") == "write") == (name == "preview"), f"{name}: only the preview asks for an OIDC token"
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: the checkout leaves no token in .git/config"
    steps = preview["steps"]
    install = next(i for i, s in enumerate(steps) if "make setup" in s.get("run", ""))
    login = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert install < login, "installing runs before any cloud credential exists"
    assert "secrets." not in json.dumps(preview.get("env", {})), "secrets go to the steps that use them, not the whole job"


def test_the_credential_check_rejects_a_job_that_forks_or_unprotected_runs_could_reach() -> None:
    bad = _load("""
on: pull_request
permissions: write-all
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions: {id-token: write}
    steps:
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
  sneaky:
    runs-on: ubuntu-latest
    environment: preview
    if: github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository || true
    permissions: {}
    steps:
      - run: echo "$T"
        env: {T: "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
""")
    problems = credential_problems(bad)
    assert any(p.startswith("the workflow's default permissions") for p in problems)
    assert "deploy: gets credentials but is bound to no environment with required reviewers" in problems
    assert any(p.startswith("deploy: gets credentials but can run for a fork") for p in problems)
    assert any(p.startswith("sneaky: gets credentials but can run for a fork") for p in problems), "`|| true` routes around the guard"


# --- zizmor: GitHub Actions' static analyser, offline, exactly as `make lint` runs it. ---


def _zizmor_as_make_lint_runs_it() -> list[str]:
    """The zizmor command of the Makefile's lint target, with the venv's binary."""
    recipe = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    line = next(line.strip() for line in recipe.splitlines() if "/zizmor " in line)
    command = shlex.split(line.replace("$(BIN)/", ""))
    assert "--offline" in command, "`make lint` runs zizmor offline: it must work without the network"
    return [_tool("zizmor"), *command[1:]]


def _zizmor(*args: str, cwd: Path = ROOT) -> tuple[int, list[dict[str, Any]], str]:
    result = subprocess.run([*args, "--format=json"], capture_output=True, text=True, timeout=120, cwd=cwd)
    findings = json.loads(result.stdout) if result.stdout.strip() else []
    return result.returncode, findings, result.stderr


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    code, findings, stderr = _zizmor(*_zizmor_as_make_lint_runs_it())
    summary = [f"{f['ident']} at line {f['locations'][0]['concrete']['location']['start_point']['row'] + 1}: {f['desc']}" for f in findings]
    assert code == 0 and findings == [], "\n".join(summary) or stderr


def test_zizmor_flags_template_injection_and_an_action_pinned_to_a_tag(tmp_path: Path) -> None:
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text("""\
on: pull_request
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: echo "Thanks for ${{ github.event.pull_request.title }}"
""")
    command = [arg if arg != ".github/workflows/" else str(workflows) for arg in _zizmor_as_make_lint_runs_it()]
    code, findings, stderr = _zizmor(*command, cwd=tmp_path)
    found = {f["ident"] for f in findings}
    assert code != 0, "findings fail `make lint`"
    assert {"template-injection", "unpinned-uses"} <= found, f"zizmor found {sorted(found)}; {stderr}"
