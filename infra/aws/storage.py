"""`ModelsBucket`: the S3 bucket that holds vision's gesture models, and the settings that keep it safe.

Creates the bucket and, as its own resources, the settings: owner-enforced
object ownership, every public-access block, versioning, SSE-S3 encryption
with bucket keys, and a policy refusing requests without TLS. The bucket is
the stack's data: with `retain` (the default, `dixi:retainData`) `pulumi
destroy` leaves it, and the settings with it, in the account.

Left out: a KMS key of its own (SSE-S3 is free and models are not secrets),
replication and lifecycle rules (versions are kept until the user prunes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws.s3 as s3
from pulumi import Output, ResourceOptions


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
        s3.BucketVersioning(
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
        s3.BucketPolicy(name, bucket=bucket.id, policy=bucket.arn.apply(tls_only_policy), opts=keep)
        self.bucket_name = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "arn": self.arn})
