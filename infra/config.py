"""The stack config, validated whole before the first resource is registered.

Pulumi hands a program its config as strings keyed `namespace:key` (objects as
JSON). `parse()` turns those strings into one typed, frozen config model, or
raises `ConfigError` whose lines each name the stack file, the key, the bad
value and what is allowed. Both `pulumi up` (through `from_pulumi()`) and the
offline `dixi plan` (which reads `Pulumi.yaml` and `Pulumi.<stack>.yaml`
itself) go through `parse()`, so both reject the same configs the same way.

The model is chosen by `dixi:target`: `DixiConfig` holds what every stack
kind reads, and each kind's own model (found through `infra.targets`, e.g.
`infra.aws.config.AwsEc2Config`) adds its keys. Together they form a pydantic
discriminated union on `dixi:target`.

Defaults live in `Pulumi.yaml` only; the models have none, so a key missing
from both files is an error rather than a silent second default. Unknown
`dixi:*` keys are errors (a typo must never be silently ignored), and so is a
key of another stack kind set to anything but its project default: Pulumi
passes every project default to every stack, so only a changed value says
the user meant it.

The validators below (`Bad`, `text`, `boolean`, `int_in`, ...) are shared by
the per-kind models, which live with their cloud.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Final, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from infra import spec, targets

NAMESPACE: Final = "dixi"
TARGET_KEY: Final = "dixi:target"
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$")
_MODEL = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?(:[A-Za-z0-9._-]+)?$")


class ConfigError(Exception):
    """A stack config that cannot be deployed; `lines` holds one sentence per bad key."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Bad(ValueError):
    """A value rejected with a sentence saying what is allowed."""


def choices(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def suggest(value: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.85)
    return f"did you mean {close[0]!r}?" if close else f"allowed: {choices(allowed)}"


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad("is not a string")
    return value.strip()


def one_of(allowed: tuple[str, ...], what: str) -> BeforeValidator:
    def check(value: Any) -> str:
        found = text(value)
        if found not in allowed:
            raise Bad(f"is not {what}; {suggest(found, allowed)}")
        return found

    return BeforeValidator(check)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    found = text(value).lower()
    if found in ("true", "false"):
        return found == "true"
    raise Bad("is not a boolean; allowed: true, false")


def int_in(low: int, high: int, why: str = "") -> BeforeValidator:
    """A whole number from `low` to `high`; `why` says where the limits come from."""
    because = f" ({why})" if why else ""

    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise Bad(f"is not a whole number; allowed: {low} to {high}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise Bad(f"is not a whole number; allowed: {low} to {high}") from None
        if not low <= number <= high:
            raise Bad(f"is out of range; allowed: {low} to {high}{because}")
        return number

    return BeforeValidator(check)


def entries(value: Any) -> list[str]:
    """A list of strings: an array in the stack file, or its JSON as Pulumi hands arrays to a program."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            raise Bad("is not a list") from None
    if not isinstance(value, list):
        raise Bad("is not a list")
    return [str(v).strip() for v in value]


def address_ranges(value: Any, whole_internet: str, *, ipv4_only: bool = False) -> list[str]:
    """A list of addresses or CIDR blocks, normalised (`203.0.113.7` -> `203.0.113.7/32`).

    Refuses an entry that is no address (or, with `ipv4_only`, no IPv4 one) and
    0.0.0.0/0 or ::/0, saying `whole_internet` about it.
    """
    found = []
    what = "IPv4 address" if ipv4_only else "address"
    for entry in [e for e in entries(value) if e]:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise Bad(f"has {entry!r}, which is not an {what} or CIDR block; use e.g. ['203.0.113.7/32']") from None
        if ipv4_only and network.version != 4:
            raise Bad(f"has {entry!r}: only IPv4 ranges are taken here")
        if network.prefixlen == 0:
            raise Bad(f"has {entry!r}, the whole internet; {whole_internet}")
        found.append(str(network))
    return found


def _domain(value: Any) -> str | None:
    found = text(value).lower()
    if not found:
        return None
    if not _DOMAIN.match(found):
        raise Bad("is not a DNS name; use a name like 'dixi.example.com', or '' for plain HTTP")
    return found


def _model(value: Any) -> str:
    found = text(value)
    if not _MODEL.match(found):
        raise Bad("is not an Ollama model name; use a name like 'llama3.2' or 'qwen2.5:7b'")
    return found


_IMAGES_EXAMPLE = "['backend=ghcr.io/acme/dixi-backend@sha256:...']"


def _images(value: Any) -> dict[str, str]:
    """`service=reference` entries (Pulumi's project config has no object type)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            raise Bad(f"is not a list; use e.g. {_IMAGES_EXAMPLE}") from None
    if not isinstance(value, list):
        raise Bad(f"is not a list of service=reference entries; use e.g. {_IMAGES_EXAMPLE}")
    allowed = tuple(spec.BY_NAME)
    refs: dict[str, str] = {}
    for entry in value:
        service, _, ref = str(entry).partition("=")
        service, ref = service.strip(), ref.strip()
        if not ref:
            raise Bad(f"has {entry!r}, which is not service=reference; use e.g. {_IMAGES_EXAMPLE}")
        if service not in allowed:
            raise Bad(f"names the unknown service {service!r}; {suggest(service, allowed)}")
        if service in refs:
            raise Bad(f"names {service!r} twice")
        if not _IMAGE_REF.match(ref):
            raise Bad(f"has {ref!r} for {service!r}, which is not an image reference (registry/name:tag or @sha256:digest)")
        refs[service] = ref
    return refs


def registry_host(reference: str) -> str:
    """The registry an image reference pulls from (Docker's rule: a first part with a dot, colon or `localhost`)."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


class DixiConfig(BaseModel):
    """What every stack kind reads. Each kind's model extends it with its own keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)

    stack_file: str = Field(exclude=True)
    stack_kind: str = Field(alias=TARGET_KEY)
    domain: Annotated[str | None, BeforeValidator(_domain)] = Field(alias="dixi:domain")
    ollama_model: Annotated[str, BeforeValidator(_model)] = Field(alias="dixi:ollamaModel")
    retain_data: Annotated[bool, BeforeValidator(boolean)] = Field(alias="dixi:retainData")
    images: Annotated[dict[str, str], BeforeValidator(_images)] = Field(alias="dixi:images")
    vision_gpu: Annotated[bool, BeforeValidator(boolean)] = Field(alias="dixi:visionGpu")

    def image_for(self, service: str) -> str | None:
        """The prebuilt image reference for `service`, or None when the stack builds it."""
        return self.images.get(service)

    @property
    def location(self) -> str:
        """Where the stack runs (region, cluster...), as the comparison table shows it."""
        return ""

    def cross_checks(self) -> list[tuple[str, Any, str]]:
        """Rules that span keys, as (key, value, reason) for each failure. Kinds add theirs."""
        return []

    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The config keys this model reads, as written in the stack files."""
        return tuple(f.alias for f in cls.model_fields.values() if f.alias)


@cache
def _union() -> TypeAdapter[Any]:
    models = tuple(kind.config_model() for kind in targets.KINDS.values())
    if len(models) == 1:
        return TypeAdapter(models[0])
    return TypeAdapter(Annotated[Union[models], Field(discriminator="stack_kind")])  # type: ignore[arg-type]  # noqa: UP007


def declared_keys() -> tuple[str, ...]:
    """Every config key some stack kind reads, as written in the stack files."""
    keys: dict[str, None] = {}
    for kind in targets.KINDS.values():
        keys.update(dict.fromkeys(kind.config_model().config_keys()))
    return tuple(keys)


def kinds_taking(key: str) -> tuple[str, ...]:
    return tuple(name for name, kind in targets.KINDS.items() if key in kind.config_model().config_keys())


def _line(stack_file: str, key: str, value: Any, reason: str) -> str:
    shown = value if isinstance(value, str) else json.dumps(value)
    return f"{stack_file}: {key}: {shown!r} {reason}"


def parse(raw: Mapping[str, Any], stack_file: str, defaults: Mapping[str, Any] | None = None) -> DixiConfig:
    """Validate `raw` (config key -> value, as Pulumi passes it) into the model of its stack kind.

    `defaults` are the project defaults from `Pulumi.yaml`: a key of another
    kind that still holds its default is not something the user set. Keys
    outside the `dixi` namespace are ignored unless a model reads them
    (`aws:region`); they belong to the providers.
    """
    defaults = defaults or {}
    known = declared_keys()
    relevant = {k: v for k, v in raw.items() if k in known or k.startswith(f"{NAMESPACE}:")}

    kinds = tuple(targets.KINDS)
    target = relevant.get(TARGET_KEY)
    if target is None:
        raise ConfigError([f"{stack_file}: {TARGET_KEY}: is not set; set it to one of {choices(kinds)}"])
    if not isinstance(target, str) or target.strip() not in kinds:
        found = str(target).strip()
        raise ConfigError([_line(stack_file, TARGET_KEY, target, f"is not a stack kind this project deploys; {suggest(found, kinds)}")])
    kind = targets.KINDS[target.strip()]
    model = kind.config_model()
    own = model.config_keys()

    lines: list[str] = []
    dixi_keys = tuple(k for k in known if k.startswith(f"{NAMESPACE}:"))
    for key in sorted(set(relevant) - set(known)):
        lines.append(f"{stack_file}: {key}: is not a config key of this project; {suggest(key, dixi_keys)}")
    for key in sorted(set(relevant) & set(known) - set(own)):
        if not key.startswith(f"{NAMESPACE}:") or (key in defaults and str(relevant[key]) == str(defaults[key])):
            continue  # provider keys are the provider's; a project default is not the user's choice
        lines.append(
            _line(stack_file, key, relevant[key], f"is not used by stack kind {kind.name!r}; kinds that take it: {', '.join(kinds_taking(key))}")
        )
    for key in own:
        if key not in relevant:
            lines.append(f"{stack_file}: {key}: is not set; set it in {stack_file} or declare a default in Pulumi.yaml")
    if lines:
        raise ConfigError(lines)

    values = {k: v for k, v in relevant.items() if k in own}
    try:
        config: DixiConfig = _union().validate_python({**values, TARGET_KEY: kind.name, "stack_file": stack_file}, by_alias=True)
    except ValidationError as error:
        for item in error.errors():
            # A discriminated union puts the tag first in the location.
            loc = [str(part) for part in item["loc"] if str(part) != kind.name]
            key = loc[0] if loc else "?"
            cause = item.get("ctx", {}).get("error")
            reason = str(cause) if isinstance(cause, Bad) else item["msg"]
            lines.append(_line(stack_file, key, item.get("input"), reason))
        raise ConfigError(lines) from None
    failures = config.cross_checks()
    if failures:
        raise ConfigError([_line(stack_file, key, value, reason) for key, value, reason in failures])
    return config


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def project_defaults(project_file: Path) -> dict[str, Any]:
    """The `config:` defaults of `Pulumi.yaml`, keyed `namespace:key` as Pulumi passes them."""
    import yaml

    document = yaml.safe_load(project_file.read_text()) or {}
    name = str(document.get("name", NAMESPACE))
    defaults: dict[str, Any] = {}
    for key, declaration in (document.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(declaration, dict) and "default" in declaration:
            defaults[full] = as_config_string(declaration["default"])
        elif not isinstance(declaration, dict):
            defaults[full] = as_config_string(declaration)
    return defaults


def as_config_string(value: Any) -> str:
    """A config value as the string Pulumi hands a program (lists and objects as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def from_pulumi() -> DixiConfig:
    """Read and validate the running stack's config (under `pulumi up` or the mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    project_file = Path(pulumi.get_root_directory() or ".") / "Pulumi.yaml"
    defaults = project_defaults(project_file) if project_file.is_file() else {}
    return parse(raw, stack_file_name(pulumi.get_stack()), defaults)
