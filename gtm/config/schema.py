"""A JSON Schema (2020-12) of zone files, for editors: `gtm schema` prints it. Pure.

It is built from the same key lists the loader uses, so a key the loader accepts is never
unknown to an editor. It checks shapes and types only; `gtm validate` remains the judge (it
knows references, overlaps, family and delegation rules, and reports file, line and path).
"""

from __future__ import annotations

from typing import Any

from gtm.config.anycast import ANNOUNCE_KEYS, ANYCAST_KEYS, DAMPING_KEYS
from gtm.config.checks import KEYS as CHECK_KEYS
from gtm.config.compile import TOP_OPTIONAL, TOP_REQUIRED
from gtm.config.policies import KINDS, OPTIONS
from gtm.config.pools import KEYS as POOL_KEYS
from gtm.config.reader import MAX_TTL
from gtm.model.codes import STATIC_TYPES

SCHEMA_ID = "https://gtm.invalid/schema/zone.json"
Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"$ref": f"#/$defs/{name}"}


def one_or_list(item: Json) -> Json:
    """A value, or a non-empty list of them (ZONES.md lets single values go without a list)."""
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 1}]}


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


STRING: Json = {"type": "string"}
TTL: Json = {"type": "integer", "minimum": 0, "maximum": MAX_TTL}
COUNT: Json = {"type": "integer", "minimum": 1}


def _check() -> Json:
    properties: Json = {
        "type": {"enum": ["http", "https", "tcp"]},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "path": STRING,
        "host": STRING,
        "expect_status": one_or_list({"type": "integer", "minimum": 100, "maximum": 599}),
        "expect_body": STRING,
        "interval": ref("duration"),
        "timeout": ref("duration"),
        "rise": COUNT,
        "fall": COUNT,
        "quorum": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "address": ref("address"),
        "tls_verify": {"type": "boolean"},
        "watch": {"type": "boolean"},
    }
    assert set(properties) == set(CHECK_KEYS), "the schema lags the check keys"
    return {"type": "object", "required": ["type"], "properties": properties,
            "additionalProperties": False}  # fmt: skip


def _pool() -> Json:
    announce_mapping: Json = {
        "type": "object",
        "required": ["prefixes"],
        "properties": {
            "prefixes": one_or_list(ref("network")),
            "asn": {"type": "integer", "minimum": 1, "maximum": 4_294_967_295},
            "communities": one_or_list({"type": "string", "pattern": r"^\d+:\d+(:\d+)?$"}),
            "prepend": {"type": "integer", "minimum": 0, "maximum": 10},
            "next_hop": STRING,
        },
        "additionalProperties": False,
    }
    assert set(announce_mapping["properties"]) == set(ANNOUNCE_KEYS)
    properties: Json = {
        "endpoints": one_or_list(ref("address")),
        "location": ref("location"),
        "check": {"anyOf": [STRING, ref("check")]},
        "min_healthy": COUNT,
        "announce": {"anyOf": [one_or_list(ref("network")), announce_mapping]},
    }
    assert set(properties) == {"endpoints", *POOL_KEYS}
    return {"type": "object", "required": ["endpoints"], "properties": properties,
            "additionalProperties": False}  # fmt: skip


def _kinds() -> Json:
    """The routing kinds, each as the value it takes."""
    weighted_item: Json = {
        "type": "object",
        "required": ["to", "weight"],
        "additionalProperties": False,
        "properties": {"to": ref("target"), "weight": {"type": "integer", "minimum": 0}},
    }
    rule_keys = ("network", "subdivision", "country", "continent")
    match_rule: Json = {
        "type": "object",
        "required": ["to"],
        "properties": {
            "to": ref("target"),
            "network": one_or_list(ref("network")),
            "subdivision": one_or_list(STRING),
            "country": one_or_list(STRING),
            "continent": one_or_list(
                {
                    "enum": [
                        "AF",
                        "AN",
                        "AS",
                        "EU",
                        "NA",
                        "OC",
                        "SA",
                        "af",
                        "an",
                        "as",
                        "eu",
                        "na",
                        "oc",
                        "sa",
                    ]
                }
            ),
        },
        "additionalProperties": False,
        "oneOf": [{"required": [key]} for key in rule_keys],
    }
    default_rule: Json = {
        "type": "object",
        "required": ["default"],
        "properties": {"default": ref("target")},
        "additionalProperties": False,
    }
    kinds: Json = {
        "failover": {"type": "array", "items": ref("target"), "minItems": 1},
        "weighted": {
            "anyOf": [
                {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
                {"type": "array", "items": weighted_item, "minItems": 1},
            ]
        },
        "geolocation": {
            "type": "array",
            "minItems": 1,
            "items": {"anyOf": [default_rule, match_rule]},
        },
        "geoproximity": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"bias": {"type": "integer", "minimum": -99, "maximum": 99}},
                    },
                ],
            },
        },
        "latency": {"type": "array", "items": STRING, "minItems": 1},
    }
    assert tuple(kinds) == KINDS
    return kinds


def _policy(kinds: Json) -> Json:
    properties: Json = {
        **kinds,
        "ttl": TTL,
        "answers": COUNT,
        "when_all_down": {"enum": ["open", "servfail", "nodata"]},
    }
    assert set(properties) == {*KINDS, *OPTIONS}
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "oneOf": [{"required": [kind]} for kind in KINDS]}  # fmt: skip


def _anycast() -> Json:
    damping: Json = {
        "anyOf": [
            {"const": False},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "penalty": {"type": "number", "minimum": 1},
                    "suppress": {"type": "number", "minimum": 1},
                    "reuse": {"type": "number", "minimum": 1},
                    "half_life": ref("duration"),
                    "max_suppress": ref("duration"),
                },
            },
        ]
    }
    assert set(damping["anyOf"][1]["properties"]) == set(DAMPING_KEYS)
    properties: Json = {
        "asn": {"type": "integer", "minimum": 1, "maximum": 4_294_967_295},
        "hold_down": ref("duration"),
        "damping": damping,
        "withdraw_last": {"type": "boolean"},
        "prepend_km": {"type": "number", "minimum": 0, "maximum": 20_000},
    }
    assert set(properties) == set(ANYCAST_KEYS)
    return {"type": "object", "properties": properties, "additionalProperties": False}


def zone_schema() -> Json:
    """The JSON Schema of one zone file."""
    kinds = _kinds()
    type_names = "|".join(_any_case(name) for name in sorted(STATIC_TYPES))
    owner: Json = {
        "type": "object",
        "properties": {"ttl": TTL},
        "patternProperties": {f"^({type_names})$": one_or_list({"type": ["string", "number"]})},
        "additionalProperties": False,
    }
    soa_times = {key: {"type": "integer", "minimum": 0, "maximum": MAX_TTL}
                 for key in ("refresh", "retry", "expire", "minimum", "ttl")}  # fmt: skip
    properties: Json = {
        "zone": STRING,
        "ttl": TTL,
        "soa": {
            "type": "object",
            "required": ["mname", "rname"],
            "additionalProperties": False,
            "properties": {
                "mname": STRING,
                "rname": STRING,
                **soa_times,
                "serial": {"type": "integer", "minimum": 0, "maximum": 4_294_967_295},
            },
        },
        "ns": one_or_list(STRING),
        "records": {"type": ["object", "null"], "additionalProperties": owner},
        "checks": {"type": ["object", "null"], "additionalProperties": ref("check")},
        "pools": {
            "type": ["object", "null"],
            "additionalProperties": ref("pool"),
            "propertyNames": {"pattern": "^[A-Za-z0-9_.-]+$"},
        },
        "policies": {"type": ["object", "null"], "additionalProperties": ref("policy")},
        "anycast": _anycast(),
    }
    assert set(properties) == {*TOP_REQUIRED, *TOP_OPTIONAL}
    inline: Json = {"type": "object", "properties": kinds, "additionalProperties": False,
                    "minProperties": 1, "maxProperties": 1}  # fmt: skip
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gtm zone file",
        "description": "One zone per file; see docs/zones.md. `gtm validate` checks the rest.",
        "type": "object",
        "required": list(TOP_REQUIRED),
        "properties": properties,
        "additionalProperties": False,
        "$defs": {
            "duration": {
                "anyOf": [
                    {"type": "number", "minimum": 0},
                    {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"},
                ]
            },
            "address": {"type": "string", "pattern": r"^[0-9A-Fa-f:.]+$"},
            "network": {"type": "string", "pattern": r"^[0-9A-Fa-f:.]+/\d{1,3}$"},
            "location": {
                "type": "object",
                "required": ["lat", "lon"],
                "additionalProperties": False,
                "properties": {
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                },
            },
            "check": _check(),
            "pool": _pool(),
            "policy": _policy(kinds),
            "target": {"anyOf": [STRING, inline]},
        },
    }
