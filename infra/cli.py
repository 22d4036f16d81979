"""The `dixi` command: `dixi plan STACK [--json | --format terraform-plan]`, `dixi plan --all [--json]`, `dixi scan STACK | --all [--json]`, `dixi render compose [--check]`, `dixi render k8s STACK [--out DIR]`.

Plans run offline (no Pulumi CLI, no cloud, no credentials). Exit codes: 0 no
error problems, 1 error problems, 2 bad configuration or usage (one line per
bad key on stderr, no traceback). `dixi plan --all` ends with one table
comparing the stacks; with `--json` each plan carries the same row as its
`summary`.

`dixi plan STACK --format terraform-plan` prints the stack as Terraform's
plan JSON (format 1.2, secrets as placeholders; `infra.scan.tfplan`).

`dixi scan` plans the stacks and runs checkov on them offline
(`infra.scan.run`): the plan's problems plus a `checkov:<id>` error for each
failed check that `checkov-skips.yaml` does not accept. Exit 1 on any error.

`dixi render compose` writes `app/docker-compose.yml` from the app spec;
`--check` exits 1 when the committed file differs from what it would write.

`dixi render k8s STACK` plans the stack and prints its Kubernetes objects as
one multi-document YAML (secrets as placeholders; see `infra.k8s.render`);
with `--out DIR` it writes them and the list of Helm releases into DIR. A
stack without Kubernetes objects exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from infra.config import ConfigError
from infra.plan import stackfiles
from infra.plan.output import render, render_comparison, to_json
from infra.plan.run import ROOT, Plan, plan_stack

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"dixi: {message} (see dixi --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dixi", description="Dixi Deploy: plan the Pulumi program offline.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="run the program under mocks and print resources, problems and cost")
    plan.add_argument("stack", nargs="?", help="stack name (Pulumi.<stack>.yaml)")
    plan.add_argument("--all", action="store_true", help="plan every Pulumi.<stack>.yaml and compare them")
    plan.add_argument("--json", action="store_true", help="print the JSON contract instead of the tree")
    plan.add_argument("--format", choices=["tree", "json", "terraform-plan"], help="tree (default), json (= --json), or terraform-plan: the stack as Terraform plan JSON for checkov and other Terraform tools")
    plan.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    scan = sub.add_parser("scan", help="run checkov's policies on stacks offline (terraform_plan and kubernetes frameworks)")
    scan.add_argument("stack", nargs="?", help="stack name (Pulumi.<stack>.yaml)")
    scan.add_argument("--all", action="store_true", help="scan every Pulumi.<stack>.yaml (every skip-list entry is then judged)")
    scan.add_argument("--json", action="store_true", help="print each plan's JSON with the scan's problems and a `scan` section")
    scan.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    render_cmd = sub.add_parser("render", help="write a file generated from the app spec, or a stack's Kubernetes objects")
    render_cmd.add_argument("what", choices=["compose", "k8s"], help="compose: app/docker-compose.yml; k8s: a stack's Kubernetes objects as YAML")
    render_cmd.add_argument("stack", nargs="?", help="k8s: the stack to render (Pulumi.<stack>.yaml)")
    render_cmd.add_argument("--check", action="store_true", help="compose: exit 1 if the committed file is not what would be written")
    render_cmd.add_argument("--out", type=Path, help="k8s: write objects.yaml and helm-releases.yaml into this folder instead of printing the objects")
    render_cmd.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    return parser


def _plans(args: argparse.Namespace, skip_rules: frozenset[str] = frozenset()) -> list[Plan] | None:
    """The plans `args` names (one stack or --all); None after saying on stderr what is wrong."""
    root: Path = args.root
    if args.all == bool(args.stack):
        stacks = ", ".join(stackfiles.stack_names(root)) or "none"
        print(f"dixi: name one stack or --all (stacks here: {stacks})", file=sys.stderr)
        return None
    names = stackfiles.stack_names(root) if args.all else [args.stack]
    plans: list[Plan] = []
    for name in names:
        try:
            plans.append(plan_stack(name, root, skip_rules=skip_rules))
        except ConfigError as error:
            for line in error.lines:
                print(line, file=sys.stderr)
            return None
    return plans


def _plan(args: argparse.Namespace) -> int:
    if args.format == "json":
        args.json = True
    if args.format == "terraform-plan" and (args.all or args.json):
        print("dixi: --format terraform-plan writes one stack's plan: name one STACK, without --all or --json", file=sys.stderr)
        return EXIT_USAGE
    plans = _plans(args)
    if plans is None:
        return EXIT_USAGE
    if args.format == "terraform-plan":
        from infra.scan.tfplan import terraform_plan

        converted = terraform_plan(plans[0].recorded)
        json.dump(converted.document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        for item in converted.unscanned:
            print(f"dixi: not written (no Terraform resource): {item.resource}: {item.reason}", file=sys.stderr)
        return EXIT_OK
    if args.json:
        documents = [to_json(p) for p in plans]
        json.dump(documents if args.all else documents[0], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        console = Console()
        for plan in plans:
            render(plan, console)
        if args.all:
            render_comparison(plans, console)
    return EXIT_PROBLEMS if any(p.has_errors for p in plans) else EXIT_OK


def _scan(args: argparse.Namespace) -> int:
    from infra.scan.report import render_scans, scan_json
    from infra.scan.run import PLAN_RULES_SUPERSEDED, scan_plans

    plans = _plans(args, PLAN_RULES_SUPERSEDED)
    if plans is None:
        return EXIT_USAGE
    scans = scan_plans(plans, args.root)
    if args.json:
        documents = [scan_json(s) for s in scans]
        json.dump(documents if args.all else documents[0], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_scans(scans, Console())
    return EXIT_PROBLEMS if any(s.has_errors for s in scans) else EXIT_OK


def _render_k8s(args: argparse.Namespace) -> int:
    from infra.k8s import render as k8s_render

    if not args.stack or args.check:
        print(f"dixi: render k8s takes one STACK and no --check (stacks here: {', '.join(stackfiles.stack_names(args.root)) or 'none'})", file=sys.stderr)
        return EXIT_USAGE
    try:
        recorded = plan_stack(args.stack, args.root).recorded
    except ConfigError as error:
        for line in error.lines:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    if not k8s_render.manifests(recorded):
        print(f"dixi: stack {args.stack} has no Kubernetes objects to render", file=sys.stderr)
        return EXIT_USAGE
    if args.out is None:
        sys.stdout.write(k8s_render.objects_yaml(recorded))
        return EXIT_OK
    for path in k8s_render.write(recorded, args.out):
        print(f"wrote {path}")
    return EXIT_OK


def _render(args: argparse.Namespace) -> int:
    from infra.common import compose

    if args.what == "k8s":
        return _render_k8s(args)
    if args.stack or args.out:
        print("dixi: render compose takes no STACK and no --out", file=sys.stderr)
        return EXIT_USAGE

    target = args.root / compose.LOCAL_FILE
    wanted = compose.dump_local()
    if args.check:
        if not target.is_file() or target.read_text() != wanted:
            print(f"dixi: {compose.LOCAL_FILE} is not what infra/spec.py renders; run `dixi render compose`", file=sys.stderr)
            return EXIT_PROBLEMS
        return EXIT_OK
    target.write_text(wanted)
    print(f"wrote {compose.LOCAL_FILE}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "scan":
        return _scan(args)
    return _plan(args) if args.command == "plan" else _render(args)


if __name__ == "__main__":
    sys.exit(main())
