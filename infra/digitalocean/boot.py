"""DigitalOcean's part of a Droplet's boot: the files it is handed, the metadata block, its private address, model sync.

Pure functions that return shell lines and files for `infra.common.cloudinit`;
they create nothing.

DigitalOcean has no instance identity and no secret store a Droplet could
fetch from: whatever a Droplet needs at boot (the gesture token, the bus
password, the registry's pull credentials, a read-only Spaces key) reaches it
in its user data. The DigitalOcean API never returns user data (its Droplet
object has no such field: github.com/digitalocean/openapi,
specification/resources/droplets/models/droplet.yml); the Droplet reads it
from the metadata service on the link-local 169.254.169.254
(docs.digitalocean.com/reference/api/metadata/). So:
- the secrets are files cloud-init writes 0600 (`private_files`), and the user
  data goes to Pulumi as a secret, so the state holds it encrypted;
- no container may reach the metadata service: `metadata_block()` drops their
  traffic to 169.254.169.254 in Docker's DOCKER-USER chain, through a systemd
  unit ordered before Docker, so after a reboot no container starts before
  the rule is back, and Docker does not start at all if the unit fails
  (`RequiredBy=docker.service`) (Docker keeps the rules of an existing DOCKER-USER chain:
  docs.docker.com/engine/network/packet-filtering-firewalls/, "Add iptables
  policies before Docker's rules");
- the DigitalOcean API token and the account's Spaces keys never reach a
  Droplet: the stack never reads them (the provider does).

The private address: compose publishes Ollama, the bus and the frontend on
the Droplet's VPC address only (`${DIXI_PRIVATE_IP}` in the compose file,
from `/opt/dixi/.env`, which compose reads from the project directory), so
nothing of the app listens on the public interface even if a firewall rule
were wrong.
"""

from __future__ import annotations

from typing import Final

from infra.common import cloudinit

METADATA: Final = "http://169.254.169.254/metadata/v1"
PRIVATE_IP_VAR: Final = "DIXI_PRIVATE_IP"
# How a compose file names the address: compose stops with this message when the boot has not written it.
PRIVATE_IP: Final = f"${{{PRIVATE_IP_VAR}:?written to .env by the boot script}}"
COMPOSE_ENV_FILE: Final = "/opt/dixi/.env"
DOCKER_CONFIG_DIR: Final = "/opt/dixi/docker"
S3CMD_CONFIG: Final = "/opt/dixi/s3cfg"
BLOCK_UNIT: Final = "dixi-metadata-block"
# DigitalOcean names an attached volume under /dev/disk/by-id as scsi-0DO_Volume_<volume name>
# (docs.digitalocean.com/products/volumes/how-to/mount/).
VOLUME_DEVICE_PREFIX: Final = "/dev/disk/by-id/scsi-0DO_Volume_"

_BLOCK_COMMAND: Final = f"/usr/sbin/iptables -I DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}"
_CHECK_COMMAND: Final = f"/usr/sbin/iptables -C DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}"


def volume_device(volume_name: str) -> str:
    return f"{VOLUME_DEVICE_PREFIX}{volume_name}"


def metadata_block_unit() -> tuple[str, str]:
    """The systemd unit that puts the metadata block in place before Docker starts, at every boot."""
    script = (
        "/bin/sh -c '/usr/sbin/iptables -N DOCKER-USER 2>/dev/null; "
        f"{_CHECK_COMMAND} 2>/dev/null || {_BLOCK_COMMAND}'"
    )
    return (
        f"{cloudinit.SYSTEMD_DIR}/{BLOCK_UNIT}.service",
        "[Unit]\nDescription=Keep Dixi's containers away from the Droplet metadata service (it serves the user data)\n"
        "Before=docker.service\nAfter=network-pre.target\n\n"
        f"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart={script}\n\n"
        "[Install]\nWantedBy=multi-user.target\nRequiredBy=docker.service\n",
    )


def metadata_block() -> list[str]:
    """Boot steps, before Docker is installed: enable the unit and put the rule in now (loudly, if it fails)."""
    return [
        "systemctl daemon-reload",
        f"systemctl enable --now {BLOCK_UNIT}.service",
        f"iptables -C DOCKER-USER {cloudinit.METADATA_BLOCK_RULE} || iptables -I DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}",
    ]


def private_address() -> list[str]:
    """Write the Droplet's VPC address where compose reads it (`${DIXI_PRIVATE_IP}`)."""
    return [
        f'private_ip="$(retry curl -fsS -m 5 {METADATA}/interfaces/private/0/ipv4/address)"',
        '[ -n "$private_ip" ] || fail "the metadata service gave no private address; is the Droplet in a VPC?"',
        f"printf '{PRIVATE_IP_VAR}=%s\\n' \"$private_ip\" > {COMPOSE_ENV_FILE}",
    ]


def registry_login() -> list[str]:
    """Docker reads the pull credentials cloud-init wrote (DOCKER_CONFIG), for every compose call of the script."""
    return [f"export DOCKER_CONFIG={DOCKER_CONFIG_DIR}"]


def models_sync(bucket: str, models_dir: str) -> list[str]:
    """Vision's models from the Spaces bucket, with the read-only key cloud-init wrote for s3cmd."""
    return [
        "command -v s3cmd >/dev/null 2>&1 || { retry apt-get update -q && retry apt-get install -y -q s3cmd; }",
        f"install -d -m 0755 {models_dir}",
        f"retry s3cmd -c {S3CMD_CONFIG} sync --no-preserve --quiet s3://{bucket}/ {models_dir}/",
    ]


def s3cmd_config(access_key: str, secret_key: str, spaces_region: str) -> str:
    """s3cmd's config for the Spaces endpoint of `spaces_region` (docs.digitalocean.com/products/spaces/reference/s3cmd/)."""
    host = f"{spaces_region}.digitaloceanspaces.com"
    return (
        "[default]\n"
        f"access_key = {access_key}\n"
        f"secret_key = {secret_key}\n"
        f"host_base = {host}\n"
        f"host_bucket = %(bucket)s.{host}\n"
        "use_https = True\n"
    )


def report_failure() -> list[str]:
    """When the boot fails: the log stays on the Droplet; say where, for the console and `cloud-init status`."""
    return [f'echo "boot log: {cloudinit.BOOT_LOG} and /var/log/cloud-init-output.log on the Droplet (Recovery Console, or SSH from dixi:doSshSources)"']
