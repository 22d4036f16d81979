"""Render cloud-init user data that prepares a VM and starts the app's compose file.

Shared by the VM targets. The document is `#cloud-config` with `write_files`
(the compose file, the boot script, and the systemd units for the data
volume) and one `runcmd` entry that runs the script once, at first boot.

The boot script:
- stops at the first failed command (`set -Eeuo pipefail`); a trap then logs
  `DIXI BOOT FAILED`, the containers' state and their last log lines, runs the
  cloud's `on_failure` steps (AWS sends the boot log to the stack's log group)
  and exits non-zero, so cloud-init reports an error (`cloud-init status`,
  /var/log/cloud-init-output.log, the instance's console output) instead of a
  host that looks healthy while the load balancer serves errors;
- mounts the data volume first (when there is one), then installs Docker, the
  Compose plugin and the NVIDIA container toolkit only when missing (GPU
  images such as AWS's Deep Learning AMI already have them);
- runs the cloud's steps (registry login, fetching the secret env file,
  syncing models), with `retry` for calls that may meet eventual consistency;
- pulls, starts, and waits until the services the load balancer needs are
  healthy. Ollama is waited for only until it runs: its first model pull may
  take longer than a boot should, and the backend's readiness reports it.

Across reboots: containers restart with the Docker daemon (`restart:
unless-stopped`), and Docker requires the data mount (`RequiresMountsFor`), so
after a reboot no container starts on the root disk when the volume is late
or missing. A timer grows the data filesystem to the volume's size (online,
`resize2fs`), so a bigger volume needs no reboot and no new host.

What it never does: put a secret in the user data. Targets hand the script
commands that fetch secrets at boot from their secret store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import yaml

COMPOSE_PATH: Final = "/opt/dixi/docker-compose.yml"
BOOT_SCRIPT_PATH: Final = "/opt/dixi/boot.sh"
BOOT_LOG: Final = "/var/log/dixi-boot.log"
SYSTEMD_DIR: Final = "/etc/systemd/system"
GROW_UNIT: Final = "dixi-grow-data"
# Services the load balancer's path needs healthy before the boot counts as done.
WAIT_HEALTHY: Final = ("frontend", "backend", "vision")
WAIT_RUNNING: Final = ("ollama",)
HEALTH_TIMEOUT_SECONDS: Final = 900
# The iptables rule (after `-I DOCKER-USER` or `-A DOCKER-USER`) that keeps containers from the
# metadata service on 169.254.169.254, where a host-only cloud serves the user data; the check
# `secret-not-in-user-data` (infra/checks/userdata.py) looks for it before it allows a secret there.
METADATA_BLOCK_RULE: Final = "-d 169.254.169.254/32 -j DROP"

_HELPERS: Final = rf"""
export DEBIAN_FRONTEND=noninteractive
fail() {{  # fail MESSAGE: a failed command, so the ERR trap reports it (a bare `exit` would not)
  echo "$*" >&2
  return 1
}}
retry() {{  # retry CMD...: up to 5 tries, waiting 5, 20, 45, 80 s between them
  local try=1
  until "$@"; do
    if [ "$try" -ge 5 ]; then echo "failed after $try tries: $*" >&2; return 1; fi
    sleep $((try * try * 5)); try=$((try + 1))
  done
}}
container_state() {{  # container_state SERVICE FIELD: the compose service's container's .State.FIELD
  local id
  id="$(docker compose -f {COMPOSE_PATH} ps -q "$1" 2>/dev/null)"
  [ -n "$id" ] && docker inspect -f "{{{{.State.$2}}}}" "$id" 2>/dev/null
}}
wait_for() {{  # wait_for FIELD VALUE SECONDS SERVICE...
  local field="$1" value="$2" deadline=$((SECONDS + $3)); shift 3
  for service in "$@"; do
    until [ "$(container_state "$service" "$field")" = "$value" ]; do
      if [ "$SECONDS" -ge "$deadline" ]; then echo "$service: $field is not $value after ${{SECONDS}}s" >&2; return 1; fi
      sleep 5
    done
    echo "$service: $field is $value"
  done
}}
""".strip()

_INSTALL_DOCKER: Final = r"""
if ! command -v docker >/dev/null 2>&1; then
  retry apt-get update -q
  retry apt-get install -y -q docker.io
fi
if ! docker compose version >/dev/null 2>&1; then
  retry apt-get update -q
  retry apt-get install -y -q docker-compose-v2
fi
if command -v nvidia-smi >/dev/null 2>&1 && ! command -v nvidia-ctk >/dev/null 2>&1; then
  # The toolkit lives in NVIDIA's own apt repository.
  curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/gpgkey \
    | gpg --dearmor -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
  curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \
    | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' \
    > /etc/apt/sources.list.d/nvidia-container-toolkit.list
  retry apt-get update -q
  retry apt-get install -y -q nvidia-container-toolkit
fi
if command -v nvidia-ctk >/dev/null 2>&1 && ! grep -q nvidia /etc/docker/daemon.json 2>/dev/null; then
  nvidia-ctk runtime configure --runtime=docker
fi
systemctl daemon-reload
systemctl enable docker
systemctl restart docker
""".strip()


def data_volume_steps(device: str, mount_point: str, wait_seconds: int = 900) -> list[str]:
    """Wait for the data volume at `device`, format it if blank, mount it at `mount_point`.

    The volume is attached after the host starts (and re-attached to a
    replacement host), so the script waits for it. An existing filesystem is
    never formatted again: that is what keeps the data across hosts.
    """
    return [
        f"for _ in $(seq {wait_seconds // 5}); do [ -e {device} ] && break; sleep 5; done",
        f'[ -e {device} ] || fail "data volume {device} never appeared"',
        f"blkid {device} >/dev/null 2>&1 || mkfs.ext4 -q -L dixi-data {device}",
        f"install -d -m 0755 {mount_point}",
        f'uuid="$(blkid -s UUID -o value {device})"',
        # nofail: a missing volume must not stop the host from booting (and
        # reaching Session Manager); Docker's RequiresMountsFor keeps the app off the root disk.
        f'grep -q "$uuid" /etc/fstab || echo "UUID=$uuid {mount_point} ext4 defaults,nofail 0 2" >> /etc/fstab',
        "systemctl daemon-reload",
        f"mountpoint -q {mount_point} || mount {mount_point}",
        f"resize2fs {device}",
        f"systemctl enable --now {GROW_UNIT}.timer",
    ]


def data_volume_files(device: str, mount_point: str) -> list[tuple[str, str]]:
    """Systemd units for the data volume: Docker needs the mount; a timer grows the filesystem."""
    return [
        (
            f"{SYSTEMD_DIR}/docker.service.d/dixi-data.conf",
            f"# Written by Dixi Deploy: containers keep their data on {mount_point}; never start without it.\n"
            f"[Unit]\nRequiresMountsFor={mount_point}\n",
        ),
        (
            f"{SYSTEMD_DIR}/{GROW_UNIT}.service",
            "[Unit]\nDescription=Grow the Dixi data filesystem to its volume's size\n"
            f"RequiresMountsFor={mount_point}\n\n[Service]\nType=oneshot\nExecStart=/sbin/resize2fs {device}\n",
        ),
        (
            f"{SYSTEMD_DIR}/{GROW_UNIT}.timer",
            "[Unit]\nDescription=Grow the Dixi data filesystem after the volume grows\n\n"
            "[Timer]\nOnBootSec=1min\nOnUnitActiveSec=10min\n\n[Install]\nWantedBy=timers.target\n",
        ),
    ]


def preamble(on_failure: Sequence[str] = (), log_path: str = BOOT_LOG) -> list[str]:
    """The script's first lines: strict mode, a log, the helpers, and the trap that makes a failure loud."""
    compose = f"docker compose -f {COMPOSE_PATH}"
    return [
        "#!/bin/bash",
        "# Written by Dixi Deploy (infra/common/cloudinit.py). Runs once, at first boot.",
        "set -Eeuo pipefail",
        f"exec > >(tee -a {log_path}) 2>&1",
        _HELPERS,
        "boot_failed() {",
        "  local status=$? line=$1",
        "  set +e",
        f'  echo "DIXI BOOT FAILED (exit $status at line $line of {BOOT_SCRIPT_PATH}); the app is not running as deployed"',
        f"  if command -v docker >/dev/null 2>&1 && [ -f {COMPOSE_PATH} ]; then {compose} ps -a; {compose} logs --no-color --tail 50; fi",
        *(f"  {step}" for step in on_failure),
        '  exit "$status"',
        "}",
        "trap 'boot_failed $LINENO' ERR",
    ]


def boot_script(
    data_dirs: Sequence[tuple[str, int]],
    before_start: Sequence[str],
    on_failure: Sequence[str] = (),
    prepare_storage: Sequence[str] = (),
    wait_healthy: Sequence[str] = WAIT_HEALTHY,
    wait_running: Sequence[str] = WAIT_RUNNING,
    harden: Sequence[str] = (),
) -> str:
    """The script cloud-init runs once: prepare storage, install, run the cloud's steps, start, wait.

    `data_dirs` are (host directory, owner uid) pairs: each container runs as
    a non-root uid and must be able to write its volume. `on_failure` runs
    when any step fails, after the script has logged what it knows. The boot
    ends when the `wait_healthy` services report healthy and the
    `wait_running` ones run (a host that runs only some of the services
    names those). `harden` runs before Docker is installed or restarted
    (firewall rules the containers must never start without).
    """
    compose = f"docker compose -f {COMPOSE_PATH}"
    lines = [
        *preamble(on_failure),
        *prepare_storage,
        *harden,
        _INSTALL_DOCKER,
        *(f"install -d -m 0750 -o {uid} -g {uid} {path}" for path, uid in data_dirs),
        "install -d -m 0700 /opt/dixi",
        *before_start,
        f"retry {compose} pull --quiet",
        f"{compose} up -d",
        *([f"wait_for Health.Status healthy {HEALTH_TIMEOUT_SECONDS} {' '.join(wait_healthy)}"] if wait_healthy else []),
        *([f"wait_for Status running 300 {' '.join(wait_running)}"] if wait_running else []),
        'echo "DIXI BOOT DONE"',
    ]
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so the files read as files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(
    compose_yaml: str,
    script: str,
    files: Sequence[tuple[str, str]] = (),
    *,
    private_files: Sequence[tuple[str, str]] = (),
    settings: Mapping[str, Any] | None = None,
) -> str:
    """The `#cloud-config` user data that writes the compose file, the script and `files`, then runs the script.

    `private_files` are written readable by root only (0600): a target whose
    user data only the VM itself can read hands its secrets over so (see
    `infra.checks.userdata`). `settings` are further cloud-config keys
    (e.g. `ssh_pwauth`), validated with the rest by `cloud-init schema`.
    """
    document: dict[str, Any] = {
        **dict(settings or {}),
        "write_files": [
            {"path": COMPOSE_PATH, "permissions": "0644", "owner": "root:root", "content": compose_yaml},
            {"path": BOOT_SCRIPT_PATH, "permissions": "0700", "owner": "root:root", "content": script},
            *({"path": path, "permissions": "0644", "owner": "root:root", "content": content} for path, content in files),
            *({"path": path, "permissions": "0600", "owner": "root:root", "content": content} for path, content in private_files),
        ],
        "runcmd": [[BOOT_SCRIPT_PATH]],
    }
    return "#cloud-config\n" + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000)


def files_in(user_data: str) -> dict[str, str]:
    """The files a `#cloud-config` document writes, path -> content (for the checks)."""
    if not user_data.startswith("#cloud-config"):
        return {}
    try:
        document = yaml.safe_load(user_data) or {}
    except yaml.YAMLError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(f.get("path")): str(f.get("content", "")) for f in document.get("write_files", []) or [] if isinstance(f, dict)}
