"""Security group rules as the AWS components write them: one rule a source, each its own resource.

`allow_from_groups` lets each named security group reach one TCP port of a
group; `allow_out_anywhere` lets a group send anywhere. Rules are separate
`vpc.SecurityGroupIngressRule` / `SecurityGroupEgressRule` resources (not
inline blocks) so that adding a source never rewrites the group, and the
plan's checks read each as an opening of its own.

Creates no security group itself: each component owns its groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws.vpc as vpc
from pulumi import ResourceOptions

WORLD_V4 = "0.0.0.0/0"


def allow_from_groups(
    name: str,
    group_id: pulumi.Input[str],
    port: int,
    sources: Sequence[tuple[str, pulumi.Input[str]]],
    what: str,
    parent: pulumi.Resource,
    description: str | None = None,
) -> None:
    """TCP `port` of `group_id` from each (label, security group id) of `sources`; rules named `{name}-from-{label}`.

    Each rule is described "`what` from `label`" unless `description` says otherwise.
    """
    for label, source in sources:
        vpc.SecurityGroupIngressRule(
            f"{name}-from-{label}",
            security_group_id=group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=source,
            description=description or f"{what} from {label}",
            opts=ResourceOptions(parent=parent),
        )


def allow_out_anywhere(name: str, group_id: pulumi.Input[str], why: str, parent: pulumi.Resource) -> None:
    """Everything out of `group_id` (rule `{name}-egress`); `why` names what it reaches."""
    vpc.SecurityGroupEgressRule(
        f"{name}-egress", security_group_id=group_id, ip_protocol="-1", cidr_ipv4=WORLD_V4, description=why, opts=ResourceOptions(parent=parent)
    )


def enumerate_labels(groups: Sequence[pulumi.Input[str]]) -> list[tuple[str, pulumi.Input[str]]]:
    """Security groups labelled by their position, for callers whose sources have no names of their own."""
    return [(str(index), group) for index, group in enumerate(groups)]
