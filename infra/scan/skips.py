"""The project's checkov skip list, `checkov-skips.yaml`: which failing checks are accepted, on which stacks, and why.

Each entry names one check id, the stacks it is accepted on, optionally one
resource (a Terraform address such as `aws_lb.dixi-alb`, or a Kubernetes
object as `dixi render k8s` labels it: `Deployment dixi/frontend`), and a
one-line reason a reviewer would accept. A skipped check still runs; its
failure is reported as skipped, never as a pass.

The list is judged too (`problems`), so it cannot rot:
- an entry without a reason, with a reason over one line, or naming a stack
  that has no `Pulumi.<stack>.yaml`, is an error;
- an entry whose check no longer fails where it says (on a stack that was
  scanned) is an error: remove it.

`dixi scan` reads it for the `checkov:<id>` findings, and the plan's
`k8s-checkov` rule for its Kubernetes findings, so one list serves both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

FILE: Final = "checkov-skips.yaml"
RULE: Final = "checkov-skips"

CheckId = Annotated[str, StringConstraints(pattern=r"^CKV2?_[A-Z0-9]+_[0-9]+$")]


class Skip(BaseModel):
    """One accepted failure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: CheckId
    stacks: tuple[str, ...] = Field(min_length=1)
    resource: str | None = None
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, pattern=r"^[^\n]+$")
    ]

    def covers(self, check: str, stack: str, resource: str) -> bool:
        return (
            self.check == check
            and stack in self.stacks
            and (self.resource is None or self.resource == resource)
        )


class SkipFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skips: list[Skip] = Field(default_factory=list)


@dataclass(frozen=True)
class SkipList:
    skips: tuple[Skip, ...]
    errors: tuple[str, ...]  # entries that could not be read, one line each

    def match(self, check: str, stack: str, resource: str) -> Skip | None:
        for skip in self.skips:
            if skip.covers(check, stack, resource):
                return skip
        return None


def _describe(error: ValidationError, raw: object) -> list[str]:
    lines = []
    for item in error.errors():
        location = item["loc"]
        where = (
            f"skips[{location[1]}]" if len(location) > 1 and location[0] == "skips" else "the file"
        )
        entry = (
            raw["skips"][location[1]]
            if isinstance(raw, dict)
            and where != "the file"
            and isinstance(raw.get("skips"), list)
            and isinstance(location[1], int)
            and location[1] < len(raw["skips"])
            else None
        )
        check = f" ({entry.get('check')})" if isinstance(entry, dict) and entry.get("check") else ""
        field = ".".join(str(p) for p in location[2:]) or "(the entry)"
        if item["type"] == "missing" and field == "reason":
            message = "has no reason: say in one line why the failure is accepted"
        elif field == "reason":
            message = "reason must be one line of at least 10 characters"
        else:
            message = f"{field}: {item['msg']}"
        lines.append(f"{FILE}: {where}{check} {message}")
    return lines


def parse(text: str) -> SkipList:
    """The skip list in `text`; what does not validate is in `errors`, the rest is kept."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        return SkipList((), (f"{FILE} is not valid YAML: {str(error).splitlines()[0]}",))
    if not isinstance(raw, dict) or not isinstance(raw.get("skips", []), list):
        return SkipList((), (f"{FILE} must be a mapping with a `skips` list",))
    kept: list[Skip] = []
    errors: list[str] = []
    for index, entry in enumerate(raw.get("skips", [])):
        try:
            kept.append(SkipFile.model_validate({"skips": [entry]}).skips[0])
        except ValidationError as error:
            for line in _describe(error, {"skips": [entry]}):
                errors.append(line.replace("skips[0]", f"skips[{index}]"))
    return SkipList(tuple(kept), tuple(errors))


@cache
def _load(path: Path, mtime: float) -> SkipList:
    return parse(path.read_text())


def load(root: Path) -> SkipList:
    """`<root>/checkov-skips.yaml`, or an empty list when there is none."""
    path = root / FILE
    if not path.is_file():
        return SkipList((), ())
    return _load(path, path.stat().st_mtime)


def stale(
    skips: SkipList,
    scanned: Iterable[str],
    failed: set[tuple[str, str, str]],
    known_stacks: Iterable[str],
) -> list[str]:
    """The entries that no longer hold: unknown stacks, and checks that did not fail where they say.

    `failed` holds (check, stack, resource) for every failure of the scanned stacks.
    """
    scanned = set(scanned)
    known = set(known_stacks)
    lines = list(skips.errors)
    for skip in skips.skips:
        where = f"{skip.check}" + (f" on {skip.resource}" if skip.resource else "")
        for stack in skip.stacks:
            if stack not in known:
                lines.append(
                    f"{FILE}: {where} names stack {stack!r}, which has no Pulumi.{stack}.yaml (stacks: {', '.join(sorted(known))})"
                )
            elif stack in scanned and not any(
                skip.covers(c, s, r) for c, s, r in failed if s == stack
            ):
                lines.append(
                    f"{FILE}: {where} no longer fails on stack {stack}: remove it from the entry"
                )
    return lines
