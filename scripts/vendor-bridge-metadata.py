#!/usr/bin/env python3
"""Write infra/scan/bridge_metadata/<package>.json from each provider's bridge-metadata.json.

Usage: .venv/bin/python scripts/vendor-bridge-metadata.py PACKAGE=PATH[@REPO@COMMIT] ...

PATH is the provider repository's `provider/cmd/pulumi-resource-<name>/bridge-metadata.json`
(or an excerpt holding the same `renames` keys, with its own `source`). What is kept: the
Terraform type of every resource token the stacks use (`dixi plan --all`), the renamed
properties of those resources and of every nested object type under them (walked through the
installed SDK), which of them the Plugin Framework serves (`mux`), and the `auto-aliasing`
field tree of their Terraform types when the source has one (the tests compare it with the SDK's
shapes). Run it again after moving a provider SDK in uv.lock, with that version's metadata.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.plan import stackfiles  # noqa: E402
from infra.plan.run import plan_stack  # noqa: E402
from infra.scan import bridge  # noqa: E402

# Config that adds resources the stack files' defaults do not create (tests/infra/test_scan.py plans them too).
VARIANTS: dict[str, list[dict[str, str]]] = {
    "aws": [{"dixi:domain": "dixi.example.com", "dixi:route53ZoneId": "Z0123456789ABCDEFGHIJ"}],
    "aws-ec2": [{"dixi:domain": "dixi.example.com", "dixi:route53ZoneId": "Z0123456789ABCDEFGHIJ"}],
    "gcp": [{"dixi:domain": "dixi.example.com"}],
    "do": [{"dixi:domain": "dixi.example.com", "dixi:doAlertEmails": '["ops@example.com"]', "dixi:doEventBus": "managed"}],
}


def used_tokens() -> set[str]:
    tokens: set[str] = set()
    for name in stackfiles.stack_names(ROOT):
        for overrides in [{}, *VARIANTS.get(name, [])]:
            plan = plan_stack(name, ROOT, overrides)
            tokens.update(r.type for r in plan.recorded.resources if r.custom and r.package in bridge.SDK_MODULES)
    return tokens


# Facts the vendored metadata is too old for, each with its source. The only pulumi-aws
# bridge-metadata.json reachable offline here is a v6 copy (commit 07d08a0, where
# aws:s3/bucket:Bucket is the legacy `aws_s3_bucket_legacy`); uv.lock has pulumi-aws 7.x.
OVERLAYS: dict[str, dict[str, Any]] = {
    "aws": {
        "why": [
            "pulumi-aws v7 made the V2 S3 resources the default: aws.s3.Bucket is aws_s3_bucket, BucketVersioning is "
            "aws_s3_bucket_versioning, BucketServerSideEncryptionConfiguration is aws_s3_bucket_server_side_encryption_configuration "
            "(pulumi-aws v7.0.0 release notes; the registry's BucketVersioningV2 page: 'deprecated in favor of aws.s3/bucketversioning.BucketVersioning')",
            "aws_s3_bucket_server_side_encryption_configuration's and aws_s3_bucket_lifecycle_configuration's rules are the `rule` "
            "block (Terraform AWS provider docs for both resources); their nested names are the SDK's snake_case",
            "aws_route53_record's alias block is `alias` (Terraform AWS provider docs, route53_record); aws_acm_certificate "
            "and aws_acm_certificate_validation are mapped in the same v6 file; other names of these three are the SDK's snake_case",
            "aws_elasticache_serverless_cache (added after the v6 copy): cache_usage_limits holds `data_storage` and `ecpu_per_second` "
            "blocks; security_group_ids and subnet_ids are plural in Terraform too (Terraform AWS provider docs, elasticache_serverless_cache); "
            "aws_acm_certificate_validation's validation_record_fqdns likewise (acm_certificate_validation)",
        ],
        "resources": {
            "aws:s3/bucket:Bucket": "aws_s3_bucket",
            "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "aws_s3_bucket_server_side_encryption_configuration",
            "aws:elasticache/serverlessCache:ServerlessCache": "aws_elasticache_serverless_cache",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
            # In the same v6 file (renames.resources, its first page), outside the 50 tokens first extracted.
            "aws:acm/certificate:Certificate": "aws_acm_certificate",
            "aws:acm/certificateValidation:CertificateValidation": "aws_acm_certificate_validation",
            "aws:route53/record:Record": "aws_route53_record",
        },
        "renamedProperties": {
            "aws:s3/bucket:Bucket": {
                "forceDestroy": "force_destroy",
                "bucketPrefix": "bucket_prefix",
                "objectLockEnabled": "object_lock_enabled",
            },
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {
                "rules": "rule",
                "expectedBucketOwner": "expected_bucket_owner",
            },
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": {
                "rules": "rule",
                "expectedBucketOwner": "expected_bucket_owner",
            },
            "aws:route53/record:Record": {"aliases": "alias", "zoneId": "zone_id", "allowOverwrite": "allow_overwrite"},
            "aws:acm/certificateValidation:CertificateValidation": {
                "certificateArn": "certificate_arn",
                "validationRecordFqdns": "validation_record_fqdns",
            },
            "aws:elasticache/serverlessCache:ServerlessCache": {
                "securityGroupIds": "security_group_ids",
                "subnetIds": "subnet_ids",
                "cacheUsageLimits": "cache_usage_limits",
                "majorEngineVersion": "major_engine_version",
                "snapshotRetentionLimit": "snapshot_retention_limit",
                "userGroupId": "user_group_id",
            },
            "aws:elasticache/ServerlessCacheCacheUsageLimits:ServerlessCacheCacheUsageLimits": {
                "dataStorage": "data_storage",
                "ecpuPerSeconds": "ecpu_per_second",
            },
        },
    },
}


def _plural(word: str) -> set[str]:
    """The plural forms the bridge's inflector gives a Terraform list field's last word."""
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return {word[:-1] + "ies", word + "s"}
    if word.endswith(("s", "x", "ch", "sh", "z")):
        return {word + "es", word}
    return {word + "s"}


def _match(python_name: str, kind: str, tree: dict[str, Any]) -> str:
    """The Terraform name of an SDK property, found in the Terraform field tree of its level."""
    if python_name in tree or kind not in ("list", "blocks"):
        return python_name
    stem, _, last = python_name.rpartition("_")
    found = [
        t for t in tree if t.rpartition("_")[0] == stem and last in _plural(t.rpartition("_")[2])
    ]
    if len(found) != 1:
        raise SystemExit(
            f"cannot match the SDK's list property {python_name!r} to one Terraform field of {sorted(tree)}"
        )
    return found[0]


def derived_renames(package: str, data: dict[str, Any], tokens: set[str]) -> dict[str, Any]:
    """Renames for a provider whose metadata has no `renames` (pulumi-gcp): from `auto-aliasing`.

    Its `resources.<terraform type>.current` is the Pulumi token; each property's Terraform name is
    the SDK's Python name (the same snake_case conversion), except a list the bridge pluralised,
    which is matched to the one field of that level's `auto-aliasing` tree (all list fields are there)
    it is the plural of. A property that matches none, or several, stops the script.
    """
    aliasing = data["auto-aliasing"]["resources"]
    resources = {entry["current"]: tf for tf, entry in aliasing.items() if "current" in entry}
    renamed: dict[str, dict[str, str]] = {}

    def walk(cls: type, token: str, tree: dict[str, Any]) -> None:
        schema = bridge._schema(cls, token, package, {})
        for klass in reversed(cls.__mro__):
            for python_name, prop in vars(klass).items():
                if not (
                    isinstance(prop, property)
                    and prop.fget is not None
                    and hasattr(prop.fget, "_pulumi_name")
                ):
                    continue
                pulumi_name = prop.fget._pulumi_name
                field = schema.fields[pulumi_name]
                tf_name = _match(python_name, field.kind, tree)
                if tf_name != pulumi_name:
                    renamed.setdefault(token, {})[pulumi_name] = tf_name
                if field.nested is not None:
                    sub = (tree.get(tf_name) or {}).get("elem", {}).get("fields", {})
                    walk(_nested_class(prop, python_name), field.nested.token, sub)

    for token in sorted(t for t in tokens if t.startswith(f"{package}:") and t in resources):
        cls = bridge.sdk_class(token)
        if cls is not None:
            walk(cls, token, aliasing[resources[token]].get("fields", {}))
    return {"resources": resources, "renamedProperties": renamed}


def _nested_class(prop: property, python_name: str) -> type:
    import collections.abc
    import typing

    assert prop.fget is not None
    annotation = bridge._unwrap(prop.fget.__annotations__["return"])
    if typing.get_origin(annotation) in (collections.abc.Sequence, list):
        annotation = bridge._unwrap(typing.get_args(annotation)[0])
    found = bridge._resolve(annotation, prop.fget.__globals__)
    assert found is not None, python_name
    return found


def vendor(
    package: str, source_path: Path, repo: str, commit: str, tokens: set[str]
) -> dict[str, Any]:
    data = json.loads(source_path.read_text())
    renames = data.get("renames") or {
        "resources": data.get("resources", {}),
        "renamedProperties": data.get("renamedProperties", {}),
    }
    if "auto-aliasing" in data:
        # Tokens `renames` lacks (pulumi-gcp has no `renames`; pulumi-digitalocean's lacks SpacesKey):
        # derived from `auto-aliasing`, checked against `renames` where both exist (tests/infra/test_scan.py).
        derived = derived_renames(
            package, data, {t for t in tokens if t not in renames["resources"]}
        )
        renames = {
            "resources": {**derived["resources"], **renames["resources"]},
            "renamedProperties": {
                **derived["renamedProperties"],
                **renames.get("renamedProperties", {}),
            },
        }
    overlay = OVERLAYS.get(package, {})
    full = {
        "resources": {**renames["resources"], **overlay.get("resources", {})},
        "renamedProperties": {
            **renames.get("renamedProperties", {}),
            **overlay.get("renamedProperties", {}),
        },
    }
    target = bridge.DATA_DIR / f"{package}.json"
    target.write_text(json.dumps(full))
    bridge.vendored.cache_clear()
    bridge.lookup.cache_clear()
    mine = sorted(t for t in tokens if t.startswith(f"{package}:"))
    reached: set[str] = set()
    resources = {}
    aliasing = data.get("auto-aliasing", {}).get("resources", {})
    trees = {}
    for token in mine:
        found = bridge.lookup(token)
        if found is None:
            print(f"{package}: {token} is not in the metadata or the SDK", file=sys.stderr)
            continue
        resources[token] = found.terraform_type
        reached.update(bridge.reachable_types(found))
        if found.terraform_type in aliasing:
            trees[found.terraform_type] = aliasing[found.terraform_type].get("fields", {})
    kept = {
        "source": source.get("source")
        if (source := data if "source" in data else None)
        else {
            "repo": repo,
            "path": f"provider/cmd/pulumi-resource-{package}/bridge-metadata.json",
            "commit": commit,
        },
        "resources": dict(sorted(resources.items())),
        "overlay": overlay.get("why", []),
        "renamedProperties": {
            t: full["renamedProperties"][t]
            for t in sorted(reached)
            if t in full["renamedProperties"]
        },
        "autoAliasing": dict(sorted(trees.items())),
    }
    target.write_text(json.dumps(kept, indent=1, sort_keys=False) + "\n")
    bridge.vendored.cache_clear()
    bridge.lookup.cache_clear()
    return kept


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    tokens = used_tokens()
    bridge.DATA_DIR.mkdir(exist_ok=True)
    for arg in argv:
        package, _, rest = arg.partition("=")
        path, _, origin = rest.partition("@")
        repo, _, commit = origin.partition("@")
        kept = vendor(package, Path(path), repo, commit, tokens)
        print(
            f"{package}: {len(kept['resources'])} resources, {len(kept['renamedProperties'])} renamed types"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
