"""`ModelsBucket`: the S3 bucket that holds vision's gesture models, and the settings that keep it safe.

Creates the bucket and, as its own resources, the settings: owner-enforced
object ownership, every public-access block, versioning, SSE-S3 encryption
with bucket keys, a lifecycle that deletes a model's old versions
`NONCURRENT_VERSION_DAYS` after they were replaced (the current version
never expires) and abandoned multipart uploads after
`ABANDONED_UPLOAD_DAYS`, and a policy refusing requests without TLS. The bucket is
the stack's data: with `retain` (the default, `dixi:retainData`) `pulumi
destroy` leaves it, and the settings with it, in the account.

Left out: a KMS key of its own (SSE-S3 is free and models are not secrets),
replication (a second copy in another region doubles the storage bill for
models the user can upload again), access logging and event notifications
(nothing here would read them); `checkov-skips.yaml` says so per check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws.s3 as s3
from pulumi import Output, ResourceOptions

# Old versions of a model stay restorable this long after an upload replaces or deletes
# them; then S3 deletes them (versions otherwise pile up and are billed forever).
NONCURRENT_VERSION_DAYS = 90
ABANDONED_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class ModelsBucketArgs:
    retain: bool
    tags: dict[str, str]


def tls_only_policy(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


class ModelsBucket(pulumi.ComponentResource):
    bucket_name: Output[str]
    arn: Output[str]

    def __init__(self, name: str, args: ModelsBucketArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:ModelsBucket", name, None, opts)
        keep = ResourceOptions(parent=self, retain_on_delete=args.retain)
        bucket = s3.Bucket(name, force_destroy=not args.retain, tags=args.tags, opts=keep)
        s3.BucketOwnershipControls(
            name, bucket=bucket.id, rule=s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=keep
        )
        s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=keep,
        )
        versioning = s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=keep,
        )
        s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=keep,
        )
        s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                s3.BucketLifecycleConfigurationRuleArgs(
                    id="prune-old-versions",
                    status="Enabled",
                    filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_VERSION_DAYS
                    ),
                    abort_incomplete_multipart_upload=s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABANDONED_UPLOAD_DAYS
                    ),
                )
            ],
            # After versioning: the provider docs' versioned-bucket example for noncurrent-version
            # rules says "Must have bucket versioning enabled first" (s3_bucket_lifecycle_configuration).
            opts=ResourceOptions.merge(keep, ResourceOptions(depends_on=[versioning])),
        )
        s3.BucketPolicy(name, bucket=bucket.id, policy=bucket.arn.apply(tls_only_policy), opts=keep)
        self.bucket_name = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "arn": self.arn})
