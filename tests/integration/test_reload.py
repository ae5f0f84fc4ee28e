"""Hot reload: whole snapshots swap, bad files never replace good ones, files add and remove
zones."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import dns.rcode
import pytest

from tests.helpers import SEMANTICS, Client, client_for, copy_zones, running

SET_A = {"192.0.2.80", "192.0.2.81"}
SET_B = {"192.0.2.180", "192.0.2.181"}


def with_www(text: str, addresses: set[str], version: str) -> str:
    """The semantics zone with www's A RRset and a version TXT replaced as one edit."""
    old = '  www: {A: [192.0.2.80, 192.0.2.81], AAAA: ["2001:db8::80"]}'
    assert old in text
    new = f'  www: {{A: [{", ".join(sorted(addresses))}], TXT: ["{version}"]}}'
    return text.replace(old, new)


async def test_reloads_under_query_load_never_fail_or_mix(tmp_path: Path) -> None:
    zones = copy_zones(SEMANTICS, tmp_path / "zones")
    path = zones / "sem.test.yaml"
    original = path.read_text()
    versions = [with_www(original, SET_A, "a"), with_www(original, SET_B, "b")]
    async with running(zones) as runtime:
        client = client_for(runtime)
        stop = asyncio.Event()
        seen: list[frozenset[str]] = []

        async def query_forever() -> None:
            while not stop.is_set():
                response = await client.ask("www.sem.test.", "A")
                assert response.rcode() == dns.rcode.NOERROR
                seen.append(frozenset(r.to_text() for r in response.answer[0]))

        queriers = [asyncio.create_task(query_forever()) for _ in range(4)]
        for round_ in range(40):
            path.write_text(versions[round_ % 2])
            result = await runtime.reload()
            assert not result.errors
            assert result.loaded == (str(path),)
            # a query after the swap sees the new RRset whole
            response = await client.ask("www.sem.test.", "A")
            assert {r.to_text() for r in response.answer[0]} == (SET_A, SET_B)[round_ % 2]
        stop.set()
        await asyncio.gather(*queriers)
    assert seen
    assert set(seen) <= {frozenset(SET_A), frozenset(SET_B)}


async def test_a_broken_file_keeps_the_old_zone_serving(tmp_path: Path) -> None:
    zones = copy_zones(SEMANTICS, tmp_path / "zones")
    path = zones / "sem.test.yaml"
    async with running(zones) as runtime:
        client = client_for(runtime)
        version = runtime.responder.snapshot.version
        path.write_text(path.read_text().replace("ttl: 300", "ttl: -5", 1))
        result = await runtime.reload()
        (reason,) = result.errors
        assert reason.file == str(path)
        assert reason.line == 3  # line 1 is a comment
        assert reason.path == "ttl"
        assert runtime.responder.snapshot.version == version  # nothing swapped
        response = await client.ask("www.sem.test.", "A")
        assert response.rcode() == dns.rcode.NOERROR
        assert len(response.answer[0]) == 2
        # the same broken content is not re-reported on every pass
        assert not (await runtime.reload()).errors


async def test_added_and_removed_files_add_and_remove_zones(tmp_path: Path) -> None:
    zones = copy_zones(SEMANTICS, tmp_path / "zones")
    async with running(zones) as runtime:
        client = client_for(runtime)
        assert (await client.ask("www.other.test.", "A")).rcode() == dns.rcode.REFUSED
        (zones / "other.test.yaml").write_text(
            "zone: other.test\nsoa: {mname: ns1.other.test., rname: h.other.test}\n"
            "ns: [ns1.example.net]\nrecords:\n  www: {A: [203.0.113.5]}\n"
        )
        await runtime.reload()
        response = await client.ask("www.other.test.", "A")
        assert response.rcode() == dns.rcode.NOERROR
        (zones / "deeper.sem.test.yaml").unlink()
        await runtime.reload()
        # deeper.sem.test is gone: its names now fall to the parent zone sem.test
        response = await client.ask("www.deeper.sem.test.", "A")
        assert response.rcode() == dns.rcode.NXDOMAIN
        assert response.authority[0].name.to_text() == "sem.test."


@pytest.mark.parametrize("edit", ["change", "break"])
async def test_the_watcher_reloads_on_file_changes(tmp_path: Path, edit: str) -> None:
    zones = copy_zones(SEMANTICS, tmp_path / "zones")
    path = zones / "sem.test.yaml"
    async with running(zones, watch=True, watch_interval=0.05) as runtime:
        client: Client = client_for(runtime)
        passes = runtime.reload_passes
        staging = tmp_path / "staging.yaml"  # written whole, then renamed in: one event
        if edit == "change":
            staging.write_text(with_www(path.read_text(), SET_B, "b"))
        else:
            staging.write_text("zone: [unclosed\n")
        os.replace(staging, path)
        result = await asyncio.wait_for(runtime.wait_for_reload(passes + 1), 30)
        response = await client.ask("www.sem.test.", "A")
        got = {r.to_text() for r in response.answer[0]}
        if edit == "change":
            assert result.loaded == (str(path),)
            assert got == SET_B
        else:
            assert result.errors
            assert result.errors[0].file == str(path)
            assert got == SET_A
