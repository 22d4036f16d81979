"""Names and tags shared by every target.

Every taggable resource carries the same three tags, so a bill or a console
can be filtered to one Dixi stack. Nothing here creates a resource.
"""

from __future__ import annotations

from typing import Final

PROJECT: Final = "dixi"


def tags(stack: str, component: str) -> dict[str, str]:
    """The tags (AWS, DigitalOcean) or labels (GCP, Kubernetes) of every resource."""
    return {"project": PROJECT, "stack": stack, "component": component, "managed-by": "pulumi"}
