"""Present a scan: `dixi scan --json` (the plan's JSON with the scan's problems and a `scan` section) and the readable table.

The JSON is the `dixi plan --json` contract (`infra/plan/plan.schema.json`)
with `problems` replaced by the scan's (the plan's own, the `checkov:<id>`
failures, the skip list's), and one more key, `scan`: its counts, the checks
skipped with their reasons, and the resources no framework read, with why.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from infra.plan.output import to_json
from infra.scan.run import StackScan


def scan_json(scan: StackScan) -> dict[str, Any]:
    document = to_json(scan.plan)
    document["problems"] = [p.as_json() for p in scan.problems]
    document["summary"]["errors"] = sum(1 for p in scan.problems if p.severity == "error")
    document["summary"]["warnings"] = sum(1 for p in scan.problems if p.severity == "warning")
    document["scan"] = {
        **scan.summary(),
        "skippedChecks": [
            {"check": r.check_id, "where": r.where, "reason": skip.reason}
            for r, skip in scan.skipped
        ],
        "unscanned": [{**u.resource.as_json(), "reason": u.reason} for u in scan.unscanned],
    }
    return document


def render_scans(scans: list[StackScan], console: Console) -> None:
    for scan in scans:
        problems = [
            p for p in scan.problems if p.severity == "error" or not p.rule.startswith("checkov")
        ]
        if problems:
            table = Table(title=f"{scan.stack}: problems", title_justify="left")
            for column in ("severity", "rule", "resource", "message"):
                table.add_column(column, overflow="fold")
            for p in problems:
                colour = "red" if p.severity == "error" else "yellow"
                table.add_row(
                    f"[{colour}]{p.severity}[/]",
                    p.rule,
                    f"{p.resource.type} {p.resource.name}" if p.resource else "",
                    p.message,
                )
            console.print(table)
        if scan.skipped:
            skipped = Counter((r.check_id, skip.reason) for r, skip in scan.skipped)
            console.print(f"[dim]{scan.stack}: skipped (checkov-skips.yaml):[/]")
            for (check, reason), count in sorted(skipped.items()):
                console.print(f"[dim]  {check} x{count}: {reason}[/]")
        if scan.unscanned:
            reasons = Counter(u.reason for u in scan.unscanned)
            console.print(f"[dim]{scan.stack}: not scanned:[/]")
            for reason, count in sorted(reasons.items()):
                console.print(f"[dim]  {count} x {reason}[/]")
    table = Table(
        title="checkov, offline: checks are (check, resource) pairs; scanned/unscanned count resources",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for column in (
        "stack",
        "scanned",
        "unscanned",
        "checks",
        "passed",
        "failed",
        "skipped",
        "errors",
    ):
        table.add_column(column, justify="left" if column == "stack" else "right", no_wrap=True)
    for scan in scans:
        row = scan.summary()
        errors = sum(1 for p in scan.problems if p.severity == "error")
        table.add_row(
            scan.stack, str(row["resources"]), str(row["unscanned"]), str(row["checks"]), str(row["passed"]),
            f"[red]{row['failed']}[/]" if row["failed"] else "0", str(row["skipped"]), f"[red]{errors}[/]" if errors else "0",
        )  # fmt: skip
    console.print(table)
