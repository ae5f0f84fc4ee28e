"""The OpenAPI 3 description of the HTTP API, served at /openapi.json.

Tests check that it lists exactly the routes the application has, and validate live
responses against it.
"""

from __future__ import annotations

from typing import Any

from gtm import __version__

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


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STR, "description": description}


OVERRIDE_PARAMS = [
    {"name": "kind", "in": "path", "required": True, "schema": {"enum": ["pool", "endpoint"]}},
    _path_param("id", "a pool name, or an endpoint's address"),
]
AUTH: list[dict[str, list[str]]] = [{"bearer": []}]

PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "summary": "Liveness: the event loop answers",
            "responses": {"200": json_body(obj(["status"], status=STR))},
        }
    },
    "/readyz": {
        "get": {
            "summary": "Readiness: zones, geo database, first health round",
            "responses": {
                "200": json_body(obj(["ready"], ready=BOOL, stale=BOOL)),
                "503": json_body(
                    obj(["ready", "reasons"], ready=BOOL, reasons={"type": "array", "items": STR}),
                    "Not ready, and why",
                ),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": STR}},
                }
            },
        }
    },
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": json_body(OBJ)}}},
    "/status": {
        "get": {
            "summary": "A live status page for people",
            "responses": {
                "200": {"description": "HTML", "content": {"text/html": {"schema": STR}}}
            },
        }
    },
    "/v1/zones": {
        "get": {
            "summary": "The zones served",
            "responses": {
                "200": json_body(
                    obj(["zones"], zones={"type": "array", "items": ref("ZoneSummary")})
                )
            },
        }
    },
    "/v1/zones/{zone}": {
        "get": {
            "summary": "One zone, as gtm understood it (every default filled in)",
            "parameters": [_path_param("zone", "the zone name, trailing dot optional")],
            "responses": {"200": json_body(ref("Zone")), "404": ERROR},
        }
    },
    "/v1/pools": {
        "get": {
            "summary": "Every pool with its endpoints, votes and overrides",
            "responses": {
                "200": json_body(
                    obj(
                        ["version", "stale", "pools"],
                        version=INT,
                        stale=BOOL,
                        pools={"type": "array", "items": ref("Pool")},
                    )
                )
            },
        }
    },
    "/v1/pools/{name}": {
        "get": {
            "summary": "One pool",
            "parameters": [_path_param("name", "the pool name")],
            "responses": {"200": json_body(ref("Pool")), "404": ERROR},
        }
    },
    "/v1/endpoints/{address}": {
        "get": {
            "summary": "One endpoint, in every pool that has it",
            "parameters": [_path_param("address", "an IPv4 or IPv6 address")],
            "responses": {
                "200": json_body(
                    obj(
                        ["address", "pools"],
                        address=STR,
                        pools={"type": "array", "items": ref("Endpoint")},
                    )
                ),
                "400": ERROR,
                "404": ERROR,
            },
        }
    },
    "/v1/explain": {
        "get": {
            "summary": "How a query would be answered for a client, and why",
            "parameters": [
                {"name": "name", "in": "query", "required": True, "schema": STR},
                {"name": "type", "in": "query", "required": False, "schema": STR},
                {"name": "client", "in": "query", "required": True, "schema": STR},
                {"name": "ecs", "in": "query", "required": False, "schema": STR},
            ],
            "responses": {"200": json_body(ref("Explanation")), "400": ERROR},
        }
    },
    "/v1/events": {
        "get": {
            "summary": "Recent events, newest first",
            "parameters": [
                {"name": "limit", "in": "query", "required": False, "schema": STR},
                {"name": "type", "in": "query", "required": False, "schema": STR},
            ],
            "responses": {
                "200": json_body(obj(["events"], events={"type": "array", "items": ref("Event")})),
                "400": ERROR,
            },
        }
    },
    "/v1/anycast": {
        "get": {
            "summary": "Anycast prefixes, the PoPs that announce them, and catchment shares",
            "responses": {"200": json_body(ref("Anycast"))},
        }
    },
    "/v1/events/stream": {
        "get": {
            "summary": "New events as Server-Sent Events",
            "responses": {
                "200": {
                    "description": "An event stream",
                    "content": {"text/event-stream": {"schema": STR}},
                }
            },
        }
    },
    "/v1/overrides": {
        "get": {
            "summary": "Active overrides",
            "responses": {
                "200": json_body(
                    obj(["overrides"], overrides={"type": "array", "items": ref("Override")})
                )
            },
        }
    },
    "/v1/overrides/{kind}/{id}": {
        "put": {
            "summary": "Force a pool or an endpoint up or down, or back to auto",
            "security": AUTH,
            "parameters": OVERRIDE_PARAMS,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("OverrideRequest")}},
            },
            "responses": {
                "200": json_body(
                    {
                        "oneOf": [
                            ref("Override"),
                            obj(
                                ["kind", "id", "state"], kind=STR, id=STR, state={"enum": ["auto"]}
                            ),
                        ]
                    }
                ),
                "400": ERROR,
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
            },
        },
        "delete": {
            "summary": "Clear an override",
            "security": AUTH,
            "parameters": OVERRIDE_PARAMS,
            "responses": {
                "204": {"description": "Cleared"},
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
            },
        },
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gtm",
            "version": __version__,
            "description": "Health, routing explanations and admin overrides of a gtm GeoDNS node.",
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
