"""The Kubernetes objects of a recorded plan as manifests, and its Helm releases as a list.

What it renders: every custom resource of the `kubernetes` provider
(`kubernetes:<group>/<version>:<Kind>`) except Helm releases and charts, as
the manifest the provider would send: its inputs, camelCase as in the API,
with `apiVersion` and `kind` from the inputs, else from the type token (the
core group `core/v1` is `v1`). Numbers the engine recorded as floats are
written as integers when they are whole (the API's int32 fields refuse
`3.0`). An object whose `metadata.name` the program left to Pulumi's
autonaming gets the name the engine answered, else the resource name.

Secrets are never written: a value the program marked secret is written as
`PLACEHOLDER` (under a Secret's `data`, or a ConfigMap's `binaryData`, as
that placeholder in base64, so the object still decodes). A secret list or
object keeps its keys and shape, and each string in it is a placeholder. So
`kubectl apply -f` on the output creates Secrets holding placeholders:
render is for review and diffs, `pulumi up` is the deploy.

What it leaves out: Helm charts are not rendered. No chart can be
downloaded here (the planner runs offline), so each `kubernetes:helm.sh/...`
release or chart is listed (`helm_releases`: chart, version, repository,
namespace, values with secrets as placeholders) instead of expanded into its
objects. `...Patch` objects (server-side-apply patches of objects someone
else owns), `...List` objects and the provider resources are left out too.

Objects are ordered by kind (namespaces, cluster objects, accounts,
config and storage first, as `kubectl apply` needs them), then namespace,
then name, and every map's keys are sorted (after `apiVersion`, `kind`,
`metadata`): the same plan always renders the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from infra.plan.model import RecordedPlan, RecordedResource, Secret

PLACEHOLDER: Final = "REDACTED-pulumi-secret"
PLACEHOLDER_BASE64: Final = base64.b64encode(PLACEHOLDER.encode()).decode()
PACKAGE: Final = "kubernetes"
HELM_PREFIX: Final = "kubernetes:helm.sh/"
OBJECTS_FILE: Final = "objects.yaml"
RELEASES_FILE: Final = "helm-releases.yaml"
# Fields whose values the API reads as base64 (Secret `data`, ConfigMap `binaryData`).
_BASE64_FIELDS: Final = {("Secret", "data"), ("ConfigMap", "binaryData")}
# Applied first, in this order, so that later objects find what they live in.
_KIND_ORDER: Final = (
    "Namespace", "CustomResourceDefinition", "PriorityClass", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret", "PersistentVolume", "PersistentVolumeClaim",
)  # fmt: skip


@dataclass(frozen=True)
class Manifest:
    """One rendered object and the plan resource it came from."""

    resource: RecordedResource
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion") or "")

    @property
    def namespace(self) -> str:
        return str((self.body.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name") or "")

    @property
    def label(self) -> str:
        """`Kind namespace/name` (`Kind name` for a cluster object), as messages name it."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class HelmRelease:
    resource: RecordedResource
    body: dict[str, Any]


def is_object(r: RecordedResource) -> bool:
    """Whether `r` is a Kubernetes object this module renders."""
    if not r.custom or r.package != PACKAGE or r.type.startswith(HELM_PREFIX):
        return False
    return not (r.class_name.endswith("Patch") or r.class_name.endswith("List"))


def api_version_of(type_: str) -> str:
    """`kubernetes:apps/v1:Deployment` -> `apps/v1`; the core group `core/v1` -> `v1`."""
    module = type_.split(":")[1] if type_.count(":") >= 2 else ""
    return module.removeprefix("core/")


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def redact(value: Any, base64_strings: bool = False, inside_secret: bool = False) -> Any:
    """`value` with every secret a placeholder and whole floats as ints."""
    if isinstance(value, Secret):
        inner = value.value
        if isinstance(inner, dict | list | Secret):
            return redact(inner, base64_strings, inside_secret=True)
        return PLACEHOLDER_BASE64 if base64_strings else PLACEHOLDER
    if isinstance(value, dict):  # sorted: the engine's maps come in no fixed order
        return {str(k): redact(value[k], base64_strings, inside_secret) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [redact(v, base64_strings, inside_secret) for v in value]
    if inside_secret and isinstance(value, str):
        return PLACEHOLDER_BASE64 if base64_strings else PLACEHOLDER
    return _whole(value)


def _engine_name(r: RecordedResource) -> str:
    state = r.state.get("metadata")
    state = state.value if isinstance(state, Secret) else state
    name = state.get("name") if isinstance(state, dict) else None
    return str(name) if isinstance(name, str) and name else r.name


def manifest(r: RecordedResource) -> Manifest:
    """The manifest `r` stands for (see the module docstring)."""
    kind = r.inputs.get("kind")
    kind = kind if isinstance(kind, str) and kind else r.class_name
    body: dict[str, Any] = {}
    for key in sorted(r.inputs):
        body[key] = redact(r.inputs[key], base64_strings=(kind, key) in _BASE64_FIELDS)
    if not isinstance(body.get("apiVersion"), str) or not body.get("apiVersion"):
        body["apiVersion"] = api_version_of(r.type)
    body["kind"] = kind
    found = body.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    if not metadata.get("name"):
        metadata = {**metadata, "name": _engine_name(r)}
    body["metadata"] = metadata
    ordered = {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind"), "metadata": body.pop("metadata")}
    return Manifest(r, {**ordered, **body})


def _order(m: Manifest) -> tuple[int, str, str, str, str]:
    rank = _KIND_ORDER.index(m.kind) if m.kind in _KIND_ORDER else len(_KIND_ORDER)
    return rank, m.kind, m.namespace, m.name, m.resource.name


def manifests(plan: RecordedPlan) -> list[Manifest]:
    """Every Kubernetes object of `plan`, in apply order."""
    return sorted((manifest(r) for r in plan.resources if is_object(r)), key=_order)


def helm_releases(plan: RecordedPlan) -> list[HelmRelease]:
    """Every Helm release or chart of `plan`, as a list entry (not rendered: see the module docstring)."""
    found = []
    for r in plan.resources:
        if not r.type.startswith(HELM_PREFIX):
            continue
        inputs = redact(r.inputs)
        options = inputs.get("repositoryOpts")
        repository: dict[str, Any] = options if isinstance(options, dict) else {}
        body = {
            "resource": r.name,
            "type": r.type,
            "name": inputs.get("name") or r.name,
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "repository": repository.get("repo"),
            "namespace": inputs.get("namespace"),
            "values": inputs.get("values") or {},
        }
        found.append(HelmRelease(r, body))
    return sorted(found, key=lambda h: (str(h.body["namespace"] or ""), h.resource.name))


def dump(documents: Iterable[dict[str, Any]]) -> str:
    """Documents as one multi-document YAML stream."""
    return yaml.safe_dump_all(list(documents), sort_keys=False, default_flow_style=False, explicit_start=True)


def objects_yaml(plan: RecordedPlan) -> str:
    return dump(m.body for m in manifests(plan))


def releases_yaml(plan: RecordedPlan) -> str:
    releases = [h.body for h in helm_releases(plan)]
    header = "# Helm releases of this plan: listed, not rendered (no chart is downloaded offline).\n"
    return header + yaml.safe_dump({"releases": releases}, sort_keys=False, default_flow_style=False)


def write(plan: RecordedPlan, out_dir: Path) -> list[Path]:
    """Write `objects.yaml` (every object, one document each) and `helm-releases.yaml` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    objects, releases = out_dir / OBJECTS_FILE, out_dir / RELEASES_FILE
    objects.write_text(objects_yaml(plan))
    releases.write_text(releases_yaml(plan))
    return [objects, releases]
