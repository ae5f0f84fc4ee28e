"""Embedded mode: gtm serve checks real HTTP targets itself and fails over on what it sees."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import dns.rcode
import httpx
import pytest

from gtm.model.addresses import IPAddress
from gtm.model.health import HealthView
from tests.helpers import Client, client_for, running, settle
from tests.targets import Target, failover_zone, targets

PRIMARY, BACKUP = "127.0.0.11", "127.0.0.12"


async def answer(client: Client, name: str = "failover.hc.test.") -> set[str]:
    response = await client.ask(name, "A")
    assert response.rcode() == dns.rcode.NOERROR
    return {rd.to_text() for rrset in response.answer for rd in rrset}


def primary_down(view: HealthView) -> bool:
    return not view.pools["primary"].up if "primary" in view.pools else False


def primary_up(view: HealthView) -> bool:
    return view.pools["primary"].up if "primary" in view.pools else False


@pytest.fixture
async def pair() -> AsyncIterator[list[Target]]:
    async with targets(PRIMARY, BACKUP) as both:
        yield both


async def test_fails_over_and_back_as_the_target_flips(pair: list[Target], tmp_path: Path) -> None:
    primary, _ = pair
    zones = failover_zone(tmp_path / "zones", primary.port)
    async with running(zones) as runtime:
        client = client_for(runtime)
        assert await answer(client) == {PRIMARY}
        primary.status = 503
        await settle(runtime, primary_down)
        assert await answer(client) == {BACKUP}
        primary.status = 200
        await settle(runtime, primary_up)
        assert await answer(client) == {PRIMARY}


async def test_a_hung_target_is_down_after_its_timeout(pair: list[Target], tmp_path: Path) -> None:
    primary, _ = pair
    zones = failover_zone(tmp_path / "zones", primary.port)
    async with running(zones) as runtime:
        client = client_for(runtime)
        primary.hang = True
        view = await settle(runtime, primary_down)
        assert "timed out" in view.endpoints[("primary", _ip(PRIMARY))].votes[0].detail
        assert await answer(client) == {BACKUP}


async def test_no_wrong_answer_right_after_start(pair: list[Target], tmp_path: Path) -> None:
    primary, _ = pair
    primary.status = 503  # down before gtm starts: the first answer must already avoid it
    zones = failover_zone(tmp_path / "zones", primary.port, fall=3, rise=2)
    async with running(zones) as runtime:
        assert await answer(client_for(runtime)) == {BACKUP}
        assert runtime.health.ready


async def test_a_reload_keeps_health_and_checks_new_endpoints_at_once(
    pair: list[Target], tmp_path: Path
) -> None:
    primary, _ = pair
    zones = failover_zone(tmp_path / "zones", primary.port, interval="30s")  # no re-probe
    primary.status = 503
    async with running(zones) as runtime:
        client = client_for(runtime)
        assert await answer(client) == {BACKUP}
        before = primary.requests
        async with targets("127.0.0.13") as (third,):
            failover_zone(
                tmp_path / "zones",
                primary.port,
                interval="30s",
                extra="  other: {failover: [extra]}\n",
            )
            text = (
                (zones / "hc.test.yaml")
                .read_text()
                .replace(
                    "pools:\n",
                    f"pools:\n  extra: {{endpoints: [127.0.0.13], check: {{type: http, "
                    f"port: {third.port}, path: /health, interval: 30s, timeout: 1s}}}}\n",
                )
            )
            (zones / "hc.test.yaml").write_text(text)
            await runtime.reload()
            # the new endpoint is probed at once, although its interval is 30 s ...
            await asyncio.wait_for(third.seen.wait(), 30)
            # ... and the unchanged one kept its state without a new probe
            assert primary.requests == before
            assert await answer(client) == {BACKUP}


async def test_overrides_through_the_api(pair: list[Target], tmp_path: Path) -> None:
    primary, _ = pair
    zones = failover_zone(tmp_path / "zones", primary.port)
    async with running(zones, http=("127.0.0.1", 0), api_token="s3cret") as runtime:
        client = client_for(runtime)
        host, port = runtime.http_addresses[0]
        base = f"http://{host}:{port}"
        auth = {"Authorization": "Bearer s3cret"}
        async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
            refused = await http.put("/v1/overrides/pool/primary", json={"state": "down"})
            assert refused.status_code == 401
            wrong = await http.put(
                "/v1/overrides/pool/primary", json={"state": "sideways"}, headers=auth
            )
            assert (wrong.status_code, wrong.json()["field"]) == (400, "state")
            missing = await http.put(
                "/v1/overrides/pool/nope", json={"state": "down"}, headers=auth
            )
            assert missing.status_code == 404
            done = await http.put(
                "/v1/overrides/pool/primary",
                json={"state": "down", "reason": "maintenance"},
                headers=auth,
            )
            assert done.status_code == 200
            view = await settle(runtime, primary_down)
            assert view.pools["primary"].real_up  # the real state stays visible
            assert await answer(client) == {BACKUP}
            listed = (await http.get("/v1/overrides")).json()["overrides"]
            assert [(o["kind"], o["id"], o["reason"]) for o in listed] == [
                ("pool", "primary", "maintenance")
            ]
            back = await http.put(
                "/v1/overrides/pool/primary", json={"state": "auto"}, headers=auth
            )
            assert back.json()["state"] == "auto"
            await settle(runtime, primary_up)
            assert await answer(client) == {PRIMARY}
            ready = await http.get("/readyz")
            assert ready.json()["ready"] is True


async def test_write_routes_are_disabled_without_a_token(
    pair: list[Target], tmp_path: Path
) -> None:
    zones = failover_zone(tmp_path / "zones", pair[0].port)
    async with running(zones, http=("127.0.0.1", 0)) as runtime:
        host, port = runtime.http_addresses[0]
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.put(
                f"http://{host}:{port}/v1/overrides/pool/primary",
                json={"state": "down"},
                headers={"Authorization": "Bearer anything"},
            )
            assert response.status_code == 403
            assert (await http.get(f"http://{host}:{port}/healthz")).json() == {"status": "ok"}


def _ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


async def test_a_crash_is_seen_at_once_not_at_the_next_interval(tmp_path: Path) -> None:
    # A 30 s interval: only the watch connection, closed by the dying server, can explain a
    # failover within this test.
    async with targets(PRIMARY, BACKUP) as (primary, _):
        zones = failover_zone(tmp_path / "zones", primary.port, interval="30s", timeout="1s")
        async with running(zones) as runtime:
            client = client_for(runtime)
            assert await answer(client) == {PRIMARY}
            assert runtime.health.checker is not None
            watch = runtime.health.checker.watch
            key = next(w.target.key for w in runtime.health._watched if w.pool.name == "primary")
            await asyncio.wait_for(watch.connected(key).wait(), 30)
            await primary.stop()  # the process is gone: its connections close
            view = await settle(runtime, primary_down)
            assert "refused" in view.endpoints[("primary", _ip(PRIMARY))].votes[0].detail
            assert watch.drops >= 1
            assert await answer(client) == {BACKUP}
