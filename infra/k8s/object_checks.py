"""Kubernetes object rules: what the API server would refuse at `pulumi up`, and checkov's findings, on the rendered objects.

Under mocks the kubernetes provider sends nothing to a cluster, so nothing
checks a manifest until `pulumi up`. These rules read the objects as
`infra.k8s.render` writes them (secrets as placeholders, whole floats as
ints); Helm releases are not rendered (no chart can be downloaded offline),
so what a chart installs is judged by nobody here.

Rules:
- `k8s-schema`: every object of a built-in kind validates against the
  Kubernetes OpenAPI schema of `KUBERNETES_VERSION`, strict (a field the
  schema does not know is an error: the API server would drop it or, with
  field validation, refuse it), with kubernetes-validate's schemas. Objects
  of a kind it has no schema for are left to `k8s-crd-schema`.
  kubernetes-validate not installed: one warning that the rule could not judge.
- `k8s-crd-schema`: Gateway API (standard channel, v1.4.1) and cert-manager
  (v1.21.1) objects validate against the `openAPIV3Schema` of their published
  CRDs, vendored in `infra/k8s/crds/`, with `jsonschema`. A field the schema
  does not declare is an error where the schema does not keep unknown fields
  (`x-kubernetes-preserve-unknown-fields`): a structural schema makes the API
  server prune it silently, so the object would not do what the program says.
  `nullable` is honoured; `format`s and the CEL rules
  (`x-kubernetes-validations`) are NOT checked, nor the CRDs' defaults. Any
  other custom kind, or a version the vendored CRD does not serve, is a
  warning "not validated: no schema for <kind>".
- `k8s-checkov`: checkov (`--framework kubernetes`, offline) on the rendered
  objects, one file per object; each failed check is an error naming the
  check, the object and checkov's title, except the failures the project's
  skip list (`checkov-skips.yaml`, `infra.scan.skips`) accepts for this stack
  and object, each with its reason (dropped, never reported as passes).
  `dixi scan` reports the same checks under `checkov:<id>`. checkov lives in its own
  virtualenv (`make .venv-checkov`: it pins boto3 versions the project does
  not use): `$DIXI_CHECKOV`, else `<root>/.venv-checkov/bin/checkov`, else
  `checkov` on PATH; none: a warning that the rule could not judge. Results
  are cached in-process by the hash of the rendered objects (a run takes
  seconds; the tests plan each stack several times).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from infra.checks import Problem, problem, rule
from infra.k8s import render
from infra.plan.model import RecordedPlan
from infra.scan import skips as skip_list

# The oldest minor AKS still supports on 2026-11-30: 1.34 (AKS GA Nov 2025, end of
# life "Nov 2026", i.e. Nov 30, 2026; 1.33 ends Jul 2026). Source: the AKS release
# calendar, https://learn.microsoft.com/azure/aks/supported-kubernetes-versions
# (MicrosoftDocs/azure-aks-docs, articles/aks/supported-kubernetes-versions.md).
# kubernetes-validate 1.37 ships schemas for 1.25 to 1.37. Objects valid for 1.34
# are valid on every later minor that still serves their API versions.
KUBERNETES_VERSION: Final = "1.34.0"
CRD_DIR: Final = Path(__file__).resolve().parent / "crds"
CHECKOV_ENV: Final = "DIXI_CHECKOV"
CHECKOV_VENV: Final = ".venv-checkov/bin/checkov"
CHECKOV_TIMEOUT_S: Final = 600
MAX_ERRORS_PER_OBJECT: Final = 8

SCHEMA, CRD_SCHEMA, CHECKOV = "k8s-schema", "k8s-crd-schema", "k8s-checkov"


def _path(parts: Any) -> str:
    """A jsonschema error path as `spec.rules[0].backendRefs[1].port`."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the object)"


def _errors(validator: Any, body: dict[str, Any]) -> list[str]:
    found = sorted(validator.iter_errors(body), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    lines = [f"{_path(e.absolute_path)}: {e.message}" for e in found]
    unique = list(dict.fromkeys(lines))
    if len(unique) > MAX_ERRORS_PER_OBJECT:
        unique = [*unique[:MAX_ERRORS_PER_OBJECT], f"... and {len(unique) - MAX_ERRORS_PER_OBJECT} more"]
    return unique


# --- k8s-schema ------------------------------------------------------------------------


def kubernetes_validate_installed() -> bool:
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        return False
    return True


def _schema_dir() -> str:
    return f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"


@cache
def _builtin_validator(kind: str, api_version: str) -> Any | None:
    """kubernetes-validate's strict validator for `kind` in `api_version`, or None when it has no schema for it."""
    import jsonschema
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    # As kubernetes_validate.validate names its files: rbac.authorization.k8s.io/v1 -> rbac-v1.
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"{_schema_dir()}/{kind.lower()}-{api}.json", KUBERNETES_VERSION)
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{_schema_dir()}/_definitions.json", KUBERNETES_VERSION)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def is_builtin(m: render.Manifest) -> bool:
    """Whether `m` is of a kind the Kubernetes API serves itself (kubernetes-validate has its schema)."""
    if kubernetes_validate_installed():
        return _builtin_validator(m.kind, m.api_version) is not None
    group = m.api_version.rpartition("/")[0]
    return _crd(m.kind) is None and ("." not in group or group.endswith(".k8s.io"))


@rule(SCHEMA)
def k8s_schema(plan: RecordedPlan, root: Path) -> list[Problem]:
    objects = render.manifests(plan)
    if not objects:
        return []
    if not kubernetes_validate_installed():
        return [problem(SCHEMA, "warning", None, f"{len(objects)} Kubernetes object(s) not validated: kubernetes-validate is not installed (make setup)")]
    problems = []
    for m in objects:
        validator = _builtin_validator(m.kind, m.api_version)
        if validator is None:
            continue  # a custom resource: k8s-crd-schema
        for line in _errors(validator, m.body):
            problems.append(problem(SCHEMA, "error", m.resource, f"{m.label} ({m.api_version}) does not validate against Kubernetes {KUBERNETES_VERSION} (strict): {line}"))
    return problems


# --- k8s-crd-schema --------------------------------------------------------------------


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    versions: Mapping[str, dict[str, Any]]


@cache
def _crds() -> dict[str, Crd]:
    found = {}
    for path in sorted(CRD_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        found[data["kind"]] = Crd(data["group"], data["kind"], data["versions"])
    return found


def _crd(kind: str) -> Crd | None:
    return _crds().get(kind)


def structural(schema: Any) -> Any:
    """An OpenAPI v3 CRD schema as JSON Schema: `nullable` honoured, undeclared fields refused where the API would prune them."""
    if isinstance(schema, list):
        return [structural(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: structural(s) for name, s in value.items()}
        elif key.startswith("x-kubernetes-"):
            out[key] = value
        else:
            out[key] = structural(value)
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserves = out.get("x-kubernetes-preserve-unknown-fields") is True
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out and not preserves:
        out["additionalProperties"] = False
    return out


@cache
def _crd_validator(kind: str, version: str) -> Any | None:
    import jsonschema

    crd = _crd(kind)
    if crd is None or version not in crd.versions:
        return None
    return jsonschema.Draft4Validator(structural(crd.versions[version]))


@rule(CRD_SCHEMA)
def k8s_crd_schema(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for m in render.manifests(plan):
        if is_builtin(m):
            continue
        group, _, version = m.api_version.rpartition("/")
        crd = _crd(m.kind)
        validator = _crd_validator(m.kind, version) if crd is not None and crd.group == group else None
        if validator is None:
            served = f" (the vendored {crd.group} CRD serves {', '.join(crd.versions)})" if crd else ""
            problems.append(problem(CRD_SCHEMA, "warning", m.resource, f"{m.label} ({m.api_version}) not validated: no schema for {m.kind} {m.api_version}{served}"))
            continue
        for line in _errors(validator, m.body):
            problems.append(problem(CRD_SCHEMA, "error", m.resource, f"{m.label} ({m.api_version}) does not validate against its CRD's schema: {line}"))
    return problems


# --- k8s-checkov -----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    check_id: str
    title: str
    file: str  # the object's file name, as written for checkov
    resource: str  # checkov's id: Kind.namespace.name


_CACHE: dict[str, list[Finding]] = {}


def checkov_binary(root: Path) -> str | None:
    """checkov: `$DIXI_CHECKOV`, else the project's `.venv-checkov`, else PATH."""
    explicit = os.environ.get(CHECKOV_ENV)
    if explicit:
        return explicit if Path(explicit).is_file() else None
    local = root / CHECKOV_VENV
    if local.is_file():
        return str(local)
    return shutil.which("checkov")


def file_name(index: int, m: render.Manifest) -> str:
    slug = re.sub(r"[^a-z0-9.-]+", "-", f"{m.kind}-{m.namespace or 'cluster'}-{m.name}".lower())
    return f"{index:03d}-{slug}.yaml"


def offline_env() -> dict[str, str]:
    """The environment checkov runs in: no platform key, no update check, nothing downloaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))}
    env.update({"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE", "CKV_GITHUB_CONFIG_FETCH_DATA": "false", "CKV_GITLAB_CONFIG_FETCH_DATA": "false", "LOG_LEVEL": "ERROR"})
    return env


def reports(output: str) -> Iterator[dict[str, Any]]:
    data = json.loads(output)
    for report in data if isinstance(data, list) else [data]:
        if isinstance(report, dict):
            yield report


def run_checkov(binary: str, files: Mapping[str, str]) -> list[Finding]:
    """checkov's failed checks on `files` (name -> YAML); raises RuntimeError when checkov itself fails."""
    with tempfile.TemporaryDirectory(prefix="dixi-checkov-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        command = [binary, "-d", tmp, "--framework", "kubernetes", "-o", "json", "--quiet", "--compact", "--skip-download"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_S, env=offline_env(), cwd=tmp, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}")
    try:
        found_reports = list(reports(done.stdout))
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov printed no JSON: {(done.stderr or done.stdout).strip()[-400:]}") from None
    findings = []
    for report in found_reports:
        for failed in (report.get("results") or {}).get("failed_checks") or []:
            findings.append(Finding(str(failed.get("check_id")), str(failed.get("check_name") or ""), Path(str(failed.get("file_path") or "")).name, str(failed.get("resource") or "")))
    return sorted(set(findings), key=lambda f: (f.file, f.check_id, f.resource))


@rule(CHECKOV)
def k8s_checkov(plan: RecordedPlan, root: Path) -> list[Problem]:
    objects = render.manifests(plan)
    if not objects:
        return []
    binary = checkov_binary(root)
    if binary is None:
        return [problem(CHECKOV, "warning", None, f"{len(objects)} Kubernetes object(s) not checked: checkov not found (make .venv-checkov, or set {CHECKOV_ENV})")]
    files = {file_name(i, m): render.dump([m.body]) for i, m in enumerate(objects)}
    key = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    if key not in _CACHE:
        try:
            _CACHE[key] = run_checkov(binary, files)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            return [problem(CHECKOV, "warning", None, f"{len(objects)} Kubernetes object(s) not checked: {error}")]
    by_file = {file_name(i, m): m for i, m in enumerate(objects)}
    accepted = skip_list.load(root)
    problems = []
    for finding in _CACHE[key]:
        m = by_file.get(finding.file)
        where = m.label if m else finding.resource
        if accepted.match(finding.check_id, plan.stack, where) is not None:
            continue
        derived = f" (checkov's {finding.resource})" if m and finding.resource.split(".", 1)[0] != m.kind else ""
        problems.append(problem(CHECKOV, "error", m.resource if m else None, f"{finding.check_id} fails on {where}{derived}: {finding.title}"))
    return problems
