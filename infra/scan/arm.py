"""The azure-native resources of a recorded plan as an ARM template, for checkov's `arm` framework.

azure-native resources are Azure Resource Manager resources: each token is
one ARM resource type (`azure-native:containerservice:ManagedCluster` is
`Microsoft.ContainerService/managedClusters`; the types are those
`infra/azure/mocks.py` builds resource ids from), at the REST API version
the installed SDK says it uses ("Uses Azure REST API version ..." in each
resource's docstring). The SDK flattens the ARM body: an input is one of
the envelope's own keys (`ENVELOPE`: location, tags, sku, identity, kind,
...), a part of the resource's URL (the resource group and the names: left
out of the body, the name becomes `name`), or a member of `properties`.
Child resources get their parent's name as a prefix (`cluster/pool`),
extension resources (role assignments, data collection rule associations)
their `scope`.

Values the program marked secret are placeholders; whole floats are
integers. What it leaves out, listed by the scan: an azure-native token
`ARM_TYPES` does not name. The template is for reading, not deploying:
references between resources are the ids the mocks handed out, not
`resourceId()` expressions, so checkov's ARM graph checks see no edges.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Final

from infra.azure.mocks import ARM_EXTENSIONS, ARM_TYPES
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret, reveal
from infra.scan.tfplan import SECRET_PLACEHOLDER, Unscanned

PACKAGE: Final = "azure-native"
SCHEMA: Final = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# Keys of the ARM resource envelope that azure-native takes as inputs of their own.
ENVELOPE: Final = ("location", "tags", "sku", "identity", "kind", "zones", "extendedLocation", "plan", "etag", "managedBy")
_API_VERSION: Final = re.compile(r"Uses Azure REST API version ([0-9]{4}-[0-9]{2}-[0-9]{2}(?:-preview)?)")


@dataclass
class ArmTemplate:
    document: dict[str, Any]
    # checkov's resource label (`<ARM type>.<name>`) -> the plan resource
    addresses: dict[str, ResourceKey] = field(default_factory=dict)
    unscanned: list[Unscanned] = field(default_factory=list)


@functools.cache
def api_version(token: str) -> str | None:
    """The REST API version the installed azure-native SDK uses for `token`, from the resource's docstring."""
    _, module, class_name = token.split(":", 2)
    try:
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), class_name)
        found = _API_VERSION.search(inspect.getsource(inspect.getmodule(cls) or cls))
    except (ImportError, AttributeError, OSError, TypeError):
        return None
    return found.group(1) if found else None


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return _redact(reveal(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return None if value is None else SECRET_PLACEHOLDER


def _resource(r: RecordedResource) -> tuple[dict[str, Any], str] | None:
    version = api_version(r.type)
    if r.type in ARM_EXTENSIONS:
        name_key, scope_key, arm_type = ARM_EXTENSIONS[r.type]
        path = {name_key, scope_key}
        name = str(r.state.get("name") or r.inputs.get(name_key) or r.name)
        extra: dict[str, Any] = {"scope": reveal(r.inputs.get(scope_key))}
    elif r.type in ARM_TYPES:
        name_key, arm_type, parent_key, collection = ARM_TYPES[r.type]
        path = {name_key, "resourceGroupName"} | ({parent_key} if parent_key else set())
        name = str(r.state.get("name") or r.inputs.get(name_key) or r.name)
        if r.type == "azure-native:resources:ResourceGroup":
            arm_type = "Microsoft.Resources/resourceGroups"
        if parent_key and collection:
            # blobServices/default/containers -> type .../blobServices/containers, name parent/default/child
            segments = collection.split("/")
            arm_type = "/".join([arm_type, *segments[0::2]])
            name = "/".join([str(reveal(r.inputs.get(parent_key)) or ""), *segments[1::2], name])
        extra = {}
    else:
        return None
    if version is None:
        return None
    body: dict[str, Any] = {"type": arm_type, "apiVersion": version, "name": name, **extra}
    properties: dict[str, Any] = {}
    for key, value in r.inputs.items():
        if key in path or value is None:
            continue
        (body if key in ENVELOPE else properties)[key] = _plain(value)
    if properties:
        body["properties"] = properties
    return body, f"{arm_type}.{name}"


def arm_template(plan: RecordedPlan) -> ArmTemplate:
    """The plan's azure-native resources as one ARM template; a token it cannot place is listed as unscanned."""
    result = ArmTemplate({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": []})
    for r in plan.resources:
        if not r.custom or r.package != PACKAGE:
            continue
        written = _resource(r)
        if written is None:
            result.unscanned.append(Unscanned(r.key, f"{r.type}: no ARM type or API version known for it (infra/azure/mocks.py ARM_TYPES, the SDK's docstring)"))
            continue
        body, label = written
        result.document["resources"].append(body)
        result.addresses[label] = r.key
    return result
