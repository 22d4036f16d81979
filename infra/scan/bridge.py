"""What a bridged provider's resource looks like in Terraform: its type and its attributes, from the provider's own facts.

pulumi-aws, pulumi-gcp, pulumi-digitalocean, pulumi-random and
pulumiverse-time wrap Terraform providers. Two facts turn a Pulumi resource
back into the Terraform resource it wraps:

- The names. Each provider's `bridge-metadata.json` maps every resource
  token to its Terraform type (`renames.resources`) and, for each resource
  and nested object type, every property whose Pulumi name differs from the
  Terraform one (`renames.renamedProperties`: `ebsBlockDevices` ->
  `ebs_block_device`). A property it does not list has the same name in
  both. The entries for the tokens the stacks use are vendored in
  `bridge_metadata/<package>.json` (`scripts/vendor-bridge-metadata.py`
  writes them from the provider repositories; each file names its source
  commit).
- The shapes, from the installed Python SDK, which is generated from the
  same provider schema: a property typed as a sequence is a list; a mapping
  is a Terraform map; a nested object class (`outputs.InstanceMetadataOptions`)
  is a block. A single nested object is a block of at most one item
  (`MaxItems: 1`, which the bridge flattens), so Terraform writes it as a
  one-item list. (A Plugin Framework resource's single nested attribute
  would be an object in Terraform's JSON; checkov reads a one-item list and
  an object alike: `checkov/terraform/plan_parser.py`, `_hclify`.)

What it does not know: provider defaults (Terraform's plan has them, the
recorded inputs do not) and attributes that exist only in Terraform. A token
the vendored data does not name is not bridged here (`lookup` returns None);
the scan lists it as unscanned rather than guess.
"""

from __future__ import annotations

import collections.abc
import importlib
import json
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

DATA_DIR: Final = Path(__file__).resolve().parent / "bridge_metadata"
# Pulumi package -> its Python SDK module (the SDKs in uv.lock).
SDK_MODULES: Final = {
    "aws": "pulumi_aws",
    "gcp": "pulumi_gcp",
    "digitalocean": "pulumi_digitalocean",
    "random": "pulumi_random",
    "time": "pulumiverse_time",
}
# Pulumi package -> the Terraform provider it bridges (for provider_config).
TERRAFORM_PROVIDERS: Final = {
    "aws": "registry.terraform.io/hashicorp/aws",
    "gcp": "registry.terraform.io/hashicorp/google",
    "digitalocean": "registry.terraform.io/digitalocean/digitalocean",
    "random": "registry.terraform.io/hashicorp/random",
    "time": "registry.terraform.io/hashicorp/time",
}

Kind = Literal["scalar", "list", "map", "block", "blocks"]


@dataclass
class TfField:
    """One Pulumi property as Terraform names and shapes it."""

    tf_name: str
    kind: Kind  # block: a MaxItems-1 block (a one-item list); blocks: a list of blocks
    nested: TfType | None = None
    derived: bool = False  # the name is the SDK's snake_case, not from the metadata


@dataclass
class TfType:
    """A resource or nested object type: its token and its properties by Pulumi name."""

    token: str
    fields: dict[str, TfField] = field(default_factory=dict)


@dataclass(frozen=True)
class TfResource:
    token: str
    terraform_type: str
    provider: str
    schema: TfType


@cache
def vendored(package: str) -> dict[str, Any]:
    """The vendored bridge metadata of `package` (`{}` when none is vendored)."""
    path = DATA_DIR / f"{package}.json"
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def terraform_type(token: str) -> str | None:
    """The Terraform resource type the provider's own metadata maps `token` to, or None."""
    resources: dict[str, str] = vendored(token.split(":", 1)[0]).get("resources", {})
    return resources.get(token)


def _unwrap(annotation: Any) -> Any:
    """`Output[Optional[X]]` / `Input[...]` / `Optional[X]` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Union:
            candidates = [
                a
                for a in args
                if a is not type(None) and typing.get_origin(a) is not collections.abc.Awaitable
            ]
            annotation = candidates[0] if candidates else Any
            continue
        if origin is not None and getattr(origin, "__name__", "") in ("Output", "Input") and args:
            annotation = args[0]
            continue
        return annotation


def _resolve(ref: Any, globals_: dict[str, Any]) -> type | None:
    """A forward reference such as `'outputs.InstanceMetadataOptions'` as the class it names."""
    name = (
        ref.__forward_arg__
        if isinstance(ref, typing.ForwardRef)
        else ref
        if isinstance(ref, str)
        else None
    )
    if name is None:
        return (
            ref if isinstance(ref, type) and hasattr(ref, "__dict__") and _properties(ref) else None
        )
    target: Any = globals_
    for part in name.split("."):
        target = target.get(part) if isinstance(target, dict) else getattr(target, part, None)
        if target is None:
            return None
    return target if isinstance(target, type) else None


def _properties(cls: type) -> dict[str, tuple[str, property]]:
    """The SDK class's properties by Pulumi name (`@pulumi.getter(name=...)`), with their Python names."""
    found = {}
    for klass in reversed(cls.__mro__):
        for python_name, value in vars(klass).items():
            if (
                isinstance(value, property)
                and value.fget is not None
                and hasattr(value.fget, "_pulumi_name")
            ):
                found[value.fget._pulumi_name] = (python_name, value)
    return found


def _token_of(cls: type, package: str) -> str:
    """`pulumi_aws.ec2.outputs.InstanceMetadataOptions` -> `aws:ec2/InstanceMetadataOptions:InstanceMetadataOptions`."""
    parts = cls.__module__.split(".")[1:]
    parts = [p for p in parts if p not in ("outputs", "_inputs")]
    module = "/".join(parts) or "index"
    return f"{package}:{module}/{cls.__name__}:{cls.__name__}"


def _schema(cls: type, token: str, package: str, seen: dict[str, TfType]) -> TfType:
    if token in seen:
        return seen[token]
    renamed: dict[str, str] = vendored(package).get("renamedProperties", {}).get(token, {})
    result = TfType(token)
    seen[token] = result
    for pulumi_name, (python_name, prop) in sorted(_properties(cls).items()):
        globals_ = getattr(prop.fget, "__globals__", {})
        assert prop.fget is not None
        annotation = _unwrap(prop.fget.__annotations__.get("return", Any))
        origin = typing.get_origin(annotation)
        kind: Kind = "scalar"
        nested_cls: type | None = None
        if origin in (collections.abc.Sequence, list):
            element = _unwrap((typing.get_args(annotation) or (Any,))[0])
            nested_cls = _resolve(element, globals_)
            kind = "blocks" if nested_cls is not None else "list"
        elif origin in (collections.abc.Mapping, dict):
            kind = "map"
        else:
            nested_cls = _resolve(annotation, globals_)
            if nested_cls is not None:
                kind = "block"
        nested = (
            _schema(nested_cls, _token_of(nested_cls, package), package, seen)
            if nested_cls is not None
            else None
        )
        if pulumi_name in renamed or pulumi_name.islower():
            tf_name, derived = renamed.get(pulumi_name, pulumi_name), False
        else:
            # Not in the vendored renames (a property newer than the metadata): the SDK's Python name,
            # which is the same snake_case conversion; `derived` says so (tests count these).
            tf_name, derived = python_name, True
        result.fields[pulumi_name] = TfField(tf_name, kind, nested, derived)
    return result


def sdk_class(token: str) -> type | None:
    """The Python SDK's resource class for `token` (`aws:ec2/instance:Instance` -> `pulumi_aws.ec2.Instance`)."""
    package, middle, class_name = token.split(":", 2)
    module_name = SDK_MODULES.get(package)
    if module_name is None:
        return None
    module_path = middle.split("/", 1)[0]
    if module_path != "index":
        module_name = f"{module_name}.{module_path}"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, class_name, None)
    return found if isinstance(found, type) else None


@cache
def lookup(token: str) -> TfResource | None:
    """`token` as a Terraform resource (type, provider, attribute names and shapes), or None when it is not bridged here."""
    package = token.split(":", 1)[0]
    tf_type = terraform_type(token)
    cls = sdk_class(token)
    if tf_type is None or cls is None:
        return None
    return TfResource(token, tf_type, package, _schema(cls, token, package, {}))


def reachable_types(resource: TfResource) -> dict[str, TfType]:
    """The resource's type and every nested object type under it, by token."""
    found: dict[str, TfType] = {}
    pending = [resource.schema]
    while pending:
        current = pending.pop()
        if current.token in found:
            continue
        found[current.token] = current
        pending.extend(f.nested for f in current.fields.values() if f.nested is not None)
    return found
