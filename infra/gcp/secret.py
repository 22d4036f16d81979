"""`GcpSecret`: a value in Secret Manager, generated here or given, for Cloud Run to read by reference.

Creates a secret (replicated automatically) and its one version holding the
value: a generated random password (`generate`), or a value another resource
computed (a Redis instance's AUTH string or CA certificate). Who may read it
is granted per reader on the secret itself (`infra.gcp.cloud_run`), never
project-wide. The value stays a Pulumi secret end to end.

On `pulumi destroy` the secret and its versions are deleted; a generated one
is generated again by the next `up`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp.secretmanager as secretmanager
import pulumi_random
from pulumi import Output, ResourceOptions


@dataclass(frozen=True)
class GcpSecretArgs:
    secret_id: str
    labels: dict[str, str]
    value: pulumi.Input[str] | None = None  # None: generate one
    length: int = 40


class GcpSecret(pulumi.ComponentResource):
    secret_id: Output[str]  # projects/<number>/secrets/<id>: what env and volume references take
    value: Output[str]

    def __init__(self, name: str, args: GcpSecretArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:GcpSecret", name, None, opts)
        child = ResourceOptions(parent=self)
        value: pulumi.Input[str]
        if args.value is None:
            value = pulumi_random.RandomPassword(f"{name}-value", length=args.length, special=False, opts=child).result
        else:
            value = args.value
        secret = secretmanager.Secret(
            f"{name}",
            secret_id=args.secret_id,
            replication=secretmanager.SecretReplicationArgs(auto=secretmanager.SecretReplicationAutoArgs()),
            labels=args.labels,
            opts=child,
        )
        secretmanager.SecretVersion(f"{name}-v", secret=secret.id, secret_data=Output.secret(value), opts=child)
        self.secret_id = secret.id
        self.value = Output.secret(value)
        self.register_outputs({"secretId": self.secret_id, "value": self.value})
