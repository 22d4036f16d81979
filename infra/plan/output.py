"""Present a plan: the `dixi plan --json` contract object, or a readable rich tree.

The JSON shape is a contract other tools rely on (see shared/design.md):
project, stack, resources (type, name, custom, parent, inputs, dependencies,
protect, retainOnDelete), outputs, problems, cost. Resources are keyed by
(type, name), never by URN. Secret values print as "[secret]".
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from infra.plan.engine import SECRET_PLACEHOLDER, RecordedResource, Secret
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
        "protect": r.protect,
        "retainOnDelete": r.retain_on_delete,
    }


def to_json(plan: Plan) -> dict[str, Any]:
    recorded = plan.recorded
    return {
        "project": recorded.project,
        "stack": recorded.stack,
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

    roots = by_parent.get(None, [])
    custom = sum(1 for r in recorded.resources if r.custom)
    tree = Tree(f"[bold]{recorded.project}/{recorded.stack}[/]: {custom} resources")
    for root in roots:
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
    if plan.cost.unpriced:
        console.print("[yellow]Not priced:[/] " + ", ".join(f"{k.type} {k.name}" for k in plan.cost.unpriced))
