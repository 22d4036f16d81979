"""A recorded plan as Terraform's plan JSON (format 1.2), for checkov's `terraform_plan` framework.

What it writes, for every custom resource of a bridged provider (aws, gcp,
digitalocean, random, time; `infra.scan.bridge`):

- `planned_values` and `resource_changes` (action `create`): the resource's
  recorded inputs under their Terraform names and shapes (single nested
  blocks as one-item lists, numbers that are whole as integers). Values the
  program marked secret are written as `SECRET_PLACEHOLDER` and flagged in
  `sensitive_values` / `after_sensitive`: the file may be printed, so no
  secret is ever in it.
- `configuration.root_module.resources[].expressions`: real references.
  The engine records, for each input, the resources its value came from
  (`property_dependencies`); a value equal to one of those resources' id or
  outputs is written as a reference to it (`aws_s3_bucket.models.id`), at
  the attribute or nested block where it appears. A reference to an id or
  to an output the resource computes is unknown until apply, as in a real
  `terraform plan` of a new stack: the value is left out of
  `planned_values` and marked in `after_unknown`, so checkov puts the
  reference there and its graph checks (`CKV2_*`) see the edge. A value
  that holds a resource's output inside a longer string (a policy naming
  a bucket's ARN) keeps its value and lists the reference.

What it leaves out, always listed (`Unscanned`, never dropped silently):
azure-native resources (ARM shapes: `infra.scan.arm` writes them as an ARM
template for the scan),
docker-build images (a Pulumi-native provider, no Terraform resource),
Helm releases (charts are not downloaded offline), provider
configurations, and any bridged token the vendored metadata does not map.
Kubernetes objects are not Terraform resources: `infra.k8s.render` writes
them as manifests for checkov's `kubernetes` framework (see `infra.scan.run`).
Provider defaults are not filled in: an attribute the program leaves unset
is absent, where Terraform's plan would hold the provider's default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from infra.k8s import render as k8s_render
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret, reveal
from infra.scan import bridge

FORMAT_VERSION: Final = "1.2"
SECRET_PLACEHOLDER: Final = "REDACTED-pulumi-secret"
# Terraform's short provider names (the `google` provider is pulumi-gcp's).
PROVIDER_NAMES: Final = {
    "aws": "aws",
    "gcp": "google",
    "digitalocean": "digitalocean",
    "random": "random",
    "time": "time",
}
# Shortest output value matched inside a longer string: shorter ones ("80", "tcp") match by accident.
MIN_EMBEDDED_MATCH: Final = 12

UNSCANNED_REASONS: Final = {
    "azure-native": "azure-native is not a bridged Terraform provider: `dixi scan` writes its resources as an ARM template for checkov's arm framework (infra.scan.arm)",
    "docker-build": "docker-build is a Pulumi-native provider with no Terraform resource; the `images` rule checks what it builds and pushes",
    "pulumi": "a provider configuration, not a cloud resource; the resources created through it are scanned",
}
HELM_REASON: Final = "a Helm release: its chart is not downloaded offline, so its objects are not rendered (`dixi render k8s` lists it)"


@dataclass(frozen=True)
class Unscanned:
    resource: ResourceKey
    reason: str


@dataclass
class TerraformPlan:
    """One stack's plan JSON, what each address stands for, and what it left out."""

    document: dict[str, Any]
    addresses: dict[str, ResourceKey] = field(default_factory=dict)
    unscanned: list[Unscanned] = field(default_factory=list)
    # `<type>.<attribute>` of lists named by the SDK's snake_case, not by the vendored metadata:
    # the bridge pluralises some list names, so Terraform's may differ (see `bridge.TfField.derived`).
    unconfirmed: list[str] = field(default_factory=list)

    def address_of(self, key: ResourceKey) -> str | None:
        for address, found in self.addresses.items():
            if found == key:
                return address
        return None


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _redacted(value: Any) -> Any:
    """`value` with its shape kept and every scalar in it replaced by the placeholder."""
    if isinstance(value, Secret):
        return _redacted(value.value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return None if value is None else SECRET_PLACEHOLDER


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@dataclass
class _Target:
    """A resource a value may refer to: its address, id and outputs by Terraform name."""

    address: str
    id: str
    outputs: dict[str, str]  # Terraform attribute -> value
    computed: set[str]  # attributes the provider computes (unknown until apply)

    def attribute_for(self, value: str) -> str | None:
        if value == self.id:
            return "id"
        for name, candidate in self.outputs.items():
            if candidate == value:
                return name
        return None

    def embedded_in(self, value: str) -> bool:
        candidates = [self.id, *self.outputs.values()]
        return any(len(c) >= MIN_EMBEDDED_MATCH and c != value and c in value for c in candidates)


class _Converter:
    """Pulumi values -> Terraform values and expressions, for one resource."""

    def __init__(self, targets: list[_Target]) -> None:
        self.targets = targets
        # Lists written under the SDK's snake_case name, which the metadata did not confirm.
        self.unconfirmed: set[str] = set()
        self.unknown = False  # set when the current value refers to something unknown until apply
        self.sensitive = False

    def reference(self, value: str) -> tuple[list[str], bool] | None:
        """The references a string holds, and whether it is unknown until apply."""
        for target in self.targets:
            attribute = target.attribute_for(value)
            if attribute is not None:
                return [
                    f"{target.address}.{attribute}",
                    target.address,
                ], attribute == "id" or attribute in target.computed
        embedded = [t.address for t in self.targets if t.embedded_in(value)]
        if embedded:
            return embedded, False
        return None

    def scalar(self, value: Any) -> tuple[Any, Any, Any]:
        """(value, expression, sensitive) for a scalar; value is `_UNKNOWN` when it refers to an unknown output."""
        secret = isinstance(value, Secret)
        plain = reveal(value)
        expression = None
        if isinstance(plain, str):
            found = self.reference(plain)
            if found is not None:
                references, unknown = found
                expression = {"references": references}
                if unknown:
                    return _UNKNOWN, expression, secret
        if secret:
            return _redacted(plain), expression, True
        return _number(plain), expression, False

    def convert(
        self,
        fields: dict[str, bridge.TfField],
        value: dict[str, Any],
        targets_of: Callable[[str], list[_Target]] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(values, expressions, unknown, sensitive) of an object of `fields`.

        `targets_of(name)`: the resources property `name` may refer to (a resource's
        top level); nested objects keep the targets of the property they are in.
        """
        values: dict[str, Any] = {}
        expressions: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        sensitive: dict[str, Any] = {}
        for name, raw in value.items():
            spec = fields.get(name)
            if spec is None or raw is None:
                continue
            if targets_of is not None:
                self.targets = targets_of(name)
            out, expression, unknown_part, sensitive_part = self.field(spec, raw)
            if out is not _UNKNOWN:
                values[spec.tf_name] = out
            if expression:
                expressions[spec.tf_name] = expression
            if unknown_part:
                unknown[spec.tf_name] = unknown_part
            if sensitive_part:
                sensitive[spec.tf_name] = sensitive_part
        return values, expressions, unknown, sensitive

    def field(self, spec: bridge.TfField, raw: Any) -> tuple[Any, Any, Any, Any]:
        if spec.derived and spec.kind in ("list", "blocks"):
            self.unconfirmed.add(spec.tf_name)
        if spec.kind in ("block", "blocks") and spec.nested is not None:
            secret = isinstance(raw, Secret)
            plain = reveal(raw) if secret else raw
            items = (
                [plain]
                if spec.kind == "block"
                else [
                    item
                    for item in (plain if isinstance(plain, list) else [])
                    if isinstance(item, dict)
                ]
            )
            converted = [
                self.convert(spec.nested.fields, item) for item in items if isinstance(item, dict)
            ]
            values = [c[0] for c in converted]
            expressions = [c[1] for c in converted]
            unknown = [c[2] for c in converted]
            sensitive: Any = True if secret else [c[3] for c in converted]
            if secret:
                values = _redacted(values)
            return (
                values,
                (expressions if any(expressions) else None),
                (unknown if any(unknown) else None),
                (sensitive if secret or any(sensitive) else None),
            )
        if spec.kind == "list":
            secret = isinstance(raw, Secret)
            items = reveal(raw) if secret else raw
            items = items if isinstance(items, list) else [items]
            out = []
            references: list[str] = []
            unknown_items = []
            for item in items:
                value, expression, _ = self.scalar(item)
                if expression:
                    references.extend(r for r in expression["references"] if r not in references)
                unknown_items.append(value is _UNKNOWN)
                out.append(None if value is _UNKNOWN else (_redacted(value) if secret else value))
            return (
                out,
                ({"references": references} if references else None),
                (unknown_items if any(unknown_items) else None),
                (True if secret else None),
            )
        if spec.kind == "map":
            secret = isinstance(raw, Secret)
            plain = reveal(raw)
            if not isinstance(plain, dict):
                return None, None, None, None
            if secret:
                return _redacted(plain), None, None, True
            out_map = {}
            marked = {}
            for key, item in plain.items():
                value, _, item_secret = self.scalar(item)
                out_map[key] = None if value is _UNKNOWN else value
                if item_secret:
                    marked[key] = True
            return out_map, None, None, (marked or None)
        value, expression, secret = self.scalar(raw)
        return value, expression, (True if value is _UNKNOWN else None), (True if secret else None)


_UNKNOWN: Final = object()


def _address_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if not re.match(r"[A-Za-z_]", base):
        base = f"r_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _unscanned_reason(resource: RecordedResource) -> str | None:
    """Why a custom resource gets no Terraform resource and no manifest, or None when it gets one."""
    if resource.package == k8s_render.PACKAGE:
        return HELM_REASON if resource.type.startswith(k8s_render.HELM_PREFIX) else None
    if resource.package in UNSCANNED_REASONS:
        return UNSCANNED_REASONS[resource.package]
    if resource.package in bridge.SDK_MODULES and bridge.lookup(resource.type) is None:
        return f"{resource.type} is not in the vendored bridge metadata (infra/scan/bridge_metadata/{resource.package}.json): run scripts/vendor-bridge-metadata.py"
    if resource.package not in bridge.SDK_MODULES:
        return f"package {resource.package!r} is not a bridged Terraform provider known to the scan"
    return None


def terraform_plan(plan: RecordedPlan) -> TerraformPlan:
    """`plan` as a Terraform plan JSON document, with the resources it could not write listed."""
    result = TerraformPlan(document={})
    rendered = {m.resource.key for m in k8s_render.manifests(plan)}
    bridged: list[tuple[RecordedResource, bridge.TfResource, str]] = []
    taken: dict[str, set[str]] = {}
    for resource in plan.resources:
        if not resource.custom:
            continue
        reason = _unscanned_reason(resource)
        if reason is not None:
            result.unscanned.append(Unscanned(resource.key, reason))
            continue
        if resource.package == k8s_render.PACKAGE:
            if resource.key not in rendered:
                result.unscanned.append(
                    Unscanned(
                        resource.key,
                        "a Kubernetes object `dixi render k8s` does not render (a patch, a list, or a provider)",
                    )
                )
            continue
        tf = bridge.lookup(resource.type)
        assert tf is not None
        name = _address_name(resource.name, taken.setdefault(tf.terraform_type, set()))
        address = f"{tf.terraform_type}.{name}"
        result.addresses[address] = resource.key
        bridged.append((resource, tf, address))

    targets_by_key = {
        resource.key: _target(resource, tf, address) for resource, tf, address in bridged
    }
    planned, changes, configured = [], [], []
    providers: dict[str, dict[str, Any]] = {}
    unconfirmed: set[str] = set()
    for resource, tf, address in bridged:
        converter = _Converter([])
        values, expressions, unknown, sensitive = converter.convert(
            tf.schema.fields, resource.inputs, _targets_of(resource, targets_by_key)
        )
        unconfirmed.update(f"{tf.terraform_type}.{name}" for name in converter.unconfirmed)
        provider_key = PROVIDER_NAMES[tf.provider]
        providers[provider_key] = {
            "name": provider_key,
            "full_name": bridge.TERRAFORM_PROVIDERS[tf.provider],
        }
        common = {
            "address": address,
            "mode": "managed",
            "type": tf.terraform_type,
            "name": address.split(".", 1)[1],
        }
        planned.append(
            {
                **common,
                "provider_name": bridge.TERRAFORM_PROVIDERS[tf.provider],
                "schema_version": 0,
                "values": values,
                "sensitive_values": sensitive,
            }
        )
        changes.append({
            **common,
            "provider_name": bridge.TERRAFORM_PROVIDERS[tf.provider],
            "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": unknown, "before_sensitive": False, "after_sensitive": sensitive},
        })  # fmt: skip
        configured.append(
            {
                **common,
                "provider_config_key": provider_key,
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    result.unconfirmed = sorted(unconfirmed)
    result.document = {
        "format_version": FORMAT_VERSION,
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": providers, "root_module": {"resources": configured}},
        "timestamp": "1970-01-01T00:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    return result


def _targets_of(resource: RecordedResource, targets: dict[ResourceKey, _Target]) -> Callable[[str], list[_Target]]:
    """For each input of `resource`, the written resources its value came from (the engine's record)."""

    def of(name: str) -> list[_Target]:
        keys = resource.property_dependencies.get(name, [])
        return [targets[k] for k in keys if k in targets and k != resource.key]

    return of


def _target(resource: RecordedResource, tf: bridge.TfResource, address: str) -> _Target:
    outputs: dict[str, str] = {}
    for name, value in resource.state.items():
        spec = tf.schema.fields.get(name)
        plain = reveal(value)
        if spec is not None and spec.kind == "scalar" and isinstance(plain, str) and plain:
            outputs[spec.tf_name] = plain
    computed = {
        tf.schema.fields[n].tf_name
        for n in resource.state
        if n in tf.schema.fields and n not in resource.inputs
    }
    return _Target(address, resource.id, outputs, computed)
