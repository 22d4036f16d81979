"""`ModelsSpace`: the Spaces bucket vision's models come from, and the read-only key the Droplets sync with.

Creates a private bucket (no public-read ACL, no CDN) in the Spaces region nearest the stack's region
(`catalog.spaces_region`), named with a random suffix (bucket names are
global per region), with versioning, so an overwritten model can be got back.

The Droplets read it with a key of its own: a `SpacesKey` whose one grant is
`read` on this bucket (spaces_key.py, `SpacesKeyGrantArgs`: read, readwrite
or fullaccess), never the account's Spaces keys that Pulumi itself uses.

Destroy: the bucket is kept (`retainOnDelete`) with its objects unless
`dixi:retainData` is false; then it is deleted with them (`forceDestroy`).
The reader key is always deleted.

Left out: lifecycle rules, CDN, CORS (nothing reads the bucket from a browser).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_random as random
from pulumi import Output, ResourceOptions


@dataclass(frozen=True)
class ModelsSpaceArgs:
    stack: str
    spaces_region: str
    retain: bool


class ModelsSpace(pulumi.ComponentResource):
    bucket_name: Output[str]
    spaces_region: Output[str]
    reader_access_key: Output[str]
    reader_secret_key: Output[str]

    def __init__(self, name: str, args: ModelsSpaceArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:ModelsSpace", name, None, opts)
        child = ResourceOptions(parent=self)
        suffix = random.RandomString(f"{name}-suffix", length=6, special=False, upper=False, opts=child)
        bucket = digitalocean.SpacesBucket(
            name,
            name=Output.concat(f"dixi-{args.stack}-models-", suffix.result),
            region=args.spaces_region,
            acl="private",
            versioning=digitalocean.SpacesBucketVersioningArgs(enabled=True),
            force_destroy=not args.retain,
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain),
        )
        reader = digitalocean.SpacesKey(
            f"{name}-reader",
            name=Output.concat(f"dixi-{args.stack}-models-reader-", suffix.result),
            grants=[digitalocean.SpacesKeyGrantArgs(bucket=bucket.name, permission="read")],
            opts=child,
        )
        self.bucket_name = bucket.name
        self.spaces_region = Output.from_input(args.spaces_region)
        self.reader_access_key = reader.access_key
        self.reader_secret_key = Output.secret(reader.secret_key)
        self.register_outputs({"bucketName": self.bucket_name, "spacesRegion": self.spaces_region, "readerAccessKey": self.reader_access_key})
