"""Physical names on Azure: unique where Azure wants them unique, within each kind's limits.

Registries and storage accounts are named in a global DNS namespace
(`<name>.azurecr.io`, `<name>.blob.core.windows.net`), so a fixed name would
collide with the same stack deployed from another subscription. Like ARM's
`uniqueString(subscription().id, ...)`, the suffix hashes the subscription,
the stack and the component's name: stable across runs (the name forces
replacement when it changes), different per subscription and stack. Creates
nothing.
"""

from __future__ import annotations

import hashlib
import re

# Storage accounts: 3 to 24 lowercase letters and digits; registries: 5 to 50
# letters and digits (Azure naming rules for Microsoft.Storage and
# Microsoft.ContainerRegistry, as the portal enforces them; not re-read here).
STORAGE_ACCOUNT = 24
REGISTRY = 50
_SUFFIX = 10


def unique(prefix: str, *salt: str, limit: int) -> str:
    """`prefix` (lowercase letters and digits only) and a 10-character hash of `salt`, at most `limit` long."""
    head = re.sub(r"[^a-z0-9]", "", prefix.lower()) or "dixi"
    tag = hashlib.sha256("/".join(salt).encode()).hexdigest()[:_SUFFIX]
    return f"{head[: limit - _SUFFIX]}{tag}"
