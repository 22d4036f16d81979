"""The stack config, validated whole before the first resource is registered.

Pulumi hands a program its config as strings keyed `namespace:key` (objects as
JSON). `parse()` turns those strings into one typed, frozen `DixiConfig`, or
raises `ConfigError` whose lines each name the stack file, the key, the bad
value and what is allowed. Both `pulumi up` (through `from_pulumi()`) and the
offline `dixi plan` (which reads `Pulumi.yaml` and `Pulumi.<stack>.yaml`
itself) go through `parse()`, so both reject the same configs the same way.

Defaults live in `Pulumi.yaml` only; the model has none, so a key missing from
both files is an error rather than a silent second default. Unknown `dixi:*`
keys are errors: a typo must never be silently ignored.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from infra import spec
from infra.cost import prices

NAMESPACE: Final = "dixi"
STACK_KINDS: Final = ("aws-ec2",)
LOG_RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$")
_MODEL = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?(:[A-Za-z0-9._-]+)?$")


class ConfigError(Exception):
    """A stack config that cannot be deployed; `lines` holds one sentence per bad key."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class _Bad(ValueError):
    """A value rejected with a sentence saying what is allowed."""


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def _suggest(value: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.85)
    return f"did you mean {close[0]!r}?" if close else f"allowed: {_choices(allowed)}"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("is not a string")
    return value.strip()


def _stack_kind(value: Any) -> str:
    text = _text(value)
    if text not in STACK_KINDS:
        raise _Bad(f"is not a stack kind this project deploys; {_suggest(text, STACK_KINDS)}")
    return text


def _region(value: Any) -> str:
    text = _text(value)
    allowed = prices.supported_aws_regions()
    if text not in allowed:
        raise _Bad(f"is not a region this stack can price or run; {_suggest(text, allowed)}")
    return text


def _instance_type(value: Any) -> str:
    text = _text(value)
    # Checked against the region's price table in DixiConfig._cross_checks.
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[0-9a-z]+", text):
        raise _Bad("is not an EC2 instance type (like 'g4dn.xlarge')")
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("true", "false"):
        return text == "true"
    raise _Bad("is not a boolean; allowed: true, false")


def _int_in(low: int, high: int) -> BeforeValidator:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise _Bad(f"is not a whole number; allowed: {low} to {high}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _Bad(f"is not a whole number; allowed: {low} to {high}") from None
        if not low <= number <= high:
            raise _Bad(f"is out of range; allowed: {low} to {high}")
        return number

    return BeforeValidator(check)


def _retention(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise _Bad(f"is not a CloudWatch Logs retention period; allowed days: {allowed}")
    return number


def _domain(value: Any) -> str | None:
    text = _text(value).lower()
    if not text:
        return None
    if not _DOMAIN.match(text):
        raise _Bad("is not a DNS name; use a name like 'dixi.example.com', or '' for plain HTTP")
    return text


def _model(value: Any) -> str:
    text = _text(value)
    if not _MODEL.match(text):
        raise _Bad("is not an Ollama model name; use a name like 'llama3.2' or 'qwen2.5:7b'")
    return text


def _cidr(value: Any) -> str:
    text = _text(value)
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise _Bad("is not an IPv4 network; use a /16 to /24 private range like '10.20.0.0/16'") from None
    if not network.is_private or not 16 <= network.prefixlen <= 24:
        raise _Bad("must be a private IPv4 range from /16 to /24, like '10.20.0.0/16'")
    return str(network)


_IMAGES_EXAMPLE = "['backend=ghcr.io/acme/dixi-backend@sha256:...']"


def _images(value: Any) -> dict[str, str]:
    """`service=reference` entries (Pulumi's project config has no object type)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            raise _Bad(f"is not a list; use e.g. {_IMAGES_EXAMPLE}") from None
    if not isinstance(value, list):
        raise _Bad(f"is not a list of service=reference entries; use e.g. {_IMAGES_EXAMPLE}")
    allowed = tuple(spec.BY_NAME)
    refs: dict[str, str] = {}
    for entry in value:
        service, _, ref = str(entry).partition("=")
        service, ref = service.strip(), ref.strip()
        if not ref:
            raise _Bad(f"has {entry!r}, which is not service=reference; use e.g. {_IMAGES_EXAMPLE}")
        if service not in allowed:
            raise _Bad(f"names the unknown service {service!r}; {_suggest(service, allowed)}")
        if service in refs:
            raise _Bad(f"names {service!r} twice")
        if not _IMAGE_REF.match(ref):
            raise _Bad(f"has {ref!r} for {service!r}, which is not an image reference (registry/name:tag or @sha256:digest)")
        refs[service] = ref
    return refs


class DixiConfig(BaseModel):
    """Everything the program reads from the stack config, typed and checked."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)

    stack_file: str = Field(exclude=True)
    stack_kind: Annotated[Literal["aws-ec2"], BeforeValidator(_stack_kind)] = Field(alias="dixi:target")
    region: Annotated[str, BeforeValidator(_region)] = Field(alias="aws:region")
    domain: Annotated[str | None, BeforeValidator(_domain)] = Field(alias="dixi:domain")
    gpu_instance_type: Annotated[str, BeforeValidator(_instance_type)] = Field(alias="dixi:gpuInstanceType")
    root_volume_gib: Annotated[int, _int_in(60, 2000)] = Field(alias="dixi:rootVolumeGiB")
    data_volume_gib: Annotated[int, _int_in(20, 16000)] = Field(alias="dixi:dataVolumeGiB")
    ollama_model: Annotated[str, BeforeValidator(_model)] = Field(alias="dixi:ollamaModel")
    retain_data: Annotated[bool, BeforeValidator(_bool)] = Field(alias="dixi:retainData")
    images: Annotated[dict[str, str], BeforeValidator(_images)] = Field(alias="dixi:images")
    log_retention_days: Annotated[int, BeforeValidator(_retention)] = Field(alias="dixi:logRetentionDays")
    vpc_cidr: Annotated[str, BeforeValidator(_cidr)] = Field(alias="dixi:vpcCidr")

    def image_for(self, service: str) -> str | None:
        """The prebuilt image reference for `service`, or None when the stack builds it."""
        return self.images.get(service)


def declared_keys() -> tuple[str, ...]:
    """The config keys the program reads, as written in the stack files."""
    return tuple(f.alias for f in DixiConfig.model_fields.values() if f.alias)


def _line(stack_file: str, key: str, value: Any, reason: str) -> str:
    shown = value if isinstance(value, str) else json.dumps(value)
    return f"{stack_file}: {key}: {shown!r} {reason}"


def parse(raw: Mapping[str, Any], stack_file: str) -> DixiConfig:
    """Validate `raw` (config key -> value, as Pulumi passes it) into a `DixiConfig`.

    Keys outside the `dixi` namespace are ignored unless the program reads them
    (`aws:region`); they belong to the providers.
    """
    known = declared_keys()
    relevant = {k: v for k, v in raw.items() if k in known or k.startswith(f"{NAMESPACE}:")}
    lines: list[str] = []
    for key in sorted(set(relevant) - set(known)):
        dixi_keys = tuple(k for k in known if k.startswith(f"{NAMESPACE}:"))
        lines.append(
            f"{stack_file}: {key}: is not a config key of this project; {_suggest(key, dixi_keys)}"
        )
    for key in known:
        if key not in relevant:
            lines.append(f"{stack_file}: {key}: is not set; set it in {stack_file} or declare a default in Pulumi.yaml")
    if lines:
        raise ConfigError(lines)
    try:
        config = DixiConfig.model_validate({**relevant, "stack_file": stack_file}, by_alias=True)
    except ValidationError as error:
        for item in error.errors():
            key = str(item["loc"][0]) if item["loc"] else "?"
            cause = item.get("ctx", {}).get("error")
            reason = str(cause) if isinstance(cause, _Bad) else item["msg"]
            lines.append(_line(stack_file, key, item.get("input"), reason))
        raise ConfigError(lines) from None
    _cross_checks(config)
    return config


def _cross_checks(config: DixiConfig) -> None:
    """Rules that span keys: the instance type must be priced in the chosen region."""
    allowed = prices.aws_instance_types(config.region)
    if config.gpu_instance_type not in allowed:
        raise ConfigError(
            [
                _line(
                    config.stack_file,
                    "dixi:gpuInstanceType",
                    config.gpu_instance_type,
                    f"is not an instance type this stack can price or run in {config.region}; "
                    f"{_suggest(config.gpu_instance_type, allowed)}",
                )
            ]
        )


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def from_pulumi() -> DixiConfig:
    """Read and validate the running stack's config (under `pulumi up` or the mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return parse(raw, stack_file_name(pulumi.get_stack()))
