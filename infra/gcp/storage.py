"""`GcsModelsBucket`: the Cloud Storage bucket that holds vision's models (and, on Cloud Run GPUs, Ollama's).

Creates one bucket in the stack's region with uniform bucket-level access,
public access prevention enforced, and object versioning; Google encrypts it
at rest. With `retain` (`dixi:retainData`, the default) `pulumi destroy`
leaves it and its objects in the project; without, destroy empties and
deletes it (`forceDestroy`).

Left out: a customer-managed key, lifecycle rules (old versions are kept
until the user prunes them), retention policies.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp.storage as storage
from pulumi import Output, ResourceOptions


@dataclass(frozen=True)
class GcsModelsBucketArgs:
    region: str
    retain: bool
    labels: dict[str, str]


class GcsModelsBucket(pulumi.ComponentResource):
    bucket_name: Output[str]

    def __init__(self, name: str, args: GcsModelsBucketArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:GcsModelsBucket", name, None, opts)
        bucket = storage.Bucket(
            f"{name}",
            location=args.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=storage.BucketVersioningArgs(enabled=True),
            force_destroy=not args.retain,
            labels=args.labels,
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain),
        )
        self.bucket_name = bucket.name
        self.register_outputs({"bucketName": self.bucket_name})
