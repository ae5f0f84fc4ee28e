"""The OpenAPI 3 description of the HTTP API, served at /openapi.json.

Tests check that it lists exactly the routes the application has, and validate live
responses against it.
"""

from __future__ import annotations

from typing import Any

from gtm import __version__
from gtm.api.schemas import (
    BOOL,
    ERROR,
    INT,
    OBJ,
    SCHEMAS,
    STR,
    json_body,
    obj,
    ref,
)  # fmt: skip


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
