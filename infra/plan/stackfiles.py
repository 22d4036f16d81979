"""Read `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program.

Project defaults (`config:` in Pulumi.yaml) are merged under the stack file's
values; every value becomes the string Pulumi passes (objects and lists as
JSON, booleans as `true`/`false`). A value encrypted in the stack file
(`secure: v1:...`) cannot be decrypted offline, so it becomes a placeholder
and is marked secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config import ConfigError, as_config_string

SECRET_PLACEHOLDER = "plan-placeholder-secret"


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    stack_file: str
    values: dict[str, str]
    defaults: dict[str, str]  # from Pulumi.yaml alone
    secret_keys: list[str]


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError([f"{path.name}: is not valid YAML{where}"]) from None
    if not isinstance(loaded, dict):
        raise ConfigError([f"{path.name}: must be a YAML mapping"])
    return loaded


def stack_names(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def load(root: Path, stack: str) -> StackConfig:
    project_file = root / "Pulumi.yaml"
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not project_file.is_file():
        raise ConfigError([f"{project_file}: not found; run dixi from the project directory"])
    if not stack_file.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise ConfigError([f"{stack_file.name}: no such stack file; stacks here: {known}"])
    project = _load_yaml(project_file)
    name = str(project.get("name", ""))
    values: dict[str, str] = {}
    for key, declaration in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(declaration, dict):
            if "default" in declaration:
                values[full] = as_config_string(declaration["default"])
        else:
            values[full] = as_config_string(declaration)
    defaults = dict(values)
    secret_keys: list[str] = []
    for key, value in (_load_yaml(stack_file).get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
        else:
            values[full] = as_config_string(value)
    return StackConfig(name, stack, stack_file.name, values, defaults, secret_keys)
