"""The JSON shapes of the HTTP API's bodies, as OpenAPI 3.1 component schemas, and the small
helpers that write them; `gtm.api.openapi` puts them in the document."""

from __future__ import annotations

from typing import Any

STR: dict[str, Any] = {"type": "string"}
NSTR: dict[str, Any] = {"type": ["string", "null"]}
NUM: dict[str, Any] = {"type": "number"}
NNUM: dict[str, Any] = {"type": ["number", "null"]}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
OBJ: dict[str, Any] = {"type": "object"}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = json_body(ref("Error"), "An error, naming the bad field where there is one")
LOCATION = {"type": ["object", "null"], "properties": {"lat": NUM, "lon": NUM}}

SCHEMAS: dict[str, Any] = {
    "Error": obj(["error"], error=STR, field=STR),
    "Override": obj(
        ["kind", "id", "state", "reason", "expires", "set_at"],
        kind={"enum": ["pool", "endpoint"]},
        id=STR,
        state={"enum": ["up", "down"]},
        reason=STR,
        expires=NNUM,
        set_at=NUM,
    ),
    "OverrideRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["state"],
        "properties": {
            "state": {"enum": ["up", "down", "auto"]},
            "reason": STR,
            "expires_in": {"type": "number", "exclusiveMinimum": 0},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "at", "type"],
        "properties": {"id": INT, "at": NUM, "type": STR},
    },
    "Vote": obj(
        ["checker", "state", "age", "fresh", "rtt_ms", "detail", "since", "location"],
        checker=STR,
        state={"enum": ["unknown", "up", "down"]},
        age=NUM,
        fresh=BOOL,
        rtt_ms=NNUM,
        detail=STR,
        since=NUM,
        location=LOCATION,
    ),
    "Endpoint": obj(
        [
            "address",
            "pool",
            "state",
            "real_state",
            "reason",
            "override",
            "target",
            "votes",
            "last_change",
        ],
        address=STR,
        pool=STR,
        state={"enum": ["unknown", "up", "down"]},
        real_state={"enum": ["unknown", "up", "down"]},
        reason=STR,
        override={"oneOf": [ref("Override"), {"type": "null"}]},
        target=NSTR,
        votes={"type": "array", "items": ref("Vote")},
        last_change={"oneOf": [ref("Event"), {"type": "null"}]},
    ),
    "Pool": obj(
        [
            "name",
            "state",
            "real_state",
            "override",
            "endpoints_up",
            "min_healthy",
            "rtts",
            "last_change",
            "endpoints",
        ],
        name=STR,
        state={"enum": ["up", "down"]},
        real_state={"enum": ["up", "down"]},
        override={"oneOf": [ref("Override"), {"type": "null"}]},
        endpoints_up=INT,
        min_healthy=INT,
        rtts={"type": "array", "items": obj(["vantage", "rtt_ms"], vantage=LOCATION, rtt_ms=NUM)},
        last_change={"oneOf": [ref("Event"), {"type": "null"}]},
        endpoints={"type": "array", "items": ref("Endpoint")},
    ),
    "ZoneSummary": obj(
        ["zone", "source", "digest", "serial", "pools", "policies"],
        zone=STR,
        source=STR,
        digest=STR,
        serial=INT,
        pools={"type": "array", "items": STR},
        policies=INT,
    ),
    "Zone": obj(
        ["zone", "source", "digest", "ttl", "soa", "ns", "records", "checks", "pools", "policies"],
        zone=STR,
        source=STR,
        digest=STR,
        ttl=INT,
        soa=OBJ,
        ns={"type": "array", "items": STR},
        records={
            "type": "array",
            "items": obj(
                ["name", "type", "ttl", "data"],
                name=STR,
                type=STR,
                ttl=INT,
                data={"type": "array", "items": STR},
            ),
        },
        checks=OBJ,
        pools=OBJ,
        policies=OBJ,
    ),
    "AnycastRoute": obj(
        [
            "pop",
            "zone",
            "state",
            "reason",
            "pool_up",
            "hold_down_left",
            "penalty",
            "suppressed",
            "seconds_since_change",
            "as_path",
            "communities",
            "next_hop",
            "location",
            "catchment_share",
        ],
        pop=STR,
        zone=STR,
        state={"enum": ["announced", "kept", "withdrawn", "hold-down", "suppressed"]},
        reason=STR,
        pool_up={"type": ["boolean", "null"]},
        hold_down_left=NUM,
        penalty=NUM,
        suppressed=BOOL,
        seconds_since_change=NNUM,
        as_path={"type": "array", "items": INT},
        communities={"type": "array", "items": STR},
        next_hop=STR,
        location=LOCATION,
        catchment_share=NUM,
    ),
    "Anycast": obj(
        ["prefixes", "updates", "sample", "zones"],
        prefixes={
            "type": "array",
            "items": obj(
                ["prefix", "announced", "pops"],
                prefix=STR,
                announced=BOOL,
                pops={"type": "array", "items": ref("AnycastRoute")},
            ),
        },
        updates={"type": "object", "additionalProperties": INT},
        sample=obj(["places", "weighting"], places=INT, weighting=STR),
        zones={
            "type": "object",
            "additionalProperties": obj(
                ["asn", "hold_down", "damping", "withdraw_last", "prepend_km"],
                asn=INT,
                hold_down=NUM,
                damping={"type": ["object", "null"]},
                withdraw_last=BOOL,
                prepend_km=NUM,
            ),
        },
    ),
    "Explanation": obj(
        [
            "query",
            "client",
            "geo",
            "zone",
            "rcode",
            "steps",
            "decisions",
            "answer",
            "authority",
            "scope",
            "cacheable",
        ],
        query=obj(["name", "type"], name=STR, type=STR),
        client=obj(["source", "ecs", "located"], source=STR, ecs=NSTR, located=STR),
        geo={"type": ["object", "null"]},
        zone=NSTR,
        rcode=STR,
        steps={"type": "array", "items": STR},
        decisions={"type": "array", "items": OBJ},
        answer={"type": "array", "items": STR},
        authority={"type": "array", "items": STR},
        scope={"type": ["integer", "null"]},
        cacheable=BOOL,
    ),
}
