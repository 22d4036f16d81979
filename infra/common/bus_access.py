"""The event bus user's ACL access string: only what the backend's bus sends, on its one channel and its lease keys.

Used by `infra.aws.event_bus` as the `access_string` of the ElastiCache user
named `default` (the backend authenticates with a password alone,
EVENT_BUS_PASSWORD, which Valkey and Redis take as the `default` user's) on
the `aws` stack's ElastiCache Serverless for Valkey cache, and by
`infra.k8s.event_bus` as the rules of the in-cluster Valkey's `default` user.

What the bus sends (app/backend/dixi_backend/bus.py through redis-py 8.1.0's
asyncio client, pinned in app/backend/requirements.txt), as recorded on the
wire between the bus and a real server:

- on every new connection: `HELLO 3 AUTH default <password>` (redis-py 8
  speaks RESP3 by default), `CLIENT MAINT_NOTIFICATIONS ON ...`,
  `CLIENT SETNAME dixi-backend:<replica>` (the bus names its connections),
  `CLIENT SETINFO LIB-NAME redis-py`, `CLIENT SETINFO LIB-VER 8.1.0`, and
  `SELECT <db>` only when the URL's database is not 0 (the stack's URL ends
  in /0: `infra.spec.EVENT_BUS.url`);
- the subscriber: `SUBSCRIBE <channel>`, and `PING` after 5 s of silence;
- the sender: `PUBLISH <channel> <envelope>`;
- the lease: `SET <channel>:lease:<name> <replica> NX PX <ms>`;
- on close, nothing: the sockets are closed (no UNSUBSCRIBE, QUIT or RESET).

The rules, for the default channel `dixi:events`:

- `on`: an enabled user (ElastiCache: with neither `on` nor `off` a user is off).
- `~dixi:events:lease:*`: the lease keys, no other key.
- `resetchannels &dixi:events`: the one channel. `resetchannels` is needed:
  serverless caches run with `acl-pubsub-default allchannels`
  (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/RedisConfiguration.html),
  so a user starts with every channel, and Valkey refuses a channel pattern
  added after `allchannels` ("Try 'resetchannels'").
- `-@all`, then `+client|setname` (redis-py drops a connection whose CLIENT
  SETNAME fails), `+subscribe`, `+ping`, `+publish`, `+set`.

Left out on purpose: AUTH and HELLO (Valkey and Redis check no ACL on them:
anyone may authenticate); CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS
(redis-py ignores their errors, ElastiCache Serverless does not list them as
supported, and Redis 7.0 has no CLIENT SETINFO, so naming it would make the
rule itself an error there); SELECT (database 0); no dangerous command,
category or key. `-@all` removes them all, and none is named, not even to
deny it: ElastiCache throws on an access string that names a forbidden
command (CONFIG is one; KEYS and PSUBSCRIBE are unavailable on serverless
caches, SupportedCommands.html).

ElastiCache's access strings (Clusters.RBAC.html, "Specifying Permissions
Using an Access String",
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html#Access-string):
Valkey ACL rules separated by spaces, applied left to right; no passwords
(set through CreateUser/ModifyUser: the `passwords` of `aws.elasticache.User`);
`on` or `off`; no forbidden or renamed commands; no `reset`; `&` channel
rules from Redis OSS 6.2, `|` subcommand rules from 7.0 (its example blocks
one: `-config|set`), `%R~`/`%W~` and selectors from 7.0. This string uses
none of what it forbids and no selector.

Verified by tests/app/test_event_bus_acl.py against a real redis-server set
up as a serverless cache is (`acl-pubsub-default allchannels`, a fresh user
given this string and a password): two backend replicas exchange events,
take the lease once, stay up past a PING, and leave no ACL denial; without
any one of the rules above the bus fails with NOPERM; FLUSHALL, KEYS,
CONFIG, other keys and other channels are refused. The same tests passed,
run by hand, on valkey-server 9.1.2 (the TLS case over plain TCP: that
build has no TLS); there only CLIENT SETINFO is refused, which redis-py ignores.

Not verified against ElastiCache itself (no AWS account in the tests):
that it keeps `resetchannels` (AWS documents only `reset` as refused), that
its serverless proxy, which carries PUBLISH/SUBSCRIBE as sharded pub/sub
internally (SupportedCommands.html), checks them against `+publish`/
`+subscribe` and `&` as Valkey does, and that it exempts HELLO ... AUTH
from the ACL as Valkey does. After a deploy, `ACL LIST` (which ElastiCache
supports) shows the rules it kept, and the backend's /api/health/ready says
whether the bus came up.
"""

from __future__ import annotations

DEFAULT_CHANNEL = "dixi:events"
# What the bus sends that an ACL checks, in the order it first sends them.
COMMANDS = ("client|setname", "subscribe", "ping", "publish", "set")
_GLOB = "\\*?[]"


def lease_keys(channel: str = DEFAULT_CHANNEL) -> str:
    """The glob of the bus's lease keys (`EventBus.claim`: `<channel>:lease:<name>`)."""
    return f"{_literal(channel)}:lease:*"


def access_string(channel: str = DEFAULT_CHANNEL) -> str:
    """The ElastiCache (Valkey ACL) access string for the backend's bus on `channel` (EVENT_BUS_CHANNEL)."""
    if not channel or any(c.isspace() for c in channel):
        raise ValueError(f"the event bus channel must be non-empty and without spaces; got {channel!r}")
    rules = [
        "on",
        f"~{lease_keys(channel)}",
        "resetchannels",
        f"&{_literal(channel)}",
        "-@all",
        *(f"+{command}" for command in COMMANDS),
    ]
    return " ".join(rules)


def _literal(text: str) -> str:
    """`text` as a glob that matches only itself (ACL key and channel rules are globs)."""
    return "".join(f"\\{c}" if c in _GLOB else c for c in text)
