"""The bundled example routes clients by place, through a real server, with ECS scopes right.

The example geo database (geodb/example.csv) puts documentation and private ranges in several
countries; the example zone's policies send each to its region. dnspython is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import dns.edns
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from gtm.geo.geodb import MaxMindGeoDB
from gtm.runtime.serve import Runtime
from tests.dualpath import dual_checked
from tests.helpers import EXAMPLE, Client, client_for, running
from tests.targets import example_zones

GEODB = Path(__file__).resolve().parents[2] / "geodb" / "example.mmdb"
EU_WEST = {"192.0.2.10", "192.0.2.11"}
US_EAST = {"198.51.100.10"}
AP_NORTHEAST = {"203.0.113.10"}


@pytest.fixture
async def example(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with (
        example_zones(EXAMPLE, tmp_path / "zones"),
        running(tmp_path / "zones", geodb=GEODB) as runtime,
    ):
        with dual_checked(runtime):  # every answer: fast path == full path, byte for byte
            yield runtime


@dataclass(frozen=True)
class Case:
    name: str
    ecs: str | None
    expect: set[str] | None  # None: NODATA
    scope: int | None  # None: the reply carries no ECS
    rdtype: str = "A"


CASES = {
    # shop: geolocation by network, subdivision, country, continent, default
    "shop DE": Case("shop", "192.0.2.0/24", EU_WEST, 25),  # the database network is a /25
    "shop AT": Case("shop", "192.0.2.128/25", EU_WEST, 25),
    "shop US-CA (subdivision)": Case("shop", "198.51.100.0/24", US_EAST, 24),
    "shop US-VA (continent NA)": Case("shop", "172.16.5.0/24", US_EAST, 12),
    "shop BR (continent SA)": Case("shop", "203.0.113.128/25", US_EAST, 25),
    "shop JP (default)": Case("shop", "203.0.113.0/25", AP_NORTHEAST, 25),
    "shop CA in the network rule": Case("shop", "100.64.1.0/24", AP_NORTHEAST, 16),
    "shop CA next to the network rule": Case("shop", "100.65.0.0/24", US_EAST, 16),
    "shop GB over IPv6": Case("shop", "2001:db8:1::/56", {"2001:db8:10::1"}, 48, "AAAA"),
    "shop AU over IPv6: default has no IPv6": Case("shop", "2001:db8:3::/56", None, 48, "AAAA"),
    "shop source prefix 0: the resolver's place, scope 0": Case("shop", "0.0.0.0/0", EU_WEST, 0),
    "shop IPv6 source prefix 0": Case("shop", "::/0", EU_WEST, 0),
    "shop /32, longer than the database's /25": Case("shop", "192.0.2.7/32", EU_WEST, 25),
    "shop /23, shorter than the database's /25": Case("shop", "192.0.2.0/23", EU_WEST, 25),
    "shop without ECS: the source address (127.0.0.1, IE)": Case("shop", None, EU_WEST, None),
    # www: geoproximity (us-east biased +25), two answers at most
    "www Tokyo": Case("www", "203.0.113.0/25", AP_NORTHEAST, 25),
    "www Frankfurt": Case("www", "192.0.2.0/24", EU_WEST, 25),
    "www San Jose": Case("www", "198.51.100.0/24", US_EAST, 24),
    "www Sao Paulo": Case("www", "203.0.113.128/25", US_EAST, 25),
    "www Sydney over IPv6": Case("www", "2001:db8:3::/48", {"2001:db8:20::1"}, 48, "AAAA"),
    # api: latency, estimated from distance
    "api Vienna": Case("api", "192.0.2.128/25", EU_WEST, 25),
    "api Toronto": Case("api", "100.65.0.0/24", US_EAST, 10),
    "api Tokyo": Case("api", "203.0.113.0/25", AP_NORTHEAST, 25),
    # failover does not depend on the client: scope 0
    "db from Tokyo": Case("db", "203.0.113.0/25", EU_WEST, 0),
}


async def ask(client: Client, case: Case) -> dns.message.Message:
    options = []
    if case.ecs is not None:
        network = ipaddress.ip_network(case.ecs)
        options.append(dns.edns.ECSOption(str(network.network_address), network.prefixlen))
    return await client.ask(f"{case.name}.gtm.example.test.", case.rdtype, use_edns=0,
                            options=options)  # fmt: skip


def scope_of(response: dns.message.Message) -> int | None:
    for option in response.options:
        if isinstance(option, dns.edns.ECSOption):
            return option.scopelen
    return None


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("repeat", [1, 2], ids=["miss", "hit"])
async def test_clients_get_their_region(example: Runtime, case: Case, repeat: int) -> None:
    client = client_for(example)
    for _ in range(repeat):  # the second time, from the cache
        response = await ask(client, case)
    if repeat == 2:  # the hit took the fast path (and the dual check held it to the full path)
        assert example.responder.stats.fast_answers == 1
    assert response.rcode() == dns.rcode.NOERROR
    got = {rd.to_text() for rrset in response.answer for rd in rrset}
    assert got == (case.expect or set())
    assert scope_of(response) == case.scope
    if case.ecs is not None:
        (option,) = response.options
        assert isinstance(option, dns.edns.ECSOption)
        network = ipaddress.ip_network(case.ecs)
        assert (option.address, option.srclen) == (str(network.network_address), network.prefixlen)


async def test_answers_cap_and_rotate(example: Runtime) -> None:
    client = client_for(example)
    orders = set()
    for _ in range(4):
        response = await client.ask("www.gtm.example.test.", "A", use_edns=0,
                                    options=[dns.edns.ECSOption("192.0.2.0", 24)])  # fmt: skip
        orders.add(tuple(rd.to_text() for rd in response.answer[0]))
    assert orders == {("192.0.2.10", "192.0.2.11"), ("192.0.2.11", "192.0.2.10")}


async def test_unknown_addresses_get_default_with_the_database_networks_scope(
    example: Runtime,
) -> None:
    client = client_for(example)
    geodb = MaxMindGeoDB.open(GEODB)
    try:
        record = geodb.lookup(ipaddress.ip_address("8.8.8.0"))
    finally:
        geodb.close()
    assert not record.found
    response = await ask(client, Case("shop", "8.8.8.0/24", AP_NORTHEAST, None))
    assert {rd.to_text() for rd in response.answer[0]} == AP_NORTHEAST
    assert scope_of(response) == max(record.network.prefixlen, 1)  # next to 100.64/16: >= 1


async def test_weighted_answers_vary_and_carry_scope_zero(example: Runtime) -> None:
    client = client_for(example)
    seen = set()
    for _ in range(200):
        response = await client.ask("canary.gtm.example.test.", "A", use_edns=0,
                                    options=[dns.edns.ECSOption("192.0.2.0", 24)])  # fmt: skip
        assert scope_of(response) == 0
        seen.add(frozenset(rd.to_text() for rd in response.answer[0]))
    assert seen == {frozenset(EU_WEST), frozenset(US_EAST)}


async def test_a_replaced_geo_database_is_served_and_a_corrupt_one_rejected(
    tmp_path: Path,
) -> None:
    from gtm.geo.build import build_database

    geodb = tmp_path / "geo.mmdb"
    geodb.write_bytes(GEODB.read_bytes())
    async with (
        example_zones(EXAMPLE, tmp_path / "zones"),
        running(tmp_path / "zones", geodb=geodb) as runtime,
    ):
        client = client_for(runtime)
        tokyo = Case("shop", "203.0.113.0/25", AP_NORTHEAST, 25)
        assert {rd.to_text() for rd in (await ask(client, tokyo)).answer[0]} == AP_NORTHEAST
        # The same ranges, but 203.0.113.0/25 now in Germany: built aside, renamed over.
        csv = tmp_path / "moved.csv"
        csv.write_text(
            (GEODB.parent / "example.csv")
            .read_text()
            .replace("203.0.113.0/25,JP,AS,13,Tokyo,35.68,139.69", "203.0.113.0/25,DE,EU,,,,")
        )
        staged = tmp_path / "staged.mmdb"
        build_database(csv, staged)
        staged.replace(geodb)
        version = runtime.responder.snapshot.version
        assert await runtime.reload_geodb()
        assert runtime.responder.snapshot.version == version + 1
        assert {rd.to_text() for rd in (await ask(client, tokyo)).answer[0]} == EU_WEST
        # A corrupt replacement is rejected; the last good database keeps serving.
        staged.write_bytes(b"not a database" * 100)
        staged.replace(geodb)
        assert not await runtime.reload_geodb()
        assert runtime.responder.snapshot.version == version + 1
        assert {rd.to_text() for rd in (await ask(client, tokyo)).answer[0]} == EU_WEST
