"""Health through Redis: DNS nodes mirror every agent's votes; agents write their own.

Node side (`RedisHealthStore`): load every vote and override, subscribe to changes, and
re-read everything every `resync_interval` seconds (votes of dead agents expire in Redis, and
a missed message is repaired). When Redis is unreachable the last votes stay (fail static),
the store reports `stale`, and it reconnects with exponential backoff; votes are not aged out
locally while stale, so a Redis outage never takes endpoints down by itself.

Agent side (`RedisVoteWriter`): after every probe, SET the vote with an expiry of three
intervals, and PUBLISH it when its state changed. Nothing is buffered: while Redis is down
only the latest vote per target is kept, and the next probe writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from gtm import __version__
from gtm.background import Background, wait_or_timeout
from gtm.health.keys import Keys, decode_override, decode_vote, encode_override, encode_vote
from gtm.health.store import VoteBook, ignore_change
from gtm.model.geo import Location
from gtm.model.health import Override, StoreLink, Vote

log = logging.getLogger(__name__)

BACKOFF_MIN, BACKOFF_MAX = 0.1, 5.0  # seconds between reconnection attempts
SOCKET_TIMEOUT = 2.0  # a Redis that stops answering counts as unreachable after this
ERRORS = (RedisError, OSError, ConnectionError, asyncio.TimeoutError)


def connect(url: str) -> aioredis.Redis:
    """A client for `redis://`, `rediss://`, `unix://`, or `redis+sentinel://` (see
    `sentinel_address`): through Sentinel, the client asks the sentinels for the current
    master and asks again when it fails over."""
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT,
        "decode_responses": True,
    }  # fmt: skip
    if url.startswith(SENTINEL_SCHEME + "://"):
        sentinels, service, db, password = sentinel_address(url)
        sentinel = Sentinel(sentinels, sentinel_kwargs={**options}, **options)
        master: aioredis.Redis = sentinel.master_for(service, db=db, password=password)
        _SENTINELS[id(master)] = list(sentinel.sentinels)
        return master
    return aioredis.from_url(url, health_check_interval=10, **options)


SENTINEL_SCHEME = "redis+sentinel"
_SENTINELS: dict[int, list[aioredis.Redis]] = {}  # a master's sentinel clients, to close


async def close(client: aioredis.Redis) -> None:
    """Close a client from `connect`, and its sentinel connections if it has any."""
    await client.aclose()
    for sentinel in _SENTINELS.pop(id(client), []):
        await sentinel.aclose()


def sentinel_address(url: str) -> tuple[list[tuple[str, int]], str, int, str | None]:
    """`redis+sentinel://[:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]` ->
    (sentinels, the monitored master's service name, database, the master's password).
    Sentinels default to port 26379. Raises ValueError for anything else."""
    rest = url[len(SENTINEL_SCHEME) + 3 :]
    hosts_part, slash, path = rest.partition("/")
    password = None
    if "@" in hosts_part:
        auth, hosts_part = hosts_part.rsplit("@", 1)
        password = unquote(auth.split(":", 1)[1] if ":" in auth else auth) or None
    sentinels = []
    for host in filter(None, hosts_part.split(",")):
        name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
        if not colon:
            name, port = host.strip("[]"), "26379"
        if not port.isdigit() or not name:
            raise ValueError(f"bad sentinel address {host!r} in {url!r}")
        sentinels.append((name.strip("[]"), int(port)))
    parts = [part for part in path.split("/") if part]
    if not slash or not parts or not sentinels:
        raise ValueError(f"{url!r}: write redis+sentinel://HOST[:PORT][,HOST[:PORT]]/SERVICE[/DB]")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError(f"{url!r}: after the service name only a database number may follow")
    return sentinels, parts[0], int(parts[1]) if len(parts) == 2 else 0, password


class RedisHealthStore:
    """A DNS node's mirror of the cluster's votes and overrides."""

    def __init__(
        self,
        url: str,
        keys: Keys | None = None,
        *,
        resync_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.keys = keys or Keys()
        self.resync_interval = resync_interval
        self.clock = clock
        self.book = VoteBook()
        self.on_change: Callable[[], None] = ignore_change
        self.connected = False
        self.synced_once = asyncio.Event()
        self.last_sync: float | None = None  # monotonic time of the last complete read
        self.failures = 0
        self._redis: aioredis.Redis | None = None
        self._stop = asyncio.Event()
        self._background = Background()

    @property
    def stale(self) -> bool:
        return not self.connected

    def fold_time(self) -> float:
        """The time to judge vote freshness at: now, or, while Redis is unreachable, the time
        of the last complete read, so the last known health holds (fail static)."""
        if self.connected or self.last_sync is None:
            return self.clock()
        return self.last_sync

    def not_ready(self) -> list[str]:
        if self.synced_once.is_set():
            return []
        return ["Redis has not been read yet: no health state to serve"]

    def link(self) -> StoreLink | None:
        return StoreLink(self.connected, self.staleness())

    def staleness(self) -> float:
        """Seconds since Redis was last read completely (0 while connected)."""
        if self.connected or self.last_sync is None:
            return 0.0
        return self.clock() - self.last_sync

    async def start(self, within: float) -> bool:
        """Connect and load the current state; True when loaded within `within` seconds."""
        self._background.start(self._run(), "redis-health")
        try:
            async with asyncio.timeout(within):
                await self.synced_once.wait()
            return True
        except TimeoutError:
            log.warning("event=redis-not-ready url=%s waited=%.1fs", self._safe_url, within)
            return False

    async def stop(self) -> None:
        self._stop.set()
        await self._background.stop()
        if self._redis is not None:
            await close(self._redis)

    async def set_override(self, override: Override) -> None:
        await write_override(self._client(), self.keys, override)

    async def clear_override(self, kind: str, ident: str) -> bool:
        return await clear_override(self._client(), self.keys, kind, ident)

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = connect(self.url)
        return self._redis

    @property
    def _safe_url(self) -> str:
        return self.url.split("@")[-1]  # never log a password

    async def _run(self) -> None:
        backoff = BACKOFF_MIN
        while not self._stop.is_set():
            try:
                await self._follow()
            except ERRORS as exc:
                self.failures += 1
                if self.connected or self.failures == 1:
                    log.error("event=redis-lost url=%s error=%r serving=last-known-health",
                              self._safe_url, str(exc))  # fmt: skip
                if self.connected:
                    self.connected = False
                    self.on_change()
                await wait_or_timeout(self._stop, backoff)
                backoff = min(BACKOFF_MAX, backoff * 2)
                continue
            backoff = BACKOFF_MIN

    async def _follow(self) -> None:
        """Subscribe, read everything, then apply messages and re-read periodically."""
        client = self._client()
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self.keys.votes_channel, self.keys.overrides_channel)
            await self._resync(client)
            if not self.connected:
                self.connected = True
                if self.failures:
                    log.info("event=redis-back url=%s", self._safe_url)
                self.on_change()
            self.synced_once.set()
            while not self._stop.is_set():
                due = (self.last_sync or 0.0) + self.resync_interval
                wait = max(0.0, due - self.clock())
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                if message is not None:
                    self._apply(message)
                if self.clock() >= due:
                    await self._resync(client)
        finally:
            with contextlib.suppress(*ERRORS):
                await pubsub.aclose()

    async def _resync(self, client: aioredis.Redis) -> None:
        now = self.clock()
        votes: dict[str, dict[str, Vote]] = {}
        for key, text in await _read_all(client, self.keys.vote_pattern()):
            decoded = decode_vote(text, now) if self.keys.parse_vote(key) else None
            if decoded is not None:
                target, vote = decoded
                votes.setdefault(target, {})[vote.checker] = vote
        overrides: dict[tuple[str, str], Override] = {}
        for _, text in await _read_all(client, self.keys.override_pattern()):
            override = decode_override(text)
            if override is not None:
                overrides[(override.kind, override.id)] = override
        changed = _states(votes) != _states(self.book.votes) or overrides != self.book.overrides
        self.book.votes, self.book.overrides = votes, overrides
        self.last_sync = now
        if changed:
            self.on_change()

    def _apply(self, message: dict[str, Any]) -> None:
        channel, data = message.get("channel"), message.get("data")
        if not isinstance(data, str):
            return
        if channel == self.keys.votes_channel:
            decoded = decode_vote(data, self.clock())
            if decoded is not None:
                self.book.put_vote(*decoded)
                self.on_change()
        elif channel == self.keys.overrides_channel:
            self._apply_override(data)

    def _apply_override(self, data: str) -> None:
        try:
            op = json.loads(data).get("op")
        except (ValueError, AttributeError):
            return
        if op == "set":
            override = decode_override(data)
            if override is not None:
                self.book.set_override(override)
        elif op == "clear":
            message = json.loads(data)
            self.book.clear_override(str(message.get("kind")), str(message.get("id")))
        self.on_change()


def _states(votes: dict[str, dict[str, Vote]]) -> dict[tuple[str, str], str]:
    return {(t, c): v.state.value for t, by in votes.items() for c, v in by.items()}


async def _read_all(client: aioredis.Redis, pattern: str) -> list[tuple[str, str]]:
    """Every (key, value) matching a pattern, read in batches (SCAN, then MGET)."""
    keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
    out: list[tuple[str, str]] = []
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        values = await client.mget(batch)
        out.extend((str(k), str(v)) for k, v in zip(batch, values, strict=True) if v is not None)
    return out


async def write_override(client: aioredis.Redis, keys: Keys, override: Override) -> None:
    """Store an override (expiring with it) and tell every node."""
    key = keys.override(override.kind, override.id)
    text = encode_override(override)
    ttl_ms = None
    if override.expires is not None:
        ttl_ms = max(1, int((override.expires - time.time()) * 1000))
    async with client.pipeline(transaction=True) as pipe:
        _ = pipe.set(key, text, px=ttl_ms)
        _ = pipe.publish(keys.overrides_channel, json.dumps({"op": "set", **override.as_dict()}))
        await pipe.execute()


async def clear_override(client: aioredis.Redis, keys: Keys, kind: str, ident: str) -> bool:
    async with client.pipeline(transaction=True) as pipe:
        _ = pipe.delete(keys.override(kind, ident))
        _ = pipe.publish(
            keys.overrides_channel, json.dumps({"op": "clear", "kind": kind, "id": ident})
        )
        deleted, _ = await pipe.execute()
    return bool(deleted)


class RedisVoteWriter:
    """An agent's side: write each vote under its own expiring key; publish changes."""

    def __init__(self, url: str, name: str, location: Location | None, keys: Keys | None = None):
        self.url, self.name, self.location = url, name, location
        self.keys = keys or Keys()
        self.client = connect(url)
        self.written = 0
        self.failed = 0
        self._pending: dict[str, tuple[Vote, bool]] = {}  # the latest vote per target only
        self._wake = asyncio.Event()
        self._background = Background()
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._background.start(self._run(), "vote-writer")

    def put(self, target: str, vote: Vote, changed: bool) -> None:
        """Queue a vote; a newer vote for the same target replaces it (bounded by targets)."""
        previous = self._pending.get(target)
        self._pending[target] = (vote, changed or (previous is not None and previous[1]))
        self._wake.set()

    async def stop(self) -> None:
        """Stop writing; votes not yet written are dropped (they would be stale anyway)."""
        self._stop.set()
        self._pending = {}
        self._wake.set()
        await self._background.join()  # the writer sees the stop and returns
        await close(self.client)

    async def _run(self) -> None:
        backoff = BACKOFF_MIN
        next_beat = 0.0
        while not self._stop.is_set():
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            try:
                if time.monotonic() >= next_beat:
                    await self._heartbeat()
                    next_beat = time.monotonic() + 10.0
                await self._write(batch)
                backoff = BACKOFF_MIN
            except ERRORS as exc:
                self.failed += 1
                if self.failed == 1 or self.failed % 100 == 0:
                    log.error("event=redis-write-failed checker=%s error=%r failures=%d",
                              self.name, str(exc), self.failed)  # fmt: skip
                for target, item in batch.items():  # keep only what no newer vote replaced
                    self._pending.setdefault(target, item)
                await wait_or_timeout(self._stop, backoff)
                backoff = min(BACKOFF_MAX, backoff * 2)
                self._wake.set()

    async def _write(self, batch: dict[str, tuple[Vote, bool]]) -> None:
        if not batch:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for target, (vote, changed) in batch.items():
                text = encode_vote(target, vote)
                ttl_ms = max(1, int(3 * vote.interval * 1000))
                _ = pipe.set(self.keys.vote(self.name, target), text, px=ttl_ms)
                if changed:
                    _ = pipe.publish(self.keys.votes_channel, text)
            await pipe.execute()
        self.written += len(batch)

    async def _heartbeat(self) -> None:
        where = None if self.location is None else [self.location.lat, self.location.lon]
        info = {"name": self.name, "location": where, "version": __version__,
                "started": _STARTED}  # fmt: skip
        await self.client.set(self.keys.checker(self.name), json.dumps(info), ex=30)


_STARTED = time.time()
