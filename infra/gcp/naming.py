"""Physical names on Google Cloud: unique per stack within a project, within each kind's limits.

Cloud Run services, service accounts, secrets, repositories and instances are
named per project (and region or zone), so two stacks in one project (the
committed `gcp` and `gcp-cloud-run-gpu`, say) would collide on fixed names.
Every such name starts with `<deployment>-<stack>`; one that would pass its
kind's length limit keeps its start and ends with a short hash of the whole.
Creates nothing.
"""

from __future__ import annotations

import hashlib
import re

_BAD = re.compile(r"[^a-z0-9-]+")


def physical(*parts: str, limit: int) -> str:
    """`parts` joined by hyphens as a name of lowercase letters, digits and hyphens, a letter first, at most `limit` long."""
    found = re.sub("-+", "-", _BAD.sub("-", "-".join(parts).lower())).strip("-")
    if not found or not found[0].isalpha():
        found = f"d-{found}"
    if len(found) <= limit:
        return found
    tag = hashlib.sha256(found.encode()).hexdigest()[:6]
    return f"{found[: limit - len(tag) - 1].rstrip('-')}-{tag}"


# Limits (each kind's documentation): service account IDs 6-30, Cloud Run
# service names up to 49, secret IDs up to 255, Artifact Registry repository
# IDs up to 63, instance names up to 63.
ACCOUNT_ID = 30
CLOUD_RUN_SERVICE = 49
INSTANCE = 63
