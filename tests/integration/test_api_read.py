"""The read API: zones, pools with their endpoints and votes, explain, events and their stream."""

from __future__ import annotations

import asyncio
import json

import dns.edns

from tests.helpers import client_for, settle

PRIMARY, BACKUP = "127.0.0.11", "127.0.0.12"


async def test_zones_with_their_effective_configuration(api_node) -> None:
    _, _, http = api_node
    listed = (await http.get("/v1/zones")).json()["zones"]
    assert [z["zone"] for z in listed] == ["hc.test."]
    detail = (await http.get("/v1/zones/hc.test")).json()
    assert detail["ttl"] == 300  # the default, filled in
    assert detail["soa"]["minimum"] == 60
    check = detail["pools"]["primary"]["check"]
    assert (check["rise"], check["fall"], check["quorum"], check["tls_verify"]) == (1, 1, 0.5, True)
    assert detail["policies"]["failover"]["failover"] == [{"pool": "primary"}, {"pool": "backup"}]
    assert detail["policies"]["failover"]["when_all_down"] == "open"
    assert (await http.get("/v1/zones/nope.test")).status_code == 404


async def test_pools_endpoints_votes_and_last_change(api_node) -> None:
    runtime, primary, http = api_node
    body = (await http.get("/v1/pools")).json()
    names = [p["name"] for p in body["pools"]]
    assert names == ["backup", "primary"]
    pool = (await http.get("/v1/pools/primary")).json()
    assert pool["state"] == "up"
    (endpoint,) = pool["endpoints"]
    assert endpoint["address"] == PRIMARY
    (vote,) = endpoint["votes"]
    assert vote["state"] == "up"
    assert vote["fresh"] is True
    assert vote["rtt_ms"] is not None
    primary.status = 503
    await settle(runtime, lambda v: not v.pools["primary"].up)
    pool = (await http.get("/v1/pools/primary")).json()
    assert (pool["state"], pool["real_state"]) == ("down", "down")
    change = pool["endpoints"][0]["last_change"]
    assert (change["type"], change["state"]) == ("endpoint", "down")
    assert "0 of 1 checkers say up" in change["reason"]
    found = (await http.get(f"/v1/endpoints/{PRIMARY}")).json()
    assert found["pools"][0]["votes"][0]["detail"].startswith("HTTP 503")
    assert (await http.get("/v1/endpoints/192.0.2.99")).status_code == 404
    assert (await http.get("/v1/endpoints/nope")).status_code == 400
    assert (await http.get("/v1/pools/nope")).status_code == 404


async def test_explain_over_http(api_node) -> None:
    _, _, http = api_node
    data = (await http.get("/v1/explain", params={"name": "failover.hc.test", "type": "A",
                                                  "client": "192.0.2.1"})).json()  # fmt: skip
    assert data["decisions"][0]["pool"] == "primary"
    assert data["answer"] == ["failover.hc.test. 1 IN A 127.0.0.11"]
    missing = await http.get("/v1/explain", params={"name": "x.hc.test"})
    assert (missing.status_code, missing.json()["field"]) == (400, "client")
    bad = await http.get("/v1/explain", params={"name": "x.hc.test", "client": "nope"})
    assert (bad.status_code, bad.json()["field"]) == (400, "client")


async def test_events_and_their_live_stream(api_node) -> None:
    runtime, primary, http = api_node
    received: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def listen() -> None:
        async with http.stream("GET", "/v1/events/stream") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    await received.put(json.loads(line[6:]))

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(runtime.events.subscribed.wait(), 30)  # the stream is open
    primary.status = 503
    event = await asyncio.wait_for(received.get(), 30)
    while event["type"] != "endpoint":
        event = await asyncio.wait_for(received.get(), 30)
    assert event["state"] == "down"
    listener.cancel()
    recent = (await http.get("/v1/events", params={"type": "endpoint"})).json()["events"]
    assert recent[0]["state"] == "down"
    assert (await http.get("/v1/events", params={"limit": "0"})).status_code == 400


async def test_metrics_count_queries_answers_and_health(api_node) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    runtime, primary, http = api_node
    client = client_for(runtime)
    for _ in range(3):
        await client.ask("failover.hc.test.", "A", use_edns=0,
                         options=[dns.edns.ECSOption("192.0.2.0", 24)])  # fmt: skip
    await client.ask("nope.hc.test.", "A")
    primary.status = 503
    await settle(runtime, lambda v: not v.pools["primary"].up)
    text = (await http.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}  # fmt: skip
    key = (("policy", "failover"), ("qtype", "A"), ("rcode", "NOERROR"), ("zone", "hc.test."))
    assert samples[("gtm_dns_queries_total", key)] == 3
    nx = (("policy", ""), ("qtype", "A"), ("rcode", "NXDOMAIN"), ("zone", "hc.test."))
    assert samples[("gtm_dns_queries_total", nx)] == 1
    assert samples[("gtm_dns_answers_by_pool_total", (("pool", "primary"),))] == 3
    assert samples[("gtm_dns_cache_hits_total", ())] == 2
    assert samples[("gtm_dns_ecs_queries_total", ())] == 3
    assert samples[("gtm_dns_query_seconds_count", ())] == 4
    assert samples[("gtm_dns_fast_path_errors_total", ())] == 0  # counted in test_fast_path
    assert samples[("gtm_transport_handler_errors_total", ())] == 0  # see test_transport
    assert samples[("gtm_transport_stale_dropped_total", ())] == 0  # see test_udp_overload
    assert samples[("gtm_pool_up", (("pool", "primary"),))] == 0
    assert samples[("gtm_health_transitions_total", (("kind", "pool"),))] >= 1
    assert samples[("gtm_check_failures_total", (("checker", runtime.config.checker_name),))] >= 1
    assert "gtm_reloads_total" in {s for s, _ in samples}
