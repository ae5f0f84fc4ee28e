"""/openapi.json describes exactly the routes the API has, and live responses validate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from gtm.api.app import make_app
from tests.helpers import settle

PRIMARY, BACKUP = "127.0.0.11", "127.0.0.12"


@dataclass
class Request:
    """An httpx request, as openapi-core reads one."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class Response:
    status_code: int
    data: bytes
    content_type: str
    headers: Headers


def adapt(response: httpx.Response) -> tuple[Request, Response]:
    url = urlsplit(str(response.request.url))
    request = Request(
        f"{url.scheme}://{url.netloc}", url.path, response.request.method.lower(),
        response.request.content or None,
        response.request.headers.get("content-type", "application/json"),
        RequestParameters(query=ImmutableMultiDict(httpx.QueryParams(url.query).multi_items()),
                          header=Headers(dict(response.request.headers))),
    )  # fmt: skip
    content_type = response.headers.get("content-type", "").split(";")[0]
    return request, Response(response.status_code, response.content, content_type,
                             Headers(dict(response.headers)))  # fmt: skip


async def test_the_document_lists_exactly_the_routes(api_node) -> None:
    runtime, _, http = api_node
    spec = (await http.get("/openapi.json")).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item}  # fmt: skip
    app = make_app(runtime, None)
    routed = {(route.method, route.resource.canonical) for route in app.router.routes()
              if route.method != "HEAD" and route.resource is not None}  # fmt: skip
    assert documented == routed


async def test_live_responses_validate(api_node) -> None:
    runtime, primary, http = api_node
    spec = OpenAPI.from_dict((await http.get("/openapi.json")).json())
    auth = {"Authorization": "Bearer t"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/healthz", {}), ("GET", "/readyz", {}), ("GET", "/metrics", {}),
        ("GET", "/status", {}), ("GET", "/v1/zones", {}), ("GET", "/v1/zones/hc.test", {}),
        ("GET", "/v1/zones/nope.test", {}), ("GET", "/v1/pools", {}),
        ("GET", "/v1/pools/primary", {}), ("GET", "/v1/pools/nope", {}),
        ("GET", f"/v1/endpoints/{PRIMARY}", {}), ("GET", "/v1/endpoints/nope", {}),
        ("GET", "/v1/endpoints/192.0.2.1", {}),
        ("GET", "/v1/explain", {"params": {"name": "failover.hc.test", "client": "192.0.2.1"}}),
        ("GET", "/v1/explain", {"params": {"name": "failover.hc.test"}}),
        ("GET", "/v1/events", {"params": {"limit": "5"}}), ("GET", "/v1/anycast", {}),
        ("GET", "/v1/events", {"params": {"limit": "x"}}),
        ("PUT", "/v1/overrides/pool/primary", {"json": {"state": "down", "reason": "test",
                                                        "expires_in": 60}, "headers": auth}),
        ("GET", "/v1/overrides", {}),
        ("PUT", "/v1/overrides/pool/primary", {"json": {"state": "sideways"}, "headers": auth}),
        ("PUT", "/v1/overrides/pool/primary", {"json": {"state": "down"}}),
        ("PUT", "/v1/overrides/pool/nope", {"json": {"state": "down"}, "headers": auth}),
        ("PUT", "/v1/overrides/pool/primary", {"json": {"state": "auto"}, "headers": auth}),
        ("DELETE", "/v1/overrides/pool/primary", {"headers": auth}),
    ]  # fmt: skip
    primary.status = 503  # give the pools some history to describe
    await settle(runtime, lambda v: not v.pools["primary"].up)
    for method, path, options in calls:
        response = await http.request(method, path, **options)
        request, adapted = adapt(response)
        spec.validate_response(request, adapted)  # raises with the mismatch
