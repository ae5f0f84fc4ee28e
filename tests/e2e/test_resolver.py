"""Through a real recursive resolver: Unbound with a stub zone for the example zone pointing at
gtm and client subnet on. Clients on loopback addresses that the test's geo database puts in
different countries each get their region's answer, also on the repeat answered from Unbound's
cache (which only holds if gtm's ECS scope is right). Then two gtm nodes sharing one Redis,
behind one Unbound each, answer alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from gtm.geo.build import build_database
from gtm.runtime.check import Agent, AgentConfig
from tests.helpers import EXAMPLE, running, settle
from tests.redis_server import RedisServer, free_port
from tests.targets import example_zones

pytestmark = pytest.mark.e2e
UNBOUND = shutil.which("unbound")
NAME = "shop.gtm.example.test."
# Source addresses in three /24s (Unbound sends a client's /24 as its subnet), three countries.
CLIENTS = {
    "127.10.0.1": ("DE", {"192.0.2.10", "192.0.2.11"}),  # shop: DE -> eu-west
    "127.20.0.1": ("JP", {"203.0.113.10"}),  # shop: the default -> ap-northeast
    "127.30.0.1": ("US", {"198.51.100.10"}),  # shop: NA -> us-east
}
CSV = """network,country,continent,subdivisions,city,latitude,longitude,registered_country
127.0.0.0/16,IE,EU,L,Dublin,53.35,-6.26,
127.10.0.0/16,DE,EU,,,50.11,8.68,
127.20.0.0/16,JP,AS,,,35.68,139.69,
127.30.0.0/16,US,NA,VA,,39.04,-77.49,
"""


def geodb(work: Path) -> Path:
    csv = work / "resolver-geo.csv"
    csv.write_text(CSV)
    out = work / "resolver-geo.mmdb"
    build_database(csv, out)
    return out


class Unbound:
    """A private Unbound on a free port: recursion for our clients, a stub zone to gtm."""

    def __init__(self, work: Path, gtm_port: int) -> None:
        self.port = free_port()
        self.config = work / f"unbound-{self.port}.conf"
        self.config.write_text(f"""
server:
  interface: 127.0.0.1@{self.port}
  port: {self.port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{work}"
  pidfile: "{work}/unbound-{self.port}.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "subnetcache iterator"
  send-client-subnet: 127.0.0.1
  max-client-subnet-ipv4: 24
  qname-minimisation: no
  domain-insecure: "gtm.example.test"
  local-zone: "test." nodefault  # Unbound answers .test itself (RFC 6761) unless told not to
stub-zone:
  name: "gtm.example.test"
  stub-addr: 127.0.0.1@{gtm_port}
remote-control:
  control-enable: no
""")

    async def ask(self, name: str, source: str, *, wait: float = 10) -> dns.message.Message:
        """Ask through Unbound from `source`; give up after `wait` seconds."""
        query = dns.message.make_query(name, "A")
        return await dns.asyncquery.udp(query, "127.0.0.1", port=self.port, source=source,
                                        timeout=wait)  # fmt: skip


@contextlib.asynccontextmanager
async def unbound(work: Path, gtm_port: int) -> AsyncIterator[Unbound]:
    assert UNBOUND is not None
    server = Unbound(work, gtm_port)
    log = (work / f"unbound-{server.port}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        UNBOUND, "-d", "-c", str(server.config), stdout=log, stderr=log, start_new_session=True
    )
    try:
        async with asyncio.timeout(30):  # until it answers (it reads its config, then binds)
            while True:
                try:
                    await server.ask("gtm.example.test.", "127.0.0.1", wait=0.5)
                    break
                except (OSError, dns.exception.Timeout):
                    if proc.returncode is not None:
                        raise AssertionError(f"unbound exited: {server.config}") from None
                    await asyncio.sleep(0.1)
        yield server
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()
        log.close()


def addresses(reply: dns.message.Message) -> set[str]:
    return {rd.to_text() for rrset in reply.answer for rd in rrset if rrset.rdtype == 1}


async def each_client_gets_its_region(resolver: Unbound) -> None:
    for _ in range(2):  # the second round comes from Unbound's cache
        for source, (country, expected) in CLIENTS.items():
            reply = await resolver.ask(NAME, source)
            assert reply.rcode() == dns.rcode.NOERROR, (country, reply)
            assert addresses(reply) == expected, country


def test_unbound_is_installed() -> None:
    """deploy/setup.sh --dev installs it; the tests below need it."""
    assert UNBOUND is not None


async def test_clients_behind_a_resolver_get_their_region_also_from_its_cache(
    tmp_path: Path,
) -> None:
    async with (
        example_zones(EXAMPLE, tmp_path / "zones"),
        running(tmp_path / "zones", geodb=geodb(tmp_path)) as gtm,
        unbound(tmp_path, gtm.server.addresses[0][1]) as resolver,
    ):
        await each_client_gets_its_region(resolver)
        stats = gtm.responder.stats
        # Unbound asked gtm once per client subnet (with ECS), then answered from its cache.
        assert stats.ecs_queries >= len(CLIENTS)
        answered = sum(n for (zone, policy, _, _), n in stats.queries.items() if policy == "shop")
        assert answered == len(CLIENTS)


async def test_two_nodes_sharing_redis_answer_alike(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """One checker agent votes through Redis that eu-west is down; both nodes, each behind its
    own Unbound, then send the DE client to the default region, and every client alike."""
    async with example_zones(EXAMPLE, tmp_path / "zones") as regions:
        regions["eu-west"].status = 503
        agent = Agent(AgentConfig(redis_server.url, "resolver-test", tmp_path / "zones",
                                  cluster="resolver"))  # fmt: skip
        await agent.start(signals=False)
        database = geodb(tmp_path)
        try:
            async with (
                running(tmp_path / "zones", geodb=database, redis=redis_server.url,
                        cluster="resolver") as one,
                running(tmp_path / "zones", geodb=database, redis=redis_server.url,
                        cluster="resolver") as two,
            ):  # fmt: skip
                for node in (one, two):
                    await settle(node, lambda v: any(p == "eu-west" for p, _ in v.endpoints_down))
                async with (
                    unbound(tmp_path, one.server.addresses[0][1]) as first,
                    unbound(tmp_path, two.server.addresses[0][1]) as second,
                ):
                    for source in CLIENTS:
                        a = addresses(await first.ask(NAME, source))
                        b = addresses(await second.ask(NAME, source))
                        assert a == b, source
                    assert a == CLIENTS["127.30.0.1"][1]  # the last, US: us-east
                    de = addresses(await first.ask(NAME, "127.10.0.1"))
                    assert de == CLIENTS["127.20.0.1"][1]  # DE without eu-west: the default
        finally:
            agent.stop()
            await agent.wait()
