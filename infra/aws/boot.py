"""AWS's part of a VM's boot script: the token from SSM, registry logins, models from S3, and failure reports.

Pure functions that return shell lines for `infra.common.cloudinit.boot_script`;
they create nothing. Every call to AWS goes through `retry` (defined by the
boot script): the instance's role may be minutes old, and IAM is eventually
consistent.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra import spec
from infra.aws import catalog
from infra.common import cloudinit, compose

# IMDSv2 (the host requires tokens), for the instance id in the log stream's name.
_INSTANCE_ID = (
    'imds_token="$(curl -fsS -m 2 -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")"; '
    'instance_id="$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/instance-id)"'
)


def ecr_region(host: str) -> str:
    match = catalog.ECR_REGISTRY.match(host)
    if match is None:
        raise ValueError(f"{host} is not an ECR registry")
    return match["region"]


def boot_steps(region: str, ecr_hosts: Sequence[str], bucket: str, parameter: str, models_dir: str) -> list[str]:
    """Steps before compose starts: the gesture token into the env file, ECR logins, the models bucket."""
    return [
        "command -v aws >/dev/null 2>&1 || { retry apt-get update -q && retry apt-get install -y -q awscli; }",
        f'token="$(retry aws ssm get-parameter --region {region} --name {parameter} --with-decryption '
        '--query Parameter.Value --output text)"',
        f"(umask 077 && printf '{spec.GESTURE_TOKEN_ENV}=%s\\n' \"$token\" > {compose.SECRETS_ENV_FILE})",
        "unset token",
        'ecr_login() { aws ecr get-login-password --region "$1" | docker login --username AWS --password-stdin "$2"; }',
        *(f"retry ecr_login {ecr_region(host)} {host}" for host in sorted(set(ecr_hosts))),
        f"retry aws s3 sync --only-show-errors s3://{bucket} {models_dir}",
    ]


def report_failure(region: str, log_group: str) -> list[str]:
    """When the boot fails: send the boot log to the stack's log group, stream `boot/<instance id>`."""
    events = "/tmp/dixi-boot-events.json"
    return [
        _INSTANCE_ID,
        'stream="boot/${instance_id:-unknown}"',
        f'aws logs create-log-stream --region {region} --log-group-name {log_group} --log-stream-name "$stream"',
        "python3 -c 'import json, sys, time; "
        'print(json.dumps([{"timestamp": int(time.time() * 1000), "message": sys.stdin.read()[-200000:] or "(empty)"}]))\' '
        f"< {cloudinit.BOOT_LOG} > {events}",
        f'aws logs put-log-events --region {region} --log-group-name {log_group} --log-stream-name "$stream" --log-events file://{events} >/dev/null',
        f'echo "boot log sent to CloudWatch Logs: {log_group}, stream $stream"',
    ]
