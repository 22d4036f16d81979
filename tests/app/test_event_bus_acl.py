"""The event bus under the access string the `aws` stack gives its ElastiCache user (infra/common/bus_access.py).

A real `redis-server` is set up as an ElastiCache Serverless cache is: with
`acl-pubsub-default allchannels`, and with the `default` user made afresh
(`ACL SETUSER default reset`, what a new ElastiCache user starts from) with
`access_string()` and a password. An `admin` user with every right does the
setting up and reads the server's ACL log. The backend's real bus then runs
against it with the password alone (EVENT_BUS_PASSWORD), as on ECS: as two
uvicorn replicas over TLS, and as two `EventBus` instances for the cases
where a rule is missing. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from dixi_backend.app import create_app
from dixi_backend.bus import PING_INTERVAL, PING_TIMEOUT, BusConfig, BusState, EventBus
from dixi_backend.metrics import Metrics
from dixi_backend.settings import Settings
from dixi_devtools.redis_server import RedisServer, find_binary
from dixi_devtools.serve import ThreadedServer
from redis.exceptions import NoPermissionError, ResponseError

from infra.common.bus_access import COMMANDS, DEFAULT_CHANNEL, access_string, lease_keys

from .conftest import backend_settings
from .test_event_bus import events, metric, post_gesture, ready, wait_for_bus, ws

needs_redis = pytest.mark.skipif(
    find_binary() is None, reason="redis-server or valkey-server is not installed (apt-get install redis-server)"
)
ADMIN_PASSWORD = "admin-password-for-this-test"
BUS_PASSWORD = "bus-password-for-this-test"
# What redis-py sends on connect and ignores the failure of (bus_access.py): CLIENT SETINFO
# is refused by this ACL where it exists (Valkey, Redis 7.2+) and unknown to Redis 7.0;
# CLIENT MAINT_NOTIFICATIONS is unknown to both but would be refused where it exists.
IGNORED_BY_THE_CLIENT = frozenset({"client|setinfo", "client|maint_notifications"})
EVENT = {"type": "gesture", "gesture": "fist", "confidence": 1.0, "source": "acl", "timestamp": 1.0}
# Rules that would hand out more than the bus needs.
TOO_MUCH = (
    "+@all", "+@dangerous", "+@admin", "+@keyspace", "+@write", "+@pubsub", "+@connection", "+client",
    "allcommands", "allkeys", "allchannels", "~*", "&*", "+flushall", "+flushdb", "+keys", "+config", "+debug",
)


@dataclass
class AclServer:
    server: RedisServer
    admin: redis.Redis

    @property
    def url(self) -> str:
        """The bus URL without a password: the password comes from EVENT_BUS_PASSWORD, as on ECS."""
        return self.server.url

    def connect(self, **kwargs: Any) -> redis.Redis:
        tls = {"ssl": True, "ssl_ca_certs": self.server.ca_file} if self.server.tls else {}
        return redis.Redis(host="127.0.0.1", port=self.server.port, decode_responses=True, **tls, **kwargs)

    def denials(self) -> list[str]:
        """The server's ACL log: what it refused, as `<reason> <object>` (a command, key, channel or `auth`),
        less what redis-py sends and ignores the refusal of."""
        return [
            f"{entry['reason']} {entry['object']}"
            for entry in self.admin.acl_log()
            if entry["object"] not in IGNORED_BY_THE_CLIENT
        ]


def restrict(server: RedisServer, rules: str) -> AclServer:
    """Makes `server` an ElastiCache Serverless cache's engine as far as ACLs go, with `default` given `rules`."""
    tls = {"ssl": True, "ssl_ca_certs": server.ca_file} if server.tls else {}
    with redis.Redis(host="127.0.0.1", port=server.port, **tls) as bootstrap:
        bootstrap.execute_command("ACL", "SETUSER", "admin", "on", f">{ADMIN_PASSWORD}", "~*", "&*", "+@all")
    admin = redis.Redis(
        host="127.0.0.1", port=server.port, username="admin", password=ADMIN_PASSWORD, decode_responses=True, **tls
    )
    try:
        # Serverless caches' value (docs.aws.amazon.com/AmazonElastiCache/latest/dg/RedisConfiguration.html);
        # Redis 7 and Valkey default to resetchannels, which would hide a missing `resetchannels` rule.
        admin.config_set("acl-pubsub-default", "allchannels")
        # `reset` here only stands for "a new user": the access string itself has no `reset`
        # (ElastiCache refuses it) and the password is set apart from it, as ElastiCache does.
        admin.execute_command("ACL", "SETUSER", "default", "reset", *rules.split(), f">{BUS_PASSWORD}")
        admin.execute_command("ACL", "LOG", "RESET")
    except BaseException:
        admin.close()
        raise
    return AclServer(server, admin)


@contextmanager
def acl_server(rules: str | None = None, tls: bool = False) -> Iterator[AclServer]:
    with RedisServer(tls=tls) as server:
        restricted = restrict(server, access_string() if rules is None else rules)
        try:
            yield restricted
        finally:
            restricted.admin.close()


def without(rule: str) -> str:
    rules = access_string().split()
    assert rule in rules, f"{rule!r} is not a rule of {access_string()!r}"
    return " ".join(r for r in rules if r != rule)


# -- the access string itself -------------------------------------------------


def test_the_access_string_is_what_elasticache_accepts_and_nothing_dangerous() -> None:
    rules = access_string()
    assert rules == (
        "on ~dixi:events:lease:* resetchannels &dixi:events -@all +client|setname +subscribe +ping +publish +set"
    ), rules
    tokens = rules.split()
    # ElastiCache: `on` or `off` in the string, no password, no `reset` (Clusters.RBAC.html#Access-string).
    assert tokens[0] == "on" and "off" not in tokens and "reset" not in tokens, tokens
    assert not any(t.startswith((">", "<", "#", "!")) or t in ("nopass", "resetpass") for t in tokens), tokens
    assert not any(t.startswith("(") or t == "clearselectors" for t in tokens), "no selectors: one rule set"
    for rule in TOO_MUCH:
        assert rule not in tokens, f"{rule} in {rules}"
    granted = [t[1:] for t in tokens if t.startswith("+")]
    assert granted == list(COMMANDS) and not any(g.startswith("@") for g in granted), granted
    assert tokens.index("-@all") < tokens.index("+client|setname"), "commands are granted after everything is removed"
    assert tokens.index("resetchannels") < tokens.index("&dixi:events"), "the channel is added after the reset"


def test_the_default_channel_is_the_backends() -> None:
    assert Settings.model_fields["event_bus_channel"].default == DEFAULT_CHANNEL


def test_another_channel_and_its_lease_keys_are_taken_literally() -> None:
    assert access_string("room-7:events").split()[1:4] == ["~room-7:events:lease:*", "resetchannels", "&room-7:events"]
    # Glob characters in a channel name would widen the rule: escaped, they match only themselves.
    assert lease_keys("a*b?[c]") == "a\\*b\\?\\[c\\]:lease:*"
    assert "&a\\*b" in access_string("a*b").split()
    for bad in ("", "two words", "tab\there"):
        with pytest.raises(ValueError, match="without spaces"):
            access_string(bad)


# -- the backend's bus against a server that enforces it ----------------------


@needs_redis
def test_two_replicas_exchange_events_and_share_the_lease_with_only_this_access(
    ollama_server: ThreadedServer,
    vision_server: ThreadedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """(a) cross-replica delivery, (b) the lease, (c) up with no NOPERM anywhere, over TLS as on ElastiCache."""
    caplog.set_level(logging.DEBUG, logger="dixi.backend.bus")
    with acl_server(tls=True) as bus:
        settings = backend_settings(
            ollama_server,
            vision_server,
            event_bus_url=bus.url,
            event_bus_password=BUS_PASSWORD,
            event_bus_ca_file=bus.server.ca_file,
            event_bus_reconnect_max_seconds=0.5,
            ai_auto_min_interval_seconds=30,
        )
        assert bus.url.startswith("rediss://") and BUS_PASSWORD not in bus.url
        with ThreadedServer(create_app(settings)) as a, ThreadedServer(create_app(settings)) as b:
            for replica in (a, b):
                body = wait_for_bus(replica, "up")
                assert body["event_bus"] == {"state": "up", "detail": None}, body
            # (a) an event replica A accepts reaches replica B's client, once.
            with ws(b) as on_b:
                post_gesture(a, gesture="fist", source="acl")
                got = [e for e in events(on_b) if e["type"] == "gesture"]
            assert [(e["gesture"], e["source"]) for e in got] == [("fist", "acl")], got
            # (b) the lease: A takes the automatic answer's interval, B is refused it.
            first = post_gesture(a, gesture="peace").json()
            second = post_gesture(b, gesture="open_palm").json()
            assert first["ai_triggered"] is True and second["ai_triggered"] is False, (first, second)
            assert metric(b, "dixi_ai_queries_total", trigger="gesture", outcome="rate_limited") == 1
            lease = f"{DEFAULT_CHANNEL}:lease:auto-ai"
            assert 0 < bus.admin.pttl(lease) <= 30_000, "the lease is a key that expires by itself"
            assert bus.admin.get(lease), "the lease's value names the replica that holds it"
            # (c) still up, nothing failed, nothing refused.
            for replica in (a, b):
                assert ready(replica).json()["event_bus"] == {"state": "up", "detail": None}
                assert metric(replica, "dixi_event_bus_up") == 1
                # A refused SUBSCRIBE shows as up-then-down (the bus sets "up" once SUBSCRIBE is
                # sent): no reconnect means it never happened.
                assert metric(replica, "dixi_event_bus_reconnects_total") == 0
                for reason in ("down", "error", "backlog"):
                    assert metric(replica, "dixi_event_bus_publish_failures_total", reason=reason) == 0, reason
            assert metric(a, "dixi_event_bus_published_total") >= 3, "gesture, peace and the answer's events"
        denials = bus.denials()
    assert denials == [], f"the server refused the bus: {denials}"
    noperm = [line for line in bus_log(caplog) if "NoPermission" in line or "NOPERM" in line]
    assert noperm == [], f"the bus logged a NOPERM: {noperm}"


@dataclass
class Run:
    """What two `EventBus` instances, A and B, managed on a server with some access string."""

    states: tuple[str, str] = ("", "")
    details: str = ""
    claims: tuple[bool | None, bool | None] = (None, None)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    publish_errors: float = 0.0
    after_a_ping: tuple[str, str] = ("", "")
    logged: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return (
            self.states == ("up", "up")
            and self.after_a_ping == ("up", "up")
            and self.claims == (True, False)
            and len(self.delivered) == 1
            and self.publish_errors == 0
        )

    def saw_noperm(self) -> bool:
        return "NoPermissionError" in self.details or any("NoPermissionError" in line for line in self.logged)


def run_two_buses(url: str, caplog: pytest.LogCaptureFixture, wait_for_a_ping: bool = False) -> Run:
    """Starts A and B, lets both claim the lease, publishes from A, and (optionally) outlives a PING."""
    caplog.set_level(logging.DEBUG, logger="dixi.backend.bus")
    run = Run()

    async def scenario() -> None:
        config = BusConfig(url=url, password=BUS_PASSWORD, reconnect_max_seconds=0.5)
        metrics = Metrics()
        a = EventBus(config, lambda event: None, metrics, origin="replica-a")
        b = EventBus(config, run.delivered.append, Metrics(), origin="replica-b")
        buses = (a, b)
        for bus in buses:
            bus.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(
            bus.up or (bus.status.state is BusState.DOWN and bus.status.detail) for bus in buses
        ):
            await asyncio.sleep(0.02)
        run.states = (a.status.state.value, b.status.state.value)
        run.details = " | ".join(str(bus.status.detail) for bus in buses)
        run.claims = (await a.claim("acl-test", 5), await b.claim("acl-test", 5))
        a.publish(EVENT)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not run.delivered:
            await asyncio.sleep(0.02)
        if wait_for_a_ping:
            deadline = time.monotonic() + PING_INTERVAL + PING_TIMEOUT + 1
            while time.monotonic() < deadline and all(bus.up for bus in buses):
                await asyncio.sleep(0.1)
        run.after_a_ping = (a.status.state.value, b.status.state.value)
        run.details += " | " + " | ".join(str(bus.status.detail) for bus in buses)
        run.publish_errors = metrics.registry.get_sample_value(
            "dixi_event_bus_publish_failures_total", {"reason": "error"}
        ) or 0.0
        for bus in buses:
            await bus.aclose()

    asyncio.run(scenario())
    run.logged = bus_log(caplog)
    return run


def bus_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The bus's log lines with their `error` field (where bus.py puts what the server answered)."""
    return [
        f"{r.getMessage()} {getattr(r, 'error', '')}" for r in caplog.records if r.name.startswith("dixi.backend.bus")
    ]


@needs_redis
def test_the_bus_lives_with_exactly_this_access_past_a_ping(caplog: pytest.LogCaptureFixture) -> None:
    with acl_server() as bus:
        run = run_two_buses(bus.url, caplog, wait_for_a_ping=True)
        denials = bus.denials()
        user = bus.admin.execute_command("ACL", "GETUSER", "default")
    assert run.healthy, run
    assert run.delivered == [{**EVENT, "hand": None}], run.delivered
    assert not run.saw_noperm(), run
    assert denials == [], denials
    assert "on" in user["flags"] and "nopass" not in user["flags"], user


@needs_redis
@pytest.mark.parametrize(
    ("rule", "symptom"),
    [
        pytest.param("+client|setname", "never up: redis-py drops a connection it cannot name", id="client-setname"),
        pytest.param("+subscribe", "never up: no subscription", id="subscribe"),
        pytest.param("&dixi:events", "never up: the channel is refused", id="channel"),
        pytest.param("+publish", "up, but nothing reaches the other replica", id="publish"),
        pytest.param("+set", "up, but the lease cannot be taken (both replicas would answer)", id="set"),
        pytest.param("~dixi:events:lease:*", "up, but the lease key is refused", id="lease-keys"),
        pytest.param("+ping", "down after the first PING", id="ping"),
        pytest.param("on", "never up: the user is off", id="on"),
    ],
)
def test_without_any_one_rule_the_bus_fails_with_noperm(
    rule: str, symptom: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each rule is needed: the access string is the least that works."""
    with acl_server(without(rule)) as bus:
        run = run_two_buses(bus.url, caplog, wait_for_a_ping=rule == "+ping")
        denials = bus.denials()
    assert not run.healthy, f"the bus works without {rule!r}: it is not needed ({run})"
    if rule == "on":
        assert "WRONGPASS" in run.details or "AuthenticationError" in run.details, run
        return
    assert run.saw_noperm(), f"without {rule!r} ({symptom}) the failure should be a NOPERM: {run}"
    assert denials, "the server logged no ACL denial"
    if rule == "+publish":
        assert run.states == ("up", "up") and run.delivered == [] and run.publish_errors == 1, run
        assert any("publish failed" in line and "NoPermissionError" in line for line in run.logged), run.logged
    if rule in ("+set", "~dixi:events:lease:*"):
        assert run.states == ("up", "up") and run.claims == (None, None) and len(run.delivered) == 1, run
    if rule == "+ping":
        assert run.states == ("up", "up") and "down" in run.after_a_ping, run
    if rule in ("+subscribe", "&dixi:events"):
        # The bus waits for the server to confirm SUBSCRIBE: a refused subscription is never "up".
        assert run.states == ("down", "down") and run.after_a_ping == ("down", "down"), run
        assert not any(line.startswith("event bus up") for line in run.logged), "a refused subscription flapped to up"


@needs_redis
def test_without_resetchannels_the_access_string_is_refused_where_channels_default_to_all() -> None:
    """On a serverless cache every user starts with all channels; `&dixi:events` alone cannot narrow that."""
    with RedisServer() as server, pytest.raises(ResponseError, match="resetchannels"):
        restrict(server, without("resetchannels"))


@needs_redis
@pytest.mark.parametrize(
    "command",
    [
        ["FLUSHALL"],
        ["FLUSHDB"],
        ["KEYS", "*"],
        ["SCAN", "0"],
        ["CONFIG", "GET", "*"],
        ["CONFIG", "SET", "requirepass", ""],
        ["ACL", "SETUSER", "default", "+@all"],
        ["ACL", "LIST"],
        ["CLIENT", "LIST"],
        ["CLIENT", "KILL", "ID", "1"],
        ["SHUTDOWN", "NOSAVE"],
        ["EVAL", "return 1", "0"],
        ["SELECT", "1"],
        ["DEL", f"{DEFAULT_CHANNEL}:lease:auto-ai"],
        ["GET", f"{DEFAULT_CHANNEL}:lease:auto-ai"],
        ["SET", "some-other-key", "x"],
        ["SET", "dixi:events", "x"],
        ["PUBLISH", "another-channel", "x"],
        ["SPUBLISH", DEFAULT_CHANNEL, "x"],
        ["INFO"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_the_bus_user_is_refused_everything_else(command: list[str]) -> None:
    with acl_server() as bus, bus.connect(password=BUS_PASSWORD) as user:
        with pytest.raises(NoPermissionError):
            user.execute_command(*command)
        assert bus.admin.ping(), "the server is still there"


@needs_redis
@pytest.mark.parametrize("subscribe", ["subscribe", "psubscribe"])
def test_the_bus_user_cannot_listen_to_other_channels(subscribe: str) -> None:
    with acl_server() as bus, bus.connect(password=BUS_PASSWORD) as user:
        pubsub = user.pubsub()
        getattr(pubsub, subscribe)("another-channel" if subscribe == "subscribe" else "*")
        with pytest.raises(NoPermissionError):
            pubsub.get_message(timeout=2)
        pubsub.close()
        # The one it may use still works, on the same user.
        pubsub = user.pubsub()
        pubsub.subscribe(DEFAULT_CHANNEL)
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        pubsub.close()
