"""Rules on VM user data, on every cloud (the cloud adapters say where each VM keeps it).

- `cloud-init-schema`: the user data validates with Debian's `cloud-init schema`
  (the real validator; skipped with a warning where cloud-init is not installed).
- `compose-spec`: every compose file the user data writes validates against the
  Compose spec that check-jsonschema ships (`vendor.compose-spec`).
- `compose-log-options`: every `logging.options` key of every compose service is
  one its Docker log driver accepts. Docker refuses to start a container with
  an unknown one (`unknown log opt 'awslogs-stream-prefix' for awslogs log
  driver`), which no schema catches: the Compose spec allows any string.
- `boot-fails-loudly`: each boot script stops at the first failed command
  (`set -e`), and nothing swallows the failure of the step that starts the app.
- `user-data-size`: the user data fits the size its cloud accepts.
- `secret-not-in-user-data`: where anyone but the VM can read the user data
  back (`UserData.readable_outside_host`, the default: EC2 and Compute
  Engine return it to whoever may describe the VM), no
  secret value of the plan appears in it, no user data is itself secret (a
  secret flowed into it), and no provider credential is in it. Where only the
  VM can (DigitalOcean: its API never returns user data; the metadata service
  serves it to the Droplet on 169.254.169.254, sources in
  infra/digitalocean/checks.py), a secret value or a secret-marked document is
  allowed only when all of these hold, else one error names what is missing:
  (a) the document is marked secret, so Pulumi encrypts it in its state (a
  secret in an unmarked document would sit there in plain text); (b) a boot
  script it writes blocks the containers from the metadata service: an
  `iptables -I|-A DOCKER-USER` line with `cloudinit.METADATA_BLOCK_RULE`
  on which the script stops if it fails (`set -e`, not in a condition, not
  followed by `||` or `&&`, not in the background; `iptables -C ... || iptables
  -I ...` of the same rule is fine), and no compose service it writes runs
  with `network_mode: host` (the DOCKER-USER chain filters forwarded traffic
  only); (c) no provider credential is in it. A block that only the first
  boot applies (no systemd unit or drop-in, saved iptables rules or bootcmd
  carries the rule) is a warning: iptables rules do not survive a reboot.
  Provider credentials are the values of `pulumi:providers:*` resources
  (their secrets, and inputs named like a credential) and the plain-text
  provider config of the stack files (`digitalocean:token`, `aws:secretKey`,
  ...). Limits: a `secure:` value in a stack file is not decrypted offline
  (every one reads as `stackfiles.SECRET_PLACEHOLDER`), so a secure provider
  credential in user data cannot be told from the app's own secure config:
  that is a warning that it could not be judged; and credentials the provider
  takes from the environment (`DIGITALOCEAN_TOKEN`, `AWS_SECRET_ACCESS_KEY`)
  never reach the plan at all, nor do values the program reads itself from
  files or the environment.

It also reads, for the rules on workloads (`event-bus-for-replicas`), the
services of every compose file a VM's user data writes (`compose_workloads`,
registered for every cloud's VMs at once): each compose service is a
`Workload` named by its key, with `deploy.replicas` (else `scale`, else 1)
replicas per host, and the env names of its `environment` (a list or a
mapping) and of its `env_file`s. An env file the user data writes is read;
`infra.common.compose.SECRETS_ENV_FILE` holds, by that renderer's contract,
only the spec's secrets of the service (`secret_env` and the bus password),
which the boot script fetches from the cloud's secret store; any other env
file is reported as unread. A VM template's hosts are not counted (its
workloads have no replica count), nor are compose files the user data
downloads instead of carrying.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

from infra import spec
from infra.checks import Problem, problem, rule
from infra.checks.adapters import (
    UserData,
    Workload,
    all_user_data,
    int_or,
    is_vm_template,
    user_data_workloads,
)
from infra.common import cloudinit
from infra.common.compose import SECRETS_ENV_FILE
from infra.config import ConfigError
from infra.plan import stackfiles
from infra.plan.model import RecordedPlan, reveal, secret_values

# The `--log-opt` keys each Docker log driver accepts: its ValidateLogOpt in
# moby/moby daemon/logger/<driver>/ (read at v28.5.2 and v29.7.2; the keys
# below are accepted by both). `mode`, `max-buffer-size` and the `cache-*`
# keys are taken out before any driver's own check (daemon/logger/factory.go,
# ValidateLogOpts; loggerutils/cache/validate.go). v29 also accepts
# `awslogs-create-stream`, which v28 refuses: left out, so a file valid here
# starts on either.
_EVERY_DRIVER: Final = frozenset({"mode", "max-buffer-size", "cache-disabled", "cache-max-file", "cache-max-size", "cache-compress"})
_ATTRIBUTES: Final = frozenset({"tag", "labels", "labels-regex", "env", "env-regex"})
LOG_DRIVER_OPTIONS: Final = MappingProxyType(
    {
        "awslogs": frozenset({
            "awslogs-group", "awslogs-stream", "awslogs-create-group", "awslogs-region", "awslogs-endpoint",
            "awslogs-datetime-format", "awslogs-multiline-pattern", "awslogs-credentials-endpoint",
            "awslogs-force-flush-interval-seconds", "awslogs-max-buffered-events", "awslogs-format", "tag",
        }),
        "json-file": frozenset({"max-file", "max-size", "compress"}) | _ATTRIBUTES,
        "local": frozenset({"max-file", "max-size", "compress"}),
        "journald": _ATTRIBUTES,
        "gcplogs": frozenset({"gcp-project", "gcp-log-cmd", "gcp-meta-zone", "gcp-meta-name", "gcp-meta-id", "labels", "labels-regex", "env", "env-regex"}),
        "syslog": frozenset({"syslog-address", "syslog-facility", "syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key", "syslog-tls-skip-verify", "syslog-format"}) | _ATTRIBUTES,
        "fluentd": frozenset({
            "fluentd-address", "fluentd-async", "fluentd-async-reconnect-interval", "fluentd-buffer-limit", "fluentd-max-retries",
            "fluentd-request-ack", "fluentd-retry-wait", "fluentd-sub-second-precision", "fluentd-write-timeout",
        }) | _ATTRIBUTES,
    }
)
# Options a driver cannot start without.
LOG_DRIVER_REQUIRED: Final = MappingProxyType({"awslogs": frozenset({"awslogs-group"})})
_STARTS_APP: Final = re.compile(r"\b(docker\s+compose\b.*\bup\b|docker\s+run\b|systemctl\s+(re)?start\b)")
_SWALLOWED: Final = re.compile(r"\|\|\s*(true|:)\s*(;|$)")
_ERREXIT: Final = re.compile(r"^\s*set\s+-[a-zA-Z]*e[a-zA-Z]*\b", re.M)


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
    found = [d for d in all_user_data(plan) if d.text.startswith("#cloud-config")]
    if not found:
        return []
    if cloud_init_binary() is None:
        return [
            problem("cloud-init-schema", "warning", d.resource, "cloud-init is not installed here, so the user data was not validated (Debian/Ubuntu: apt-get install cloud-init)")
            for d in found
        ]
    problems = []
    for document in found:
        complaint = validate_cloud_config(document.text)
        if complaint:
            problems.append(problem("cloud-init-schema", "error", document.resource, f"user data fails cloud-init's schema: {complaint}"))
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


def _compose_files(document: UserData) -> dict[str, str]:
    return {
        path: content
        for path, content in cloudinit.files_in(document.text).items()
        if path.endswith(("docker-compose.yml", "docker-compose.yaml", "compose.yaml", "compose.yml"))
    }


@rule("compose-spec")
def compose_spec(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for document in all_user_data(plan):
        for path, content in _compose_files(document).items():
            try:
                compose = yaml.safe_load(content)
            except yaml.YAMLError as error:
                problems.append(problem("compose-spec", "error", document.resource, f"{path} is not YAML: {error}"))
                continue
            for message in compose_errors(compose)[:5]:
                problems.append(problem("compose-spec", "error", document.resource, f"{path} breaks the Compose spec at {message}"))
    return problems


def _env_names(entry: dict[str, Any]) -> set[str]:
    environment = entry.get("environment") or {}
    if isinstance(environment, dict):
        return {str(k) for k in environment}
    return {str(item).split("=", 1)[0] for item in environment if isinstance(item, str)}


def _env_file_names(content: str) -> set[str]:
    """The names an env file sets (`NAME=value` lines; comments and blanks skipped)."""
    lines = (line.strip().removeprefix("export ").strip() for line in content.splitlines())
    return {line.split("=", 1)[0].strip() for line in lines if line and not line.startswith("#")}


def _env_files(entry: dict[str, Any]) -> list[str]:
    found = entry.get("env_file") or []
    items = [found] if isinstance(found, str) else found
    return [str(item.get("path") if isinstance(item, dict) else item) for item in items]


def _spec_secrets(name: str) -> set[str]:
    """The secret env names the spec gives service `name`: what the boot writes into the secrets env file."""
    service = spec.BY_NAME.get(name)
    if service is None:
        return set()
    return set(service.secret_env) | ({service.event_bus.password_env} if service.event_bus else set())


def _replicas(entry: dict[str, Any]) -> tuple[int | None, str]:
    deploy = entry.get("deploy") or {}
    if deploy.get("mode") == "global":
        return 1, "deploy.mode global (one per host)"
    for key, value in (("deploy.replicas", deploy.get("replicas")), ("scale", entry.get("scale"))):
        if value is not None:
            count = int_or(value, -1)
            return (count, f"{key} {count}") if count >= 0 else (None, f"{key} is {value!r}, not a number")
    return 1, "one container (no deploy.replicas)"


@user_data_workloads
def compose_workloads(document: UserData) -> list[Workload]:
    """The services of every compose file `document` writes, as workloads of its VM."""
    written = cloudinit.files_in(document.text)
    template = is_vm_template(document.resource.type)
    found = []
    for path, content in _compose_files(document).items():
        try:
            loaded = yaml.safe_load(content)
        except yaml.YAMLError:
            continue  # compose-spec reports it
        services = loaded.get("services") if isinstance(loaded, dict) else None
        for name, entry in (services or {}).items():
            if not isinstance(entry, dict):
                continue
            env, unread = _env_names(entry), []
            for env_file in _env_files(entry):
                if env_file in written:
                    env |= _env_file_names(written[env_file])
                elif env_file == SECRETS_ENV_FILE:
                    env |= _spec_secrets(str(name))
                else:
                    unread.append(f"env_file {env_file}, which the user data does not write")
            replicas, via = _replicas(entry)
            if template:
                replicas, via = None, f"{via} on each host made from this template, whose number the plan does not tie to it"
            found.append(Workload(document.resource, str(name), replicas, frozenset(env), tuple(unread), f"{path}: {via}"))
    return found


def log_option_errors(compose: Any) -> list[tuple[str, str]]:
    """(severity, message) for each compose service whose log options its driver would refuse."""
    found: list[tuple[str, str]] = []
    services = (compose or {}).get("services") or {}
    for name, service in sorted(services.items()):
        logging = (service or {}).get("logging") or {}
        driver = str(logging.get("driver") or "json-file")
        options = set((logging.get("options") or {}).keys())
        if driver == "none":
            continue
        accepted = LOG_DRIVER_OPTIONS.get(driver)
        if accepted is None:
            found.append(("warning", f"service {name!r} logs with the {driver!r} driver, whose options this check does not know; they were not checked"))
            continue
        for key in sorted(options - accepted - _EVERY_DRIVER):
            found.append(("error", f"service {name!r}: Docker's {driver} log driver refuses the option {key!r} (\"unknown log opt\"), so the container never starts; it accepts {', '.join(sorted(accepted))}"))
        for key in sorted(LOG_DRIVER_REQUIRED.get(driver, frozenset()) - options):
            found.append(("error", f"service {name!r}: Docker's {driver} log driver needs the option {key!r}"))
    return found


@rule("compose-log-options")
def compose_log_options(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for document in all_user_data(plan):
        for path, content in _compose_files(document).items():
            try:
                compose = yaml.safe_load(content)
            except yaml.YAMLError:
                continue  # compose-spec reports it
            for severity, message in log_option_errors(compose):
                problems.append(problem("compose-log-options", "error" if severity == "error" else "warning", document.resource, f"{path}: {message}"))
    return problems


def script_failures(script: str) -> list[str]:
    """Why a boot script could fail without anyone seeing it; empty when it fails loudly."""
    found = []
    if not _ERREXIT.search(script):
        found.append("does not stop at the first failed command (add `set -euo pipefail`)")
    for number, line in enumerate(script.splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
        if _SWALLOWED.search(code):
            found.append(f"line {number} swallows a failure: {line.strip()!r}")
        elif _STARTS_APP.search(code) and "||" in code:
            found.append(f"line {number} starts the app but carries on when that fails: {line.strip()!r}")
    return found


@rule("boot-fails-loudly")
def boot_fails_loudly(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for document in all_user_data(plan):
        scripts = {path: content for path, content in cloudinit.files_in(document.text).items() if content.startswith("#!")}
        if not document.text.startswith("#cloud-config"):
            scripts = {"user data": document.text} if document.text.startswith("#!") else {}
        for path, content in scripts.items():
            for reason in script_failures(content):
                problems.append(problem("boot-fails-loudly", "error", document.resource, f"boot script {path} {reason}; a failed boot must be visible, not a healthy-looking host"))
    return problems


@rule("user-data-size")
def user_data_size(plan: RecordedPlan, root: Path) -> list[Problem]:
    return [
        problem("user-data-size", "error", d.resource, f"user data is {len(d.text.encode())} bytes; {d.limit_source} accepts at most {d.limit_bytes}")
        for d in all_user_data(plan)
        if len(d.text.encode()) > d.limit_bytes
    ]


SECRET_RULE: Final = "secret-not-in-user-data"
# `iptables [-w] -I|-A DOCKER-USER ...`: a rule in the chain Docker sends every container's traffic through
# (https://docs.docker.com/engine/network/packet-filtering-firewalls/#add-iptables-policies-before-dockers-rules).
_DOCKER_USER_INSERT: Final = re.compile(r"\biptables(-legacy|-nft)?\b.*\s(-I|-A|--insert|--append)\s+DOCKER-USER\b")
_DOCKER_USER_CHECK: Final = re.compile(r"\biptables(-legacy|-nft)?\b.*\s(-C|--check)\s+DOCKER-USER\b")
# The shell's list operators and pipes, not the `&` of a redirection (`2>&1`, `&>`).
_OPERATORS: Final = re.compile(r"\|\||&&|;|(?<![>|])\|(?!\|)|(?<![<>&])&(?![>&])")
_CONDITION: Final = re.compile(r"^(if|elif|while|until)\b|^!\s")
_PIPEFAIL: Final = re.compile(r"^\s*set\s+(-[a-zA-Z]*o\s+pipefail|.*-o\s+pipefail)", re.M)
# Where a written file runs on every boot rather than once: systemd units and drop-ins, saved iptables rules.
_EVERY_BOOT_DIRS: Final = ("/etc/systemd/", "/etc/iptables/")
# A provider's config or input that holds a credential, by its name (DigitalOcean token/spacesSecretKey,
# AWS secretKey, Google credentials/accessToken, Azure clientSecret, Kubernetes kubeconfig).
_CREDENTIAL_NAME: Final = re.compile(r"token|secret|password|credential|key|accessid|kubeconfig", re.I)
_NOT_PROVIDERS: Final = frozenset({"pulumi", "dixi"})


def _scripts(document: UserData) -> dict[str, str]:
    """The shell scripts `document` carries: those its cloud-config writes, or itself when it is one."""
    if document.text.startswith("#cloud-config"):
        return {path: content for path, content in cloudinit.files_in(document.text).items() if content.startswith("#!")}
    return {"user data": document.text} if document.text.startswith("#!") else {}


def _code(line: str) -> str:
    return line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""


def _block_swallowed(script: str, code: str) -> str | None:
    """Why a failure of the metadata block on line `code` of `script` would go unnoticed (or the block not run), or None.

    The line is cut at the shell's list operators; the part holding the block
    must run unconditionally and end its list, or follow only a check of the
    same rule (`iptables -C DOCKER-USER <rule> || iptables -I ...`).
    """
    if not _ERREXIT.search(script):
        return "the script does not stop at a failed command (no `set -e`)"
    parts = _OPERATORS.split(code)
    operators = _OPERATORS.findall(code)
    index = next((i for i, part in enumerate(parts) if cloudinit.METADATA_BLOCK_RULE in part and _DOCKER_USER_INSERT.search(part)), None)
    if index is None:
        return "the rule could not be told apart from the other commands of its line"
    before = operators[index - 1] if index > 0 else ""
    after = operators[index] if index < len(operators) else ""
    if _CONDITION.search(parts[index].strip()):
        return "it runs as a condition, whose failure `set -e` ignores"
    if after == "||":
        return "the line carries on when it fails (`||`)"
    if after == "&&":
        return "it starts an `&&` list, whose failure `set -e` ignores"
    if after == "&":
        return "it runs in the background, where its failure stops nothing"
    if after == "|" and not _PIPEFAIL.search(script):
        return "its failure is hidden by a pipe (no `set -o pipefail`)"
    if before == "&&":
        return "it runs only when the command before it succeeds"
    if before == "||" and not (_DOCKER_USER_CHECK.search(parts[index - 1]) and cloudinit.METADATA_BLOCK_RULE in parts[index - 1]):
        return "it runs only when the command before it fails"
    return None


def _every_boot(document: UserData) -> bool:
    """Whether the metadata block is also applied on every boot (a systemd unit or drop-in, saved rules, bootcmd)."""
    for path, content in cloudinit.files_in(document.text).items():
        if path.startswith(_EVERY_BOOT_DIRS) and cloudinit.METADATA_BLOCK_RULE in content:
            return True
    try:
        loaded = yaml.safe_load(document.text) if document.text.startswith("#cloud-config") else None
    except yaml.YAMLError:
        return False
    bootcmd = loaded.get("bootcmd") if isinstance(loaded, dict) else None
    return cloudinit.METADATA_BLOCK_RULE in json.dumps(bootcmd or [])


def metadata_block(document: UserData) -> tuple[str | None, str | None]:
    """(why containers can still reach the metadata service, or None; a warning about reboots, or None).

    The block is an `iptables -I|-A DOCKER-USER` line with `METADATA_BLOCK_RULE`
    in a boot script `document` carries, on which the script stops if it fails.
    Compose services on the host's network (`network_mode: host`) bypass the
    DOCKER-USER chain, which filters only forwarded traffic.
    """
    swallowed: list[str] = []
    found = ""
    for path, script in _scripts(document).items():
        for number, line in enumerate(script.splitlines(), 1):
            code = _code(line)
            if cloudinit.METADATA_BLOCK_RULE not in code or not _DOCKER_USER_INSERT.search(code):
                continue
            reason = _block_swallowed(script, code)
            if reason is None:
                found = found or path
            else:
                swallowed.append(f"{path} line {number} ({code!r}): {reason}")
    if not found:
        if swallowed:
            return f"the boot script's metadata block may fail unnoticed: {'; '.join(swallowed)}", None
        return f"no boot script it writes blocks containers from the metadata service (`iptables -I DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}`)", None
    for path, content in _compose_files(document).items():
        try:
            loaded = yaml.safe_load(content)
        except yaml.YAMLError:
            continue  # compose-spec reports it
        services = loaded.get("services") if isinstance(loaded, dict) else None
        host = sorted(str(name) for name, entry in (services or {}).items() if isinstance(entry, dict) and entry.get("network_mode") == "host")
        if host:
            return f"{path} runs {', '.join(host)} with network_mode host, which the DOCKER-USER chain does not filter, so the metadata block does not cover it", None
    if _every_boot(document):
        return None, None
    return None, (
        f"the metadata block runs only in {found}, once at first boot; iptables rules do not survive a reboot, after which Docker restarts "
        "the containers with nothing between them and the user data on 169.254.169.254; apply it on every boot too "
        "(a systemd unit or docker.service drop-in under /etc/systemd/, or cloud-config bootcmd)"
    )


def _named_strings(value: Any, name: str = "") -> list[tuple[str, str]]:
    """(field name, value) of every string in `value`, secrets unwrapped."""
    value = reveal(value)
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _named_strings(item, str(key))]
    if isinstance(value, list):
        return [found for item in value for found in _named_strings(item, name)]
    return [(name, value)] if isinstance(value, str) else []


def provider_credentials(plan: RecordedPlan, root: Path) -> tuple[dict[str, str], list[str]]:
    """(credential value -> where it is from; the stack's provider credentials the plan holds only as placeholders).

    Read from the inputs and state of `pulumi:providers:*` resources (their
    secrets, and fields named like a credential) and from the stack's provider
    config in Pulumi.yaml / Pulumi.<stack>.yaml. A `secure:` value there is not
    decrypted offline: the program got `stackfiles.SECRET_PLACEHOLDER`, the
    same for every secure key, so those keys are returned by name only.
    """
    found: dict[str, str] = {}
    for resource in plan.resources:
        if not resource.type.startswith("pulumi:providers:"):
            continue
        for source in (resource.inputs, resource.state):
            values = [v for v in secret_values(source) if isinstance(v, str)]
            values += [v for name, v in _named_strings(source) if _CREDENTIAL_NAME.search(name)]
            for value in values:
                if len(value) >= 8:
                    found.setdefault(value, f"provider {resource.name} ({resource.type})")
    try:
        files = stackfiles.load(root, plan.stack)
    except (ConfigError, OSError):
        return found, []
    packages = {r.package for r in plan.resources} - _NOT_PROVIDERS - {plan.project}
    unseen = []
    for key, value in sorted(files.values.items()):
        namespace, _, name = key.partition(":")
        if namespace not in packages or not _CREDENTIAL_NAME.search(name):
            continue
        if key in files.secret_keys:
            unseen.append(key)
        elif len(value) >= 8:
            found.setdefault(value, f"stack config {key}")
    return found, unseen


@rule(SECRET_RULE)
def secret_not_in_user_data(plan: RecordedPlan, root: Path) -> list[Problem]:
    secrets = {
        value
        for r in plan.resources
        for source in (r.inputs, r.state)
        for value in secret_values(source)
        if isinstance(value, str) and len(value) >= 8
    }
    credentials, unseen = provider_credentials(plan, root)
    problems = []
    for document in all_user_data(plan):
        leaked = [s for s in secrets if s in document.text and s != document.text]  # a secret document is not a leak of itself
        held = sorted({where for value, where in credentials.items() if value in document.text})
        if document.readable_outside_host:
            if document.marked_secret:
                problems.append(problem(SECRET_RULE, "error", document.resource, "user data is marked secret: a secret value flowed into it, where anyone who can describe the VM reads it"))
            if leaked:
                problems.append(problem(SECRET_RULE, "error", document.resource, f"user data holds {len(leaked)} secret value(s) in plain text; fetch secrets at boot from the cloud's secret store"))
            if held:
                problems.append(problem(SECRET_RULE, "error", document.resource, f"user data holds the provider credential(s) of {', '.join(held)}, which must never reach a host"))
            continue
        if not (leaked or document.marked_secret or held):
            continue
        missing = []
        if not document.marked_secret:
            missing.append("it is not marked secret, so Pulumi would keep the secret unencrypted in its state (send the user data as pulumi.Output.secret)")
        blocked, reboot = metadata_block(document)
        if blocked:
            missing.append(blocked)
        if held:
            missing.append(f"it holds the provider credential(s) of {', '.join(held)}, which must never reach a host")
        what = f"holds {len(leaked)} secret value(s)" if leaked else "is marked secret"
        allowed = (
            f"user data {what}; only the VM can read it ({document.reader_source or document.limit_source}), so a secret may sit there only when "
            "the document is marked secret, a boot script blocks containers from the metadata service, and no provider credential is in it"
        )
        if missing:
            problems.append(problem(SECRET_RULE, "error", document.resource, f"{allowed}; here {'; and '.join(missing)}"))
            continue
        if reboot:
            problems.append(problem(SECRET_RULE, "warning", document.resource, f"{allowed}, which holds at first boot, but {reboot}"))
        if unseen and stackfiles.SECRET_PLACEHOLDER in document.text:
            problems.append(problem(SECRET_RULE, "warning", document.resource, f"user data holds a secure config value, and the stack file sets the provider credential(s) {', '.join(unseen)} as secure values; "
                                    "offline every secure value reads as the same placeholder, so whether a provider credential is in it could not be judged"))
    return problems
