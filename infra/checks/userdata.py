"""Rules on VM user data: cloud-init's own schema, the Compose spec, and the EC2 size limit.

- `cloud-init-schema`: the user data validates with Debian's `cloud-init schema`
  (the real validator; skipped with a warning where cloud-init is not installed).
- `compose-spec`: every compose file the user data writes validates against the
  Compose spec that check-jsonschema ships (`vendor.compose-spec`).
- `user-data-size`: EC2 rejects user data over 16 KiB.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from infra.checks import Problem, problem, rule
from infra.common import cloudinit
from infra.plan.engine import RecordedPlan, RecordedResource, Secret

EC2_USER_DATA_LIMIT = 16 * 1024
VM_TYPES = {"aws:ec2/instance:Instance": "userData"}


def user_data_of(plan: RecordedPlan) -> Iterator[tuple[RecordedResource, str]]:
    for resource in plan.resources:
        key = VM_TYPES.get(resource.type)
        value = resource.inputs.get(key) if key else None
        if isinstance(value, Secret):
            value = value.value
        if isinstance(value, str):
            yield resource, value


def cloud_init_binary() -> str | None:
    return shutil.which("cloud-init")


def validate_cloud_config(user_data: str) -> str | None:
    """None when cloud-init accepts `user_data`, else its complaint."""
    binary = cloud_init_binary()
    assert binary is not None
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as handle:
        handle.write(user_data)
        handle.flush()
        result = subprocess.run(
            [binary, "schema", "--config-file", handle.name],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if result.returncode == 0:
        return None
    noise = ("Error:", "Cloud config schema deprecations:")
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines()]
    return "; ".join(line for line in lines if line and line not in noise) or "rejected"


@rule("cloud-init-schema")
def cloud_init_schema(plan: RecordedPlan, root: Path) -> list[Problem]:
    found = list(user_data_of(plan))
    if not found:
        return []
    if cloud_init_binary() is None:
        return [
            problem("cloud-init-schema", "warning", vm, "cloud-init is not installed here, so the user data was not validated (Debian/Ubuntu: apt-get install cloud-init)")
            for vm, _ in found
        ]
    problems = []
    for vm, user_data in found:
        complaint = validate_cloud_config(user_data)
        if complaint:
            problems.append(problem("cloud-init-schema", "error", vm, f"user data fails cloud-init's schema: {complaint}"))
    return problems


@cache
def compose_schema() -> dict[str, Any]:
    path = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def compose_errors(document: Any) -> list[str]:
    import jsonschema

    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]


@rule("compose-spec")
def compose_spec(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for vm, user_data in user_data_of(plan):
        for path, content in cloudinit.files_in(user_data).items():
            if not path.endswith(("docker-compose.yml", "compose.yaml", "compose.yml")):
                continue
            try:
                document = yaml.safe_load(content)
            except yaml.YAMLError as error:
                problems.append(problem("compose-spec", "error", vm, f"{path} is not YAML: {error}"))
                continue
            for message in compose_errors(document)[:5]:
                problems.append(problem("compose-spec", "error", vm, f"{path} breaks the Compose spec at {message}"))
    return problems


@rule("user-data-size")
def user_data_size(plan: RecordedPlan, root: Path) -> list[Problem]:
    return [
        problem("user-data-size", "error", vm, f"user data is {len(data.encode())} bytes; EC2 accepts at most {EC2_USER_DATA_LIMIT}")
        for vm, data in user_data_of(plan)
        if vm.type == "aws:ec2/instance:Instance" and len(data.encode()) > EC2_USER_DATA_LIMIT
    ]
