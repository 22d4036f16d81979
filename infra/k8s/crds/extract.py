"""Re-vendor the CRD schemas in this folder: `python -m infra.k8s.crds.extract CRD.yaml...`.

Reads upstream CustomResourceDefinition YAML files and writes, for each, a
`<group>_<plural>.json` beside this file: group, kind, scope and, per served
version, its `openAPIV3Schema` with the `description` texts removed (they
are most of the bytes and validate nothing). Lines of Helm templating
(`{{ ... }}`), which cert-manager's chart copies carry, are dropped first.
See README.md for the sources and versions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def strip_descriptions(schema: Any) -> Any:
    """`schema` without `description` keywords; a property named `description` is kept."""
    if isinstance(schema, list):
        return [strip_descriptions(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: strip_descriptions(s) for name, s in value.items()}
        else:
            out[key] = strip_descriptions(value)
    return out


def extract(text: str) -> dict[str, Any]:
    text = "\n".join(line for line in text.splitlines() if "{{" not in line)
    crd = next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "CustomResourceDefinition")
    spec = crd["spec"]
    return {
        "source": crd["metadata"].get("annotations", {}),
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "plural": spec["names"]["plural"],
        "scope": spec["scope"],
        "versions": {v["name"]: strip_descriptions(v["schema"]["openAPIV3Schema"]) for v in spec["versions"] if v.get("served", True)},
    }


def main(paths: list[str]) -> None:
    for path in paths:
        found = extract(Path(path).read_text())
        target = HERE / f"{found['group']}_{found['plural']}.json"
        target.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"wrote {target.name}: {found['kind']} {', '.join(found['versions'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
