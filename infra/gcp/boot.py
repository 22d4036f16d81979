"""Google Cloud's part of a VM's boot script: registry logins through gcloud, and failure reports to Cloud Logging.

Pure functions that return shell lines for `infra.common.cloudinit.boot_script`;
they create nothing. The VM reaches Google's APIs as its own service account
(the metadata server hands gcloud and Docker's credential helper its token),
so no key or secret is ever written to the user data. Calls that may meet a
just-created service account or a just-granted role go through `retry`
(defined by the boot script): IAM is eventually consistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from infra.common import cloudinit

# Cloud Logging takes at most 256 KiB per entry (https://cloud.google.com/logging/quotas,
# "Size of a LogEntry"); the tail of the boot log is what says why it failed.
_FAILURE_TAIL_BYTES: Final = 100_000


def boot_steps(registry_hosts: Sequence[str]) -> list[str]:
    """Steps before compose starts: Docker's credential helper for each Artifact Registry host.

    `gcloud auth configure-docker` writes `credHelpers` into root's
    `~/.docker/config.json`; cloud-init may run the script without `HOME`,
    where gcloud and Docker would disagree on where that file is.
    """
    return [
        'export HOME="${HOME:-/root}"',
        'command -v gcloud >/dev/null 2>&1 || fail "gcloud is not on this image; pick a Deep Learning VM or Ubuntu image that ships the Google Cloud CLI"',
        *(f"retry gcloud auth configure-docker {host} --quiet" for host in sorted(set(registry_hosts))),
        # The helper gcloud registers must be on PATH, or every pull fails with "executable file not found".
        'command -v docker-credential-gcloud >/dev/null 2>&1 || fail "docker-credential-gcloud is not on PATH; Docker cannot log in to Artifact Registry"',
    ]


def report_failure(log_name: str) -> list[str]:
    """When the boot fails: write the end of the boot log to Cloud Logging as one ERROR entry in `log_name`."""
    return [
        f'gcloud logging write {log_name} "$(tail -c {_FAILURE_TAIL_BYTES} {cloudinit.BOOT_LOG})" --severity=ERROR',
        f'echo "boot log sent to Cloud Logging: log {log_name} (also in {cloudinit.BOOT_LOG} and the serial console)"',
    ]
