#!/usr/bin/env python3
"""Keep pyproject.toml's `app-test` dependency group equal to the app's requirements files.

The app's containers install app/<service>/requirements.txt with pip; the tests
install app/requirements-test.txt, which includes them with `-r`. uv locks only
what pyproject.toml lists, so the same pins are listed there too, in the
`app-test` dependency group, and uv.lock pins them (and everything they pull
in) for every install. This script is the one place that compares the two.

    python scripts/app-requirements.py           # exit 1 and say what differs
    python scripts/app-requirements.py --write   # rewrite the group from the files

`make lint` runs the check; `make lock` runs --write, then `uv lock`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
REQUIREMENTS = ROOT / "app" / "requirements-test.txt"
GROUP = "app-test"
# name, optional [extras], the rest (version specifier and markers)
LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
GROUP_BLOCK = re.compile(rf"^{re.escape(GROUP)} = \[\n(?:.*\n)*?\]\n", re.MULTILINE)


def normalized(requirement: str) -> tuple[str, str]:
    """(PEP 503 name, the requirement as one canonical string)."""
    match = LINE.match(requirement.strip())
    if not match:
        raise ValueError(f"cannot read requirement {requirement!r}")
    name, extras, rest = match.groups()
    key = re.sub(r"[-_.]+", "-", name).lower()
    extras = "[" + ",".join(sorted(e.strip().lower() for e in extras[1:-1].split(","))) + "]" if extras else ""
    specifier, _, marker = rest.partition(";")
    marker = "; " + " ".join(marker.split()) if marker.strip() else ""
    return key, f"{key}{extras}{specifier.replace(' ', '')}{marker}"


def from_files(path: Path, seen: set[Path] | None = None) -> dict[str, str]:
    """Every requirement in a requirements file and the files it includes with -r."""
    seen = set() if seen is None else seen
    if path in seen:
        return {}
    seen.add(path)
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"^(?:-r|--requirement)\s*=?\s*(\S+)$", line)
        if include:
            items = list(from_files((path.parent / include.group(1)).resolve(), seen).items())
        elif line.startswith("-"):
            raise ValueError(f"{path.relative_to(ROOT)}: uv cannot lock the option {line!r} from pyproject.toml")
        else:
            items = [normalized(line)]
        for key, requirement in items:
            if found.get(key, requirement) != requirement:
                raise ValueError(f"{path.relative_to(ROOT)}: {key} is pinned twice, as {found[key]} and {requirement}")
            found[key] = requirement
    return found


def from_pyproject() -> dict[str, str]:
    groups = tomllib.loads(PYPROJECT.read_text()).get("dependency-groups", {})
    return dict(normalized(r) for r in groups.get(GROUP, []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite pyproject.toml's {GROUP} group from the files")
    args = parser.parse_args()
    try:
        wanted = from_files(REQUIREMENTS)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    if args.write:
        text = PYPROJECT.read_text()
        block = f"{GROUP} = [\n" + "".join(f'    "{wanted[k]}",\n' for k in sorted(wanted)) + "]\n"
        if not GROUP_BLOCK.search(text):
            print(f"pyproject.toml has no `{GROUP} = [` block under [dependency-groups] to rewrite", file=sys.stderr)
            return 1
        PYPROJECT.write_text(GROUP_BLOCK.sub(lambda _: block, text, count=1))
        print(f"pyproject.toml: {GROUP} now lists the {len(wanted)} requirements of app/requirements-test.txt")
        return 0
    listed = from_pyproject()
    differences = [f"  {wanted[k]} is in the app's requirements, not in the group" for k in sorted(wanted.keys() - listed.keys())]
    differences += [f"  {listed[k]} is in the group, not in the app's requirements" for k in sorted(listed.keys() - wanted.keys())]
    differences += [f"  {k}: the app's requirements say {wanted[k]}, the group {listed[k]}" for k in sorted(wanted.keys() & listed.keys()) if wanted[k] != listed[k]]
    if differences:
        print(f"pyproject.toml's {GROUP} dependency group and app/requirements-test.txt (with its -r files) differ:", file=sys.stderr)
        print("\n".join(differences), file=sys.stderr)
        print("Run `make lock` to copy the app's pins into the group and re-lock.", file=sys.stderr)
        return 1
    print(f"app requirements: the {GROUP} group matches app/requirements-test.txt ({len(wanted)} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
