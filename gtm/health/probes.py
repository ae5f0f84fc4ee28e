"""Health probes: tcp (``asyncio.open_connection``) and http/https (httpx). A shell.

A probe reports what it saw as a `ProbeResult` and decides nothing: rise, fall and quorum
are `gtm.health.consensus`'s job. Every probe opens a fresh connection (no keep-alive), so a
hung server is noticed, and ends within its check's `timeout`. `Prober.probe` never raises
(except `asyncio.CancelledError`): every failure is ``ok=False`` with a short `detail`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import ssl
import time
import zlib
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

import gtm
from gtm.health.targets import ProbeTarget
from gtm.model.codes import CheckType

log = logging.getLogger(__name__)

BODY_LIMIT = 5120  # expect_body must occur within this many bytes of the body
USER_AGENT = f"gtm-check/{gtm.__version__}"  # a checker adds " (its name)"

_ERRNO_DETAILS: Mapping[int, str] = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "timed out (kernel)",
    errno.EPIPE: "connection closed by peer",
}

# httpcore trace events (``<layer>.<step>.started``) → the phase a timeout is reported in.
_PHASES: Mapping[str, str] = {
    "connect_tcp": "connect",
    "start_tls": "tls handshake",
    "send_request_headers": "sending request",
    "send_request_body": "sending request",
    "receive_response_headers": "waiting for response",
    "receive_response_body": "reading body",
}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe of one target saw."""

    target: str  # ProbeTarget.key
    ok: bool
    rtt_ms: float | None  # tcp: connect; http(s): until the response headers; None if not reached
    detail: str  # short, for operators: "HTTP 200", "connection refused", ...
    at: float  # time.monotonic() when the probe finished


def _client_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying TLS context: the system CA store, or only `ca_file` when given."""
    return ssl.create_default_context(cafile=ca_file)


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _client(context: ssl.SSLContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=context,
        http1=True,
        http2=False,
        follow_redirects=False,
        trust_env=False,
        # No reuse between probes: each probe tests a fresh connection.
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its causes and contexts, and the first member of exception groups."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
        else:
            current = current.__cause__ or current.__context__


def _os_detail(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls: certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason.lower().replace("_", " ") if exc.reason else str(exc)
        return f"tls: {reason}"
    if exc.errno is not None and exc.errno in _ERRNO_DETAILS:
        return _ERRNO_DETAILS[exc.errno]
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def describe(exc: BaseException) -> str:
    """A short operator-facing description of a connection or protocol failure."""
    for link in _chain(exc):
        if isinstance(link, ssl.SSLError) or (isinstance(link, OSError) and link.errno):
            return _os_detail(link)
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}"
    return str(exc) or type(exc).__name__


def _expected(statuses: tuple[int, ...] | None) -> str:
    return "2xx/3xx" if statuses is None else ", ".join(map(str, statuses))


def _status_ok(status: int, statuses: tuple[int, ...] | None) -> bool:
    return 200 <= status < 400 if statuses is None else status in statuses


def _literal(target: ProbeTarget) -> str:
    """The address as a URL / Host header writes it (IPv6 in brackets)."""
    address = target.address
    return f"[{address}]" if address.version == 6 else str(address)


CLIENT_SHARDS = 64  # httpx clients per TLS mode; a probe's target picks one by its key


class Prober:
    """Runs probes; owns the httpx clients (verifying or not, each in CLIENT_SHARDS shards).

    Sharded because httpcore's pool scans every request and connection of its client on each
    request: with one client for thousands of targets, that scan grew with the square of the
    probes in flight and one agent could not hold 2,500 targets (bench/scale). A target keeps
    its shard, so its probes never contend with more than a sixty-fourth of the others.
    """

    def __init__(self, *, ca_file: str | None = None, user_agent: str = USER_AGENT) -> None:
        """`ca_file`: trust only these CAs (PEM), not the system store (tests, private CAs);
        `user_agent`: sent by http(s) probes (``f"{USER_AGENT} ({checker})"`` names a checker)."""
        self._user_agent = user_agent
        self._contexts = {True: _client_context(ca_file), False: _unverified_context()}
        self._clients: dict[tuple[bool, int], httpx.AsyncClient] = {}

    def _client_for(self, target: ProbeTarget, verify: bool) -> httpx.AsyncClient:
        shard = (verify, zlib.crc32(target.key.encode()) % CLIENT_SHARDS)
        client = self._clients.get(shard)
        if client is None:
            client = self._clients[shard] = _client(self._contexts[verify])
        return client

    async def aclose(self) -> None:
        """Close the httpx clients and their connections."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def probe(self, target: ProbeTarget) -> ProbeResult:
        """Probe `target` once; never raises (except `asyncio.CancelledError`)."""
        kind = target.probe.type
        try:
            if kind == CheckType.TCP:
                return await self._tcp(target)
            if kind in (CheckType.HTTP, CheckType.HTTPS):
                return await self._http(target)
            return _result(target, False, None, f"unknown check type {kind!r}")
        except Exception as exc:  # a bug here must not kill the scheduler: log and report
            log.exception("probe failed unexpectedly target=%s", target.key)
            return _result(target, False, None, f"probe error: {type(exc).__name__}: {exc}")

    async def _tcp(self, target: ProbeTarget) -> ProbeResult:
        timeout = target.probe.timeout
        start = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(str(target.address), target.probe.port)
        except TimeoutError:
            return _result(target, False, None, f"timed out after {timeout:g}s (connect)")
        except OSError as exc:
            return _result(target, False, None, describe(exc))
        rtt = (time.monotonic() - start) * 1000
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(max(0.0, timeout - rtt / 1000)):
                await writer.wait_closed()
        return _result(target, True, rtt, "connected")

    async def _http(self, target: ProbeTarget) -> ProbeResult:
        probe = target.probe
        path = probe.path if probe.path.startswith("/") else f"/{probe.path}"
        url = f"{probe.type}://{_literal(target)}:{probe.port}{path}"
        host = probe.host or _literal(target)
        progress = _Progress()

        extensions: dict[str, Any] = {"trace": progress.trace}
        if probe.type == CheckType.HTTPS and probe.host:
            extensions["sni_hostname"] = probe.host
        headers = {
            "Host": host,
            "Connection": "close",
            "User-Agent": self._user_agent,
            "Accept-Encoding": "identity",
        }
        client = self._client_for(target, probe.tls_verify or probe.type == CheckType.HTTP)
        rtt: float | None = None
        start = time.monotonic()
        try:
            async with (
                asyncio.timeout(probe.timeout),
                client.stream(
                    "GET",
                    url,
                    headers=headers,
                    # httpx times out first where it can: a request it abandons itself closes
                    # its socket, one cancelled from outside may not (encode/httpcore#1093).
                    timeout=httpx.Timeout(probe.timeout * 0.9),
                    extensions=extensions,
                ) as response,
            ):
                rtt = (time.monotonic() - start) * 1000
                status = response.status_code
                if not _status_ok(status, probe.expect_status):
                    detail = f"HTTP {status} (expected {_expected(probe.expect_status)})"
                    return _result(target, False, rtt, detail)
                if probe.expect_body is not None:
                    head = await _read_head(response)
                    if probe.expect_body.encode() not in head:
                        return _result(target, False, rtt, f"body lacks {probe.expect_body!r}")
                return _result(target, True, rtt, f"HTTP {status}")
        except (TimeoutError, httpx.TimeoutException):
            detail = f"timed out after {probe.timeout:g}s ({progress.phase})"
            return _result(target, False, rtt, detail)
        except (httpx.HTTPError, OSError) as exc:
            return _result(target, False, rtt, describe(exc))
        finally:
            await progress.cleanup()


class _Progress:
    """Follows one request through httpcore's trace events: the phase, the raw stream."""

    def __init__(self) -> None:
        self.phase = "connect"
        self.stream: Any = None  # httpcore's AsyncNetworkStream, once connected

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        _, _, step = event.partition(".")
        name, _, when = step.rpartition(".")
        if when == "started" and name in _PHASES:
            self.phase = _PHASES[name]
        elif when == "complete" and name == "connect_tcp":
            self.stream = info.get("return_value")

    async def cleanup(self) -> None:
        """Close the socket of a TLS handshake cut short by a timeout or a cancellation.

        httpcore closes it on its own errors but not on cancellation (it would leak until
        garbage collection)."""
        if self.phase == "tls handshake" and self.stream is not None:
            with contextlib.suppress(Exception):
                await self.stream.aclose()


async def _read_head(response: httpx.Response) -> bytes:
    """The first `BODY_LIMIT` bytes of the body; stops reading there."""
    head = bytearray()
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            head += chunk
            if len(head) >= BODY_LIMIT:
                break
    finally:
        if isinstance(chunks, AsyncGenerator):
            await chunks.aclose()
    return bytes(head[:BODY_LIMIT])


def _result(target: ProbeTarget, ok: bool, rtt: float | None, detail: str) -> ProbeResult:
    return ProbeResult(target.key, ok, rtt, detail, time.monotonic())
