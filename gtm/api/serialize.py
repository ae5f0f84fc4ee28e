"""JSON shapes of the read API: zones with their effective configuration, pools and endpoints
with their health. Pure: plain data in, plain dicts out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gtm.events import Event
from gtm.model.health import EndpointHealth, HealthView, PoolHealth, Vote
from gtm.model.zone import (
    Check,
    Failover,
    Geolocation,
    Geoproximity,
    Latency,
    Policy,
    Pool,
    Target,
    Weighted,
    Zone,
)

TYPE_NAMES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    257: "CAA",
}


def zone_summary(zone: Zone) -> dict[str, Any]:
    return {
        "zone": zone.origin, "source": zone.source, "digest": zone.digest,
        "serial": zone.soa.serial, "pools": sorted(zone.pools), "policies": len(zone.policies),
    }  # fmt: skip


def zone_detail(zone: Zone) -> dict[str, Any]:
    """The zone as gtm understood it: every default filled in."""
    soa = zone.soa
    return {
        "zone": zone.origin,
        "source": zone.source,
        "digest": zone.digest,
        "ttl": zone.ttl,
        "soa": {
            "mname": soa.mname,
            "rname": soa.rname,
            "serial": soa.serial,
            "refresh": soa.refresh,
            "retry": soa.retry,
            "expire": soa.expire,
            "minimum": soa.minimum,
            "ttl": soa.ttl,
        },
        "ns": list(zone.nameservers),
        "records": [
            {
                "name": owner,
                "type": TYPE_NAMES.get(rtype, str(rtype)),
                "ttl": rrset.ttl,
                "data": [str(rd) for rd in rrset.rdata],
            }
            for owner, by_type in sorted(zone.records.items())
            for rtype, rrset in sorted(by_type.items())
        ],
        "checks": {name: check_of(c) for name, c in sorted(zone.checks.items())},
        "pools": {name: pool_config(p) for name, p in sorted(zone.pools.items())},
        "policies": {p.key or p.name: policy_of(p) for _, p in sorted(zone.policies.items())},
    }


def check_of(check: Check) -> dict[str, Any]:
    return {
        "template": check.name, "type": check.type.value, "port": check.port,
        "path": check.path, "host": check.host,
        "expect_status": None if check.expect_status is None else list(check.expect_status),
        "expect_body": check.expect_body, "interval": check.interval, "timeout": check.timeout,
        "rise": check.rise, "fall": check.fall, "quorum": check.quorum,
        "address": None if check.address is None else str(check.address),
        "tls_verify": check.tls_verify,
    }  # fmt: skip


def pool_config(pool: Pool) -> dict[str, Any]:
    where = pool.location
    return {
        "endpoints": [str(e) for e in pool.endpoints],
        "location": None if where is None else {"lat": where.lat, "lon": where.lon},
        "check": None if pool.check is None else check_of(pool.check),
        "min_healthy": pool.min_healthy,
        "announce": [str(n) for n in pool.announce],
    }


def policy_of(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name, "ttl": policy.ttl, "answers": policy.answers,
        "when_all_down": policy.when_all_down.value, **target_of(policy.root),
    }  # fmt: skip


def target_of(target: Target) -> dict[str, Any]:
    match target:
        case Pool():
            return {"pool": target.name}
        case Failover(targets=targets):
            return {"failover": [target_of(t) for t in targets]}
        case Weighted(targets=targets):
            return {"weighted": [{"weight": w.weight, **target_of(w.target)} for w in targets]}
        case Geolocation(rules=rules):
            return {"geolocation": [
                {"level": r.level.value, "values": list(r.values), **target_of(r.target)}
                for r in rules
            ]}  # fmt: skip
        case Geoproximity(targets=targets):
            return {"geoproximity": [{"pool": t.pool.name, "bias": t.bias} for t in targets]}
        case Latency(pools=pools):
            return {"latency": [p.name for p in pools]}


def vote_of(vote: Vote, now: float) -> dict[str, Any]:
    where = vote.location
    return {
        "checker": vote.checker, "state": vote.state.value, "age": round(now - vote.seen, 3),
        "fresh": vote.fresh(now), "rtt_ms": vote.rtt_ms, "detail": vote.detail,
        "since": vote.since,
        "location": None if where is None else {"lat": where.lat, "lon": where.lon},
    }  # fmt: skip


def endpoint_of(
    address: str, pool: str, health: EndpointHealth, now: float, change: Event | None
) -> dict[str, Any]:
    return {
        "address": address, "pool": pool, "state": health.state.value,
        "real_state": health.real.value, "reason": health.reason,
        "override": None if health.override is None else health.override.as_dict(),
        "target": health.target, "votes": [vote_of(v, now) for v in health.votes],
        "last_change": None if change is None else change.as_dict(),
    }  # fmt: skip


def pool_of(
    name: str,
    health: PoolHealth,
    view: HealthView,
    now: float,
    changes: Mapping[tuple[str, str], Event],
) -> dict[str, Any]:
    endpoints = [
        endpoint_of(str(address), pool, e, now, changes.get((pool, str(address))))
        for (pool, address), e in view.endpoints.items()
        if pool == name
    ]
    change = changes.get((name, ""))
    return {
        "name": name, "state": "up" if health.up else "down",
        "real_state": "up" if health.real_up else "down",
        "override": None if health.override is None else health.override.as_dict(),
        "endpoints_up": health.endpoints_up, "min_healthy": health.min_healthy,
        "rtts": [{"vantage": {"lat": where.lat, "lon": where.lon}, "rtt_ms": rtt}
                 for where, rtt in view.rtts.get(name, ())],
        "last_change": None if change is None else change.as_dict(),
        "endpoints": endpoints,
    }  # fmt: skip
