"""One module per stack kind; each has `deploy(cfg)` and owns its stack outputs."""

from __future__ import annotations

from collections.abc import Callable

from infra.config import DixiConfig


def deployer(kind: str) -> Callable[[DixiConfig], None]:
    """The `deploy` function of a stack kind (the kinds are `infra.config.STACK_KINDS`)."""
    if kind == "aws-ec2":
        from stacks import aws_ec2

        return aws_ec2.deploy
    raise ValueError(f"no stack module for kind {kind!r}")
