"""`dixi scan`: checkov's policies over the stacks' recorded plans, offline, folded into the plan's problems.

For each stack it writes the Terraform plan JSON (`infra.scan.tfplan`), the
Kubernetes objects (`infra.k8s.render`, one file per object, as the
`k8s-checkov` rule writes them) and the azure-native resources as an ARM
template (`infra.scan.arm`) into one folder per stack, runs checkov once
over all of them (`--framework terraform_plan kubernetes arm`, no platform key,
nothing downloaded; its start-up is seconds, so one process serves every
stack), and maps each result back to the stack and the plan resource.

Each failed check is an error problem under rule `checkov:<check id>`,
except those `checkov-skips.yaml` accepts for that stack (counted as
skipped). The skip list is judged as well (`infra.scan.skips`): its errors
are problems under rule `checkov-skips`. The plan's own `k8s-checkov`
findings are left out of a scan's problems: the scan reports the same
checks on the same objects under `checkov:<id>`.

Resources no framework reads (docker-build, Helm releases, provider
configurations) are listed per stack as unscanned, with the reason.
checkov not installed: the scan says so as an error; it never reports a
stack clean without having run. A list attribute whose Terraform name only
the SDK's snake_case gave (the vendored metadata did not confirm it; the
bridge pluralises some lists) is a warning, `scan-unconfirmed-names`: checkov
may not read it under that name.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from infra.checks import Problem, problem
from infra.k8s import object_checks, render
from infra.plan import stackfiles
from infra.plan.model import ResourceKey
from infra.plan.run import Plan
from infra.scan import skips as skip_list
from infra.scan.arm import PACKAGE as ARM_PACKAGE
from infra.scan.arm import ArmTemplate, arm_template
from infra.scan.tfplan import TerraformPlan, Unscanned, terraform_plan

PLAN_FILE: Final = "tfplan.json"
ARM_FILE: Final = "azure-template.json"
K8S_DIR: Final = "k8s"
FRAMEWORKS: Final = ("terraform_plan", "kubernetes", "arm")
CHECKOV_TIMEOUT_S: Final = 900
RULE_PREFIX: Final = "checkov:"
UNCONFIRMED_RULE: Final = "scan-unconfirmed-names"
# Plan rules whose findings the scan reports itself (same checks, same objects, same skip
# list): `dixi scan` plans without them rather than run checkov twice on the same objects.
PLAN_RULES_SUPERSEDED: Final = frozenset({object_checks.CHECKOV})


@dataclass(frozen=True)
class CheckResult:
    """One check on one resource: checkov's id and title, where, and whether it passed."""

    check_id: str
    title: str
    framework: str
    where: str  # a Terraform address, or a Kubernetes object's label
    resource: ResourceKey | None
    passed: bool


@dataclass
class StackScan:
    stack: str
    plan: Plan
    terraform: TerraformPlan
    manifests: list[render.Manifest]
    arm: ArmTemplate
    results: list[CheckResult] = field(default_factory=list)
    skipped: list[tuple[CheckResult, skip_list.Skip]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def unscanned(self) -> list[Unscanned]:
        # azure-native resources are the ARM template's to write or list.
        listed = [u for u in self.terraform.unscanned if u.resource.type.split(":", 1)[0] != ARM_PACKAGE]
        return listed + self.arm.unscanned

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> list[CheckResult]:
        return [r for r in self.results if r.passed]

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def summary(self) -> dict[str, int]:
        skipped = len(self.skipped)
        return {
            "resources": len(self.terraform.addresses) + len(self.manifests) + len(self.arm.addresses),
            "unscanned": len(self.unscanned),
            "checks": len(self.results),
            "passed": len(self.passed),
            "failed": len(self.failed) - skipped,
            "skipped": skipped,
        }


def _files(scan: StackScan) -> dict[str, str]:
    files = {}
    if scan.terraform.addresses:
        files[PLAN_FILE] = json.dumps(scan.terraform.document, indent=1)
    for index, manifest in enumerate(scan.manifests):
        files[f"{K8S_DIR}/{object_checks.file_name(index, manifest)}"] = render.dump(
            [manifest.body]
        )
    if scan.arm.addresses:
        files[ARM_FILE] = json.dumps(scan.arm.document, indent=1)
    return files


def run_checkov(binary: str, folders: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """checkov's results (passed and failed) over `folders` (stack -> relative path -> text), each tagged with its stack and file.

    Raises RuntimeError when checkov itself fails (not when checks fail).
    """
    with tempfile.TemporaryDirectory(prefix="dixi-scan-") as tmp:
        for stack, files in folders.items():
            for relative, text in files.items():
                path = Path(tmp) / stack / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        command = [binary, "-d", tmp, "--framework", *FRAMEWORKS, "-o", "json", "--skip-download"]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CHECKOV_TIMEOUT_S,
            env=object_checks.offline_env(),
            cwd=tmp,
            check=False,
        )
    if done.returncode not in (0, 1):
        raise RuntimeError(
            f"checkov exited {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}"
        )
    try:
        reports = list(object_checks.reports(done.stdout)) if done.stdout.strip() else []
    except json.JSONDecodeError:
        raise RuntimeError(
            f"checkov printed no JSON: {(done.stderr or done.stdout).strip()[-400:]}"
        ) from None
    found = []
    for report in reports:
        framework = str(report.get("check_type") or "")
        results = report.get("results") or {}
        parsing = results.get("parsing_errors") or []
        if parsing:
            raise RuntimeError(f"checkov could not parse {', '.join(map(str, parsing))}")
        for passed, key in ((True, "passed_checks"), (False, "failed_checks")):
            for item in results.get(key) or []:
                path = Path(str(item.get("file_path") or "").lstrip("/"))
                found.append(
                    {
                        "framework": framework,
                        "passed": passed,
                        "stack": path.parts[0] if path.parts else "",
                        "file": str(Path(*path.parts[1:])) if len(path.parts) > 1 else "",
                        **item,
                    }
                )
    return found


def _result(scan: StackScan, item: dict[str, Any]) -> CheckResult:
    framework = str(item["framework"])
    check_id = str(item.get("check_id") or "")
    title = str(item.get("check_name") or "")
    if framework == "kubernetes":
        by_file = {
            f"{K8S_DIR}/{object_checks.file_name(i, m)}": m for i, m in enumerate(scan.manifests)
        }
        manifest = by_file.get(str(item["file"]))
        where = manifest.label if manifest else str(item.get("resource") or "")
        return CheckResult(
            check_id,
            title,
            framework,
            where,
            manifest.resource.key if manifest else None,
            bool(item["passed"]),
        )
    address = str(item.get("resource") or "")
    addresses = scan.arm.addresses if framework == "arm" else scan.terraform.addresses
    return CheckResult(
        check_id,
        title,
        framework,
        address,
        addresses.get(address),
        bool(item["passed"]),
    )


def scan_plans(plans: Iterable[Plan], root: Path) -> list[StackScan]:
    """Scan each plan. The skip list is judged for the stacks scanned: an entry is stale only where it was looked at."""
    scans = [
        StackScan(
            p.recorded.stack,
            p,
            terraform_plan(p.recorded),
            render.manifests(p.recorded),
            arm_template(p.recorded),
        )
        for p in plans
    ]
    skips = skip_list.load(root)
    binary = object_checks.checkov_binary(root.resolve())
    if binary is None:
        for scan in scans:
            scan.problems = [p for p in scan.plan.problems if p.rule not in PLAN_RULES_SUPERSEDED]
            scan.problems.append(
                problem(
                    "checkov",
                    "error",
                    None,
                    f"not scanned: checkov not found (make .venv-checkov, or set {object_checks.CHECKOV_ENV})",
                )
            )
        return scans
    folders = {scan.stack: _files(scan) for scan in scans}
    try:
        items = run_checkov(binary, {stack: files for stack, files in folders.items() if files})
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        for scan in scans:
            scan.problems = [p for p in scan.plan.problems if p.rule not in PLAN_RULES_SUPERSEDED]
            scan.problems.append(problem("checkov", "error", None, f"not scanned: {error}"))
        return scans
    by_stack = {scan.stack: scan for scan in scans}
    for item in items:
        owner = by_stack.get(str(item["stack"]))
        if owner is not None:
            owner.results.append(_result(owner, item))
    failures: set[tuple[str, str, str]] = set()
    for scan in scans:
        scan.results.sort(key=lambda r: (r.check_id, r.where, r.passed))
        scan.problems = [p for p in scan.plan.problems if p.rule not in PLAN_RULES_SUPERSEDED]
        for result in scan.failed:
            failures.add((result.check_id, scan.stack, result.where))
            accepted = skips.match(result.check_id, scan.stack, result.where)
            if accepted is not None:
                scan.skipped.append((result, accepted))
                continue
            scan.problems.append(
                Problem(
                    f"{RULE_PREFIX}{result.check_id}",
                    "error",
                    result.resource,
                    f"{result.check_id} fails on {result.where}: {result.title}",
                )
            )
    for scan in scans:
        if scan.terraform.unconfirmed:
            names = ", ".join(scan.terraform.unconfirmed)
            scan.problems.append(Problem(UNCONFIRMED_RULE, "warning", None, f"list attribute(s) written under the SDK's snake_case name, which the vendored bridge metadata does not confirm (the bridge pluralises some lists, so Terraform's name may differ and checkov may not read them): {names}; add them to scripts/vendor-bridge-metadata.py"))
    known = stackfiles.stack_names(root)
    lines = skip_list.stale(skips, [s.stack for s in scans], failures, known)
    for line in lines:
        for scan in scans[:1]:
            scan.problems.append(problem(skip_list.RULE, "error", None, line))
    return scans
