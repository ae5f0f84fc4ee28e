"""`gtm serve` runs the simulated BGP speakers from the live health view: announce, withdraw,
hold-down, the last-PoP guard; logged once, counted, in /v1/events and /v1/anycast."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from gtm.anycast.rib import Action, Update
from gtm.runtime.serve import Runtime
from tests.helpers import running, settle
from tests.targets import failover_zone, targets

PREFIX = "203.0.113.0/24"
HOLD = "anycast: {hold_down: 500ms, damping: false}\n"


async def next_update(runtime: Runtime, action: Action, pool: str) -> Update:
    """Wait for the announcer to send this update (a step runs at least once a second)."""
    seen: list[Update] = []
    previous = runtime.anycast.sink
    found = asyncio.get_running_loop().create_future()

    def sink(update: Update) -> None:
        seen.append(update)
        if update.action is action and update.route.pop.pool == pool and not found.done():
            found.set_result(update)

    runtime.anycast.sink = sink
    try:
        return await asyncio.wait_for(found, 30)
    finally:
        runtime.anycast.sink = previous


def states(runtime: Runtime) -> dict[str, str]:
    (prefix,) = runtime.anycast.describe()["prefixes"]
    assert prefix["prefix"] == PREFIX
    return {route["pop"]: route["state"] for route in prefix["pops"]}


async def test_withdraw_on_failure_and_announce_again_after_the_hold_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gtm.anycast.announcer")
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        zones = failover_zone(tmp_path / "zones", primary.port, extra=HOLD, announce=PREFIX)
        async with running(zones, http=("127.0.0.1", 0)) as runtime:
            assert states(runtime) == {"primary": "announced", "backup": "announced"}
            withdrawn = next_update(runtime, Action.WITHDRAW, "primary")
            primary.status = 503
            update = await withdrawn
            assert update.reason == "pool down"
            assert states(runtime) == {"primary": "withdrawn", "backup": "announced"}

            announced = next_update(runtime, Action.ANNOUNCE, "primary")
            primary.status = 200
            await settle(runtime, lambda v: not v.endpoints_down)
            assert states(runtime)["primary"] in ("hold-down", "announced")
            await announced  # once the pool has been up for the hold-down
            assert states(runtime) == {"primary": "announced", "backup": "announced"}

            host, port = runtime.http_addresses[0]
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", trust_env=False) as http:
                body = (await http.get("/v1/anycast")).json()
                events = (await http.get("/v1/events", params={"type": "anycast"})).json()
                metrics = (await http.get("/metrics")).text
    (prefix,) = body["prefixes"]
    assert sum(route["catchment_share"] for route in prefix["pops"]) == pytest.approx(1.0)
    assert body["zones"]["hc.test."]["hold_down"] == 0.5
    actions = [(e["action"], e["pop"]) for e in reversed(events["events"])]
    assert actions == [("announce", "primary"), ("announce", "backup"),
                       ("withdraw", "primary"), ("announce", "primary")]  # fmt: skip
    assert 'gtm_anycast_updates_total{action="withdraw"} 1.0' in metrics
    assert 'gtm_anycast_updates_total{action="announce"} 3.0' in metrics
    assert (
        f'gtm_anycast_route_announced{{pool="primary",prefix="{PREFIX}",zone="hc.test."}}'
        not in metrics
    )  # the label is the PoP
    assert (
        f'gtm_anycast_route_announced{{pop="primary",prefix="{PREFIX}",zone="hc.test."}} 1.0'
        in metrics
    )
    logged = [r.getMessage() for r in caplog.records if "event=anycast-" in r.getMessage()]
    assert len(logged) == 4  # each update logged once


async def test_the_last_pop_keeps_the_prefix(tmp_path: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as (primary, backup):
        zones = failover_zone(tmp_path / "zones", primary.port, extra=HOLD, announce=PREFIX)
        async with running(zones) as runtime:
            withdrawn = next_update(runtime, Action.WITHDRAW, "primary")
            primary.status = 503
            await withdrawn
            backup.status = 503
            await settle(runtime, lambda v: not v.pools["backup"].up)
            runtime.anycast.step()
            assert states(runtime) == {"primary": "withdrawn", "backup": "kept"}
            assert [r.pop.pool for r in runtime.anycast.announced()] == ["backup"]
