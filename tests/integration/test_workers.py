"""`gtm serve --workers N`: N processes share the port, and answer from one health view and one
set of zones: every process answers, and all switch together on a health change or a reload."""

from __future__ import annotations

import asyncio
import math
import os
import re
import select
import signal
import socket
import time
from pathlib import Path

import dns.asyncquery
import dns.edns
import dns.message
import dns.rdatatype
import httpx
import pytest

from gtm.commands.options import worker_count
from gtm.dns.rrl import RrlSettings
from gtm.runtime.serve import Runtime
from tests.helpers import Client, client_for, running, settle
from tests.targets import failover_zone, targets

WORKERS = 3  # processes: the primary and two workers
QUERIES = 120  # each from a new UDP socket (a new source port): the kernel spreads them
# Checks that fail in a row before the primary is down: starting worker processes loads both
# CPUs, and one check timing out then must not fail the primary over (it did once in CI).
FALL = 3
TXT = "records:\n  txt: {A: [192.0.2.%d]}\n"  # a static record to reload


async def answers(client: Client, name: str = "failover.hc.test.") -> set[str]:
    """The A records seen over QUERIES queries, each from its own source port."""

    async def one() -> str:
        reply = await client.udp(dns.message.make_query(name, dns.rdatatype.A))
        return " ".join(sorted(rd.to_text() for rrset in reply.answer for rd in rrset))

    return set(await asyncio.gather(*(one() for _ in range(QUERIES))))


async def handled(runtime: Runtime) -> dict[int, int]:
    """Messages each process has handled (0: the primary)."""
    assert runtime.workers is not None
    stats = await runtime.workers.collect_stats()
    return {0: runtime.responder.stats.total} | {i: q.total for i, (q, _) in stats.items()}


def grew(before: dict[int, int], after: dict[int, int]) -> set[int]:
    return {i for i in after if after[i] > before.get(i, 0)}


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    return tmp_path / "zones"


async def test_every_worker_answers_and_all_switch_health_together(zones: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL)
        async with running(zones, workers=WORKERS) as runtime:
            assert runtime.workers is not None
            client = client_for(runtime)
            before = await handled(runtime)
            assert await answers(client) == {"127.0.0.11"}
            assert grew(before, await handled(runtime)) == set(range(WORKERS))

            primary.status = 503
            await settle(runtime, lambda v: bool(v.endpoints_down))
            await runtime.workers.sync()  # the view is delivered in order, before this request
            served = runtime.responder.snapshot.health.version
            assert set(runtime.workers.health_versions().values()) == {served}
            before = await handled(runtime)
            assert await answers(client) == {"127.0.0.12"}  # from every process:
            assert grew(before, await handled(runtime)) == set(range(WORKERS))

            primary.status = 200
            await settle(runtime, lambda v: not v.endpoints_down)
            await runtime.workers.sync()
            assert await answers(client) == {"127.0.0.11"}


async def test_a_reload_reaches_every_worker(zones: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL, extra=TXT % 1)
        async with running(zones, workers=WORKERS) as runtime:
            client = client_for(runtime)
            assert await answers(client, "txt.hc.test.") == {"192.0.2.1"}
            failover_zone(zones, primary.port, fall=FALL, extra=TXT % 2)
            await runtime.reload()  # returns once every process has the new zones
            before = await handled(runtime)
            assert await answers(client, "txt.hc.test.") == {"192.0.2.2"}
            assert grew(before, await handled(runtime)) == set(range(WORKERS))


async def test_a_worker_that_dies_is_started_again(zones: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL)
        async with running(zones, workers=2) as runtime:
            assert runtime.workers is not None
            pid = runtime.workers.pids()[1]
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await runtime.workers.exited(1)
            await runtime.workers.wait_all_ready()  # after the restart
            assert runtime.workers.restarts == 1
            assert runtime.workers.pids()[1] != pid
            assert runtime.not_ready() == []
            assert await answers(client_for(runtime)) == {"127.0.0.11"}


@pytest.mark.parametrize(
    ("text", "count"), [("1", 1), ("4", 4), ("auto", len(os.sched_getaffinity(0)))]
)
def test_worker_count(text: str, count: int) -> None:
    assert worker_count(text) == count


@pytest.mark.parametrize("text", ["0", "-1", "two", ""])
def test_worker_count_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="--workers"):
        worker_count(text)


async def test_metrics_and_readiness_cover_every_process(zones: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL)
        async with running(zones, workers=WORKERS, http=("127.0.0.1", 0)) as runtime:
            await answers(client_for(runtime))
            host, port = runtime.http_addresses[0]
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", trust_env=False) as http:
                assert (await http.get("/readyz")).json()["ready"] is True
                text = (await http.get("/metrics")).text
    assert f"gtm_dns_processes {float(WORKERS)}" in text
    per_process = dict(re.findall(r'gtm_dns_process_messages_total\{process="(\d)"\} (\S+)', text))
    assert set(per_process) == {"0", "1", "2"}
    assert all(float(count) > 0 for count in per_process.values())
    total = sum(float(count) for count in per_process.values())
    labels = 'policy="failover",qtype="A",rcode="NOERROR",zone="hc.test."'
    assert f"gtm_dns_queries_total{{{labels}}} {total}" in text


async def nsids(port: int, source: str, count: int = 30) -> set[bytes]:
    """The NSIDs of `count` answers to queries from `source`, each from a new source port."""

    async def one() -> bytes:
        query = dns.message.make_query("failover.hc.test.", dns.rdatatype.A, use_edns=0,
                                       options=[dns.edns.NSIDOption(b"")])  # fmt: skip
        reply = await dns.asyncquery.udp(query, "127.0.0.1", port=port, source=source, timeout=5)
        return next(bytes(o.nsid) for o in reply.options if isinstance(o, dns.edns.NSIDOption))

    return set(await asyncio.gather(*(one() for _ in range(count))))


async def test_with_rate_limiting_each_network_is_answered_by_one_process(zones: Path) -> None:
    """The steering that makes the limits node-wide: every query from one /24 reaches the same
    process (its NSID says which), whatever its source port."""
    rrl = RrlSettings(responses=1000, ipv4_prefix=24)
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL)
        async with running(zones, workers=WORKERS, nsid="node", rrl=rrl) as runtime:
            port = runtime.server.addresses[0][1]
            seen = [await nsids(port, f"127.0.{net}.{host}") for net in range(3) for host in (1, 2)]
    assert all(len(one) == 1 for one in seen)
    assert [seen[i] == seen[i + 1] for i in (0, 2, 4)] == [True] * 3  # by network
    assert set().union(*seen) == {b"node/0", b"node/1", b"node/2"}  # networks spread


async def test_rate_limits_hold_for_the_node_not_per_process(zones: Path) -> None:
    """One client network at 2 responses a second (no slip): a burst from many source ports is
    answered about twice, not twice per process as it would be if each process kept its own
    accounts."""
    rate = 2
    rrl = RrlSettings(responses=rate, window=1, slip=0)
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL)
        async with running(zones, workers=WORKERS, rrl=rrl) as runtime:
            port = runtime.server.addresses[0][1]
            answered, span = await asyncio.to_thread(burst, port, 60)
    assert rate <= answered <= rate + math.ceil(span * rate)  # initial credit, then the rate
    assert answered < rate * WORKERS


def burst(port: int, count: int) -> tuple[int, float]:
    """Send `count` queries, each from its own source port, as fast as possible; how many are
    answered (within a second of the last reply) and how long the sending took."""
    wire = dns.message.make_query("failover.hc.test.", dns.rdatatype.A).to_wire()
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        start = time.monotonic()
        for sock in sockets:
            sock.sendto(wire, ("127.0.0.1", port))
        span = time.monotonic() - start
        answered = 0
        waiting = set(sockets)
        while waiting:
            ready, _, _ = select.select(list(waiting), [], [], 1.0)
            if not ready:
                break  # the rest were dropped
            for sock in ready:
                sock.recv(4096)
                waiting.discard(sock)
                answered += 1
        return answered, span
    finally:
        for sock in sockets:
            sock.close()


async def test_every_process_accepts_the_cookies_of_the_others(zones: Path) -> None:
    """One secret for the node (random here): a server cookie from one process is valid, and
    so echoed unchanged, at every process (queries from many source ports reach all three)."""
    client_cookie = bytes.fromhex("0102030405060708")
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        failover_zone(zones, primary.port, fall=FALL)
        async with running(zones, workers=WORKERS) as runtime:
            port = runtime.server.addresses[0][1]
            first = await cookie_reply(port, dns.edns.CookieOption(client_cookie, b""))
            issued = cookie_of(first)
            before = await handled(runtime)
            echoed = await asyncio.gather(*(cookie_reply(port, issued) for _ in range(QUERIES)))
            assert grew(before, await handled(runtime)) == set(range(WORKERS))
    assert {cookie_of(reply).server for reply in echoed} == {issued.server}


async def cookie_reply(port: int, cookie: dns.edns.CookieOption) -> dns.message.Message:
    query = dns.message.make_query("failover.hc.test.", dns.rdatatype.A, use_edns=0,
                                   options=[cookie])  # fmt: skip
    return await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=5)


def cookie_of(reply: dns.message.Message) -> dns.edns.CookieOption:
    (option,) = [o for o in reply.options if isinstance(o, dns.edns.CookieOption)]
    return option
