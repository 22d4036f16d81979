"""Present a plan: the `dixi plan --json` contract object, a readable rich tree, and the cross-stack table.

The JSON shape is a contract other tools rely on (see shared/design.md and
`plan.schema.json`): project, stack, summary, resources (type, name, custom,
parent, inputs, dependencies, dependsOn, protect, retainOnDelete,
deleteBeforeReplace, replaceOnChanges, ignoreChanges), outputs, problems,
cost. Resources are keyed by (type, name), never by URN. Secret values print
as "[secret]".
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from infra import targets
from infra.plan.model import SECRET_PLACEHOLDER, RecordedResource, Secret
from infra.plan.run import Plan


def _public(value: Any) -> Any:
    if isinstance(value, Secret):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _resource_json(r: RecordedResource) -> dict[str, Any]:
    return {
        "type": r.type,
        "name": r.name,
        "custom": r.custom,
        "parent": r.parent.as_json() if r.parent else None,
        "inputs": _public(r.inputs),
        "dependencies": [d.as_json() for d in r.dependencies],
        "dependsOn": [d.as_json() for d in r.depends_on],
        "protect": r.protect,
        "retainOnDelete": r.retain_on_delete,
        "deleteBeforeReplace": r.delete_before_replace,
        "replaceOnChanges": list(r.replace_on_changes),
        "ignoreChanges": list(r.ignore_changes),
    }


def summary(plan: Plan) -> dict[str, Any]:
    """The row of the cross-stack comparison: where it runs, how big, how healthy, what it costs."""
    recorded = plan.recorded
    kind = str(getattr(recorded.config, "stack_kind", ""))
    entry = targets.KINDS.get(kind)
    return {
        "kind": kind,
        "cloud": targets.CLOUDS[entry.cloud].label if entry else "",
        "location": str(getattr(recorded.config, "location", "")),
        "resources": sum(1 for r in recorded.resources if r.custom),
        "errors": plan.count("error"),
        "warnings": plan.count("warning"),
        "gpus": plan.cost.gpus,
        "monthly": plan.cost.monthly,
        "seed_monthly": plan.cost.seed_monthly,
    }


def to_json(plan: Plan) -> dict[str, Any]:
    recorded = plan.recorded
    return {
        "project": recorded.project,
        "stack": recorded.stack,
        "summary": summary(plan),
        # Registration order varies run to run; sorted, two plans diff cleanly.
        "resources": [_resource_json(r) for r in sorted(recorded.resources, key=lambda r: (r.type, r.name))],
        "outputs": _public(recorded.outputs),
        "problems": [p.as_json() for p in plan.problems],
        "cost": plan.cost.as_json(),
    }


def _label(r: RecordedResource) -> str:
    flags = []
    if r.retain_on_delete:
        flags.append("[green]kept on destroy[/]")
    if r.protect:
        flags.append("[green]protected[/]")
    if r.delete_before_replace:
        flags.append("[cyan]delete before replace[/]")
    kind = "[bold]" if not r.custom else ""
    end = "[/]" if kind else ""
    return f"{kind}{r.name}{end} [dim]{r.type}[/]" + (" " + " ".join(flags) if flags else "")


def render(plan: Plan, console: Console) -> None:
    recorded = plan.recorded
    by_parent: dict[Any, list[RecordedResource]] = {}
    for r in recorded.resources:
        by_parent.setdefault(r.parent, []).append(r)

    def grow(node: Tree, resource: RecordedResource) -> None:
        for child in sorted(by_parent.get(resource.key, []), key=lambda c: (c.custom, c.type, c.name)):
            grow(node.add(_label(child)), child)

    custom = sum(1 for r in recorded.resources if r.custom)
    tree = Tree(f"[bold]{recorded.project}/{recorded.stack}[/]: {custom} resources")
    for root in by_parent.get(None, []):
        grow(tree.add(_label(root)), root)
    console.print(tree)

    if recorded.outputs:
        outputs = Table(title="Outputs", show_header=False, title_justify="left")
        for key, value in sorted(recorded.outputs.items()):
            outputs.add_row(key, str(_public(value)))
        console.print(outputs)

    if plan.problems:
        problems = Table(title="Problems", title_justify="left")
        for column in ("severity", "rule", "resource", "message"):
            problems.add_column(column, overflow="fold")
        for p in plan.problems:
            colour = "red" if p.severity == "error" else "yellow"
            where = f"{p.resource.type} {p.resource.name}" if p.resource else ""
            problems.add_row(f"[{colour}]{p.severity}[/]", p.rule, where, p.message)
        console.print(problems)
    else:
        console.print("[green]No problems found.[/]")

    cost = Table(title=f"Monthly cost (USD, 730 h/month, prices as of {plan.cost.as_json()['prices_as_of']})", title_justify="left")
    cost.add_column("resource")
    cost.add_column("billed as")
    cost.add_column("USD/month", justify="right")
    for item in plan.cost.items:
        cost.add_row(item.resource.name, item.sku, f"{item.monthly:,.2f}")
    cost.add_row("[bold]total[/]", "", f"[bold]{plan.cost.monthly:,.2f}[/]")
    if plan.cost.seed_monthly is not None:
        cost.add_row("seed's estimate", "shared/seed/deployment-architecture.md", f"~{plan.cost.seed_monthly:,.0f}")
    console.print(cost)
    wanted = plan.cost.requests
    if wanted is not None:
        console.print(
            f"[bold]Cluster requests[/] (at the most pods): {wanted['pods']} pods, {wanted['cpu_cores']:g} CPU cores, "
            f"{wanted['memory_gib']:g} GiB memory, {wanted['gpus']} GPU(s)"
            + (f"; not counted: {', '.join(wanted['left_out'])}" if wanted["left_out"] else "")
        )
    if plan.cost.unpriced:
        console.print("[yellow]Not priced:[/] " + ", ".join(f"{k.type} {k.name}" for k in plan.cost.unpriced))


def render_comparison(plans: list[Plan], console: Console) -> None:
    """One row per stack, cheapest first: the question users of multi-cloud tools ask first is where it is cheapest."""
    table = Table(title="Stacks compared, cheapest first (USD a month at 730 h, or a cluster's requests where the stack brings no machines; seed: the seed's figure for that cloud)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    # Short headers: the table fits 80 columns for a handful of stacks.
    for column, justify in (("stack", "left"), ("kind", "left"), ("cloud, region", "left"), ("resources", "right"),
                            ("err/warn", "right"), ("GPUs", "right"), ("USD/mo", "right"), ("seed", "right")):  # fmt: skip
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for plan in sorted(plans, key=lambda p: p.cost.monthly):
        row = summary(plan)
        seed = row["seed_monthly"]
        problems = f"{row['errors']}/{row['warnings']}"
        wanted = plan.cost.requests
        # A stack with no bill of its own (a cluster you already have) shows what it asks of the cluster.
        monthly = f"{row['monthly']:,.2f}" if plan.cost.items or wanted is None else f"{wanted['cpu_cores']:g}cpu {wanted['memory_gib']:.1f}Gi"
        table.add_row(
            plan.recorded.stack, row["kind"], f"{row['cloud']} {row['location']}".strip(), str(row["resources"]),
            f"[red]{problems}[/]" if row["errors"] else problems, str(row["gpus"]),
            monthly, f"~{seed:,.0f}" if seed is not None else "-",
        )  # fmt: skip
    console.print(table)
