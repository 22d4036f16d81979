"""The fan-out hub: a slow client is dropped, the others are never delayed; the limits count every connection."""

from __future__ import annotations

import asyncio

from dixi_backend.hub import (
    ADDRESS_FULL_REASON,
    FULL_REASON,
    SLOW_CLIENT_CLOSE_CODE,
    Hub,
    address_key,
)


class FastSocket:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.closed: int | None = None

    async def send_text(self, data: str) -> None:
        self.received.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code


class StuckSocket(FastSocket):
    """A peer that stopped reading: every send blocks forever."""

    async def send_text(self, data: str) -> None:
        await asyncio.Event().wait()


def test_a_stuck_client_is_dropped_with_1013_while_the_others_get_every_event() -> None:
    async def scenario() -> tuple[list[FastSocket], StuckSocket, Hub, list[int]]:
        hub = Hub(queue_size=8)
        fast = [FastSocket() for _ in range(3)]
        stuck = StuckSocket()
        for socket in [*fast, stuck]:
            hub.add(socket)
        sizes: list[int] = []
        for i in range(100):
            hub.publish({"type": "gesture", "n": i})
            sizes.extend(c.queue.qsize() for c in hub._clients)
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        return fast, stuck, hub, sizes

    fast, stuck, hub, sizes = asyncio.run(scenario())
    for socket in fast:
        assert len(socket.received) == 100, f"a fast client got {len(socket.received)} of 100"
    assert stuck.closed == SLOW_CLIENT_CLOSE_CODE, f"stuck client close code {stuck.closed}"
    assert hub.client_count == 3 and hub.stats.dropped_clients == 1, hub.stats
    assert max(sizes) <= 8, f"a queue grew past its bound: {max(sizes)}"


def test_publishing_never_waits_for_a_socket() -> None:
    async def scenario() -> float:
        hub = Hub(queue_size=10_000)
        for _ in range(50):
            hub.add(StuckSocket())
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(1000):
            hub.publish({"n": i})
        return loop.time() - started

    elapsed = asyncio.run(scenario())
    assert elapsed < 1.0, f"1000 publishes to 50 stuck clients took {elapsed:.2f}s"


def test_a_dropped_clients_queue_is_freed() -> None:
    async def scenario() -> int:
        hub = Hub(queue_size=4)
        client = hub.add(StuckSocket())
        for i in range(10):
            hub.publish({"n": i})
        await asyncio.sleep(0.01)
        return client.queue.qsize()

    assert asyncio.run(scenario()) == 0, "the events queued for a dropped client were kept"


def test_a_dropped_client_counts_toward_the_cap_until_its_handler_removes_it() -> None:
    async def scenario() -> tuple[str | None, str | None, int]:
        hub = Hub(queue_size=1, max_clients=2)
        hub.add(FastSocket(), "198.51.100.1")
        stuck = hub.add(StuckSocket(), "198.51.100.2")
        for n in range(4):
            hub.publish({"n": n})
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert stuck.dropped and stuck.gone.is_set(), "the stuck client was not dropped"
        while_closing = hub.refusal("203.0.113.9")
        await hub.remove(stuck)
        return while_closing, hub.refusal("203.0.113.9"), hub.client_count

    while_closing, after, receivers = asyncio.run(scenario())
    assert while_closing == FULL_REASON, "a dropped client's socket still counts until its handler returns"
    assert after is None, "the slot must be free once the handler has returned"
    assert receivers == 1


def test_one_address_gets_at_most_its_share_of_connections() -> None:
    async def scenario() -> list[str | None]:
        hub = Hub(max_clients=10, max_per_address=2)
        for _ in range(2):
            hub.add(FastSocket(), address_key("203.0.113.7"))
        return [hub.refusal(address_key("203.0.113.7")), hub.refusal(address_key("198.51.100.1"))]

    assert asyncio.run(scenario()) == [ADDRESS_FULL_REASON, None]


def test_an_ipv6_client_is_counted_by_its_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1", "an IPv4-mapped address is its IPv4 address"
    assert address_key(None) == "unknown" and address_key("testclient") == "testclient"
