"""Render cloud-init user data that installs Docker and starts the app's compose file.

Shared by the VM targets. The document is `#cloud-config` with `write_files`
(the compose file and a boot script) and one `runcmd` entry that runs the
script. The script is idempotent: it installs Docker, the Compose plugin and
the NVIDIA container toolkit only when missing (GPU images such as AWS's Deep
Learning AMI already have them), runs the cloud-specific steps each target
passes in (registry login, fetching the secret env file, syncing models),
then `docker compose up -d`. Containers restart with the Docker daemon, so a
reboot needs no cloud-init.

What it never does: put a secret in the user data. Targets hand the script
commands that fetch secrets at boot from their secret store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import yaml

COMPOSE_PATH: Final = "/opt/dixi/docker-compose.yml"
BOOT_SCRIPT_PATH: Final = "/opt/dixi/boot.sh"

_INSTALL_DOCKER: Final = r"""
if ! command -v docker >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io
fi
if ! docker compose version >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose-v2 || \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose-plugin
fi
if command -v nvidia-smi >/dev/null 2>&1 && ! command -v nvidia-ctk >/dev/null 2>&1; then
  # The toolkit lives in NVIDIA's own apt repository.
  curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey \
    | gpg --dearmor -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
  curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \
    | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' \
    > /etc/apt/sources.list.d/nvidia-container-toolkit.list
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nvidia-container-toolkit
fi
if command -v nvidia-ctk >/dev/null 2>&1 && ! grep -q nvidia /etc/docker/daemon.json 2>/dev/null; then
  nvidia-ctk runtime configure --runtime=docker
fi
systemctl enable --now docker
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
        f'[ -e {device} ] || {{ echo "data volume {device} never appeared" >&2; exit 1; }}',
        f"blkid {device} >/dev/null 2>&1 || mkfs.ext4 -q -L dixi-data {device}",
        f"install -d -m 0755 {mount_point}",
        f'uuid="$(blkid -s UUID -o value {device})"',
        f'grep -q "$uuid" /etc/fstab || echo "UUID=$uuid {mount_point} ext4 defaults,nofail 0 2" >> /etc/fstab',
        f"mountpoint -q {mount_point} || mount {mount_point}",
    ]


def boot_script(
    data_dirs: Sequence[tuple[str, int]], before_start: Sequence[str], prepare_storage: Sequence[str] = ()
) -> str:
    """The script cloud-init runs once: install, prepare, start.

    `data_dirs` are (host directory, owner uid) pairs: each container runs as
    a non-root uid and must be able to write its volume.
    """
    lines = [
        "#!/bin/bash",
        "# Written by Dixi Deploy (infra/common/cloudinit.py). Runs once, at first boot.",
        "set -euo pipefail",
        "exec > >(tee -a /var/log/dixi-boot.log) 2>&1",
        _INSTALL_DOCKER,
        *prepare_storage,
        *(f"install -d -m 0750 -o {uid} -g {uid} {path}" for path, uid in data_dirs),
        "install -d -m 0700 /opt/dixi",
        *before_start,
        f"docker compose -f {COMPOSE_PATH} pull",
        f"docker compose -f {COMPOSE_PATH} up -d --wait --wait-timeout 900 || "
        f"docker compose -f {COMPOSE_PATH} ps",
    ]
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so the files read as files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(compose_yaml: str, script: str) -> str:
    """The `#cloud-config` user data that writes both files and runs the script."""
    document = {
        "write_files": [
            {"path": COMPOSE_PATH, "permissions": "0644", "owner": "root:root", "content": compose_yaml},
            {"path": BOOT_SCRIPT_PATH, "permissions": "0700", "owner": "root:root", "content": script},
        ],
        "runcmd": [[BOOT_SCRIPT_PATH]],
    }
    return "#cloud-config\n" + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000)


def files_in(user_data: str) -> dict[str, str]:
    """The files a `#cloud-config` document writes, path -> content (for the checks)."""
    if not user_data.startswith("#cloud-config"):
        return {}
    document = yaml.safe_load(user_data) or {}
    return {str(f.get("path")): str(f.get("content", "")) for f in document.get("write_files", []) or []}
