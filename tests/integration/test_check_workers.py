"""`gtm check --workers N`: one checker name, its targets split over N processes; every
target gets exactly one vote; a clean stop withdraws them all."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gtm.health.keys import Keys
from gtm.runtime.check import shard_of
from gtm.runtime.shards import parse_shard
from tests.redis_server import RedisServer
from tests.targets import targets

HOSTS = [f"127.0.0.{n}" for n in range(11, 19)]  # eight targets, one HTTP check each


def zone(directory: Path, port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    pools = "\n".join(
        f"  p{i}: {{endpoints: [{host}], check: web}}" for i, host in enumerate(HOSTS)
    )
    (directory / "sh.test.yaml").write_text(f"""
zone: sh.test
soa: {{mname: ns1.sh.test, rname: h.sh.test}}
ns: [ns1.example.net]
checks:
  web: {{type: http, port: {port}, path: /health, interval: 300ms, timeout: 250ms}}
pools:
{pools}
""")
    return directory


async def votes(client: aioredis.Redis, keys: Keys) -> list[str]:
    return sorted([k async for k in client.scan_iter(match=keys.vote("sharded", "*"))])


async def test_shards_split_the_targets_and_withdraw_on_stop(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    keys = Keys("shards")
    client = aioredis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    pubsub = client.pubsub()
    await pubsub.subscribe(keys.votes_channel)  # agents announce each vote they write
    async with targets(*HOSTS) as started:
        zones = zone(tmp_path / "zones", started[0].port)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gtm", "check", "--redis", redis_server.url, "--name",
            "sharded", "--zones", str(zones), "--cluster", "shards", "--workers", "3",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        try:
            shards: dict[str, int] = {}
            async with asyncio.timeout(60):
                while len(shards) < 3:  # each shard says which targets are its own
                    line = (await proc.stderr.readline()).decode()
                    assert line, "gtm check exited"
                    if "event=checker-started" in line:
                        count = int(line.split("targets=")[1].split()[0])
                        shards[line.split("shard=")[1].split()[0]] = count
                while len(await votes(client, keys)) < len(HOSTS):
                    await pubsub.get_message(timeout=1.0)  # the next vote announced
            assert sorted(shards) == ["0/3", "1/3", "2/3"]
            assert sum(shards.values()) == len(HOSTS)  # each target in exactly one shard
            assert len(await votes(client, keys)) == len(HOSTS)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
            assert await votes(client, keys) == []  # every shard withdrew its own votes
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await pubsub.aclose()
            await client.aclose()


def test_shard_of_is_stable_and_spreads() -> None:
    counts = [0, 0, 0, 0]
    for n in range(4000):
        counts[shard_of(f"http:10.0.{n // 256}.{n % 256}:80:abc", 4)] += 1
    assert shard_of("http:127.0.0.1:80:x", 4) == shard_of("http:127.0.0.1:80:x", 4)
    assert min(counts) > 800


@pytest.mark.parametrize(("text", "expected"), [("0/3", (0, 3)), ("2/3", (2, 3))])
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/2", "1/0"])
def test_bad_shards(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)
