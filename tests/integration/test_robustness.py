"""Random and mutated packets: every reply is a well-formed DNS message, or there is none,
and the server still answers correctly afterwards."""

from __future__ import annotations

import asyncio
import random
import socket
import struct

import dns.exception
import dns.message
import dns.rcode

from gtm.runtime.serve import Runtime
from tests.helpers import Client, client_for

PACKETS = 12_000
BATCH = 100
SEED = 20261128


def seed_queries() -> list[bytes]:
    """Valid queries to mutate: plain, EDNS, ECS, odd types, names inside and outside."""
    import dns.edns

    out = []
    index = 0
    for name in (
        "www.sem.test.",
        "dyn.sem.test.",
        "x.wild.sem.test.",
        "nope.sem.test.",
        "child.sem.test.",
        "example.com.",
    ):
        for rdtype in ("A", "AAAA", "ANY", "TXT", "NS"):
            ecs = dns.edns.ECSOption("198.51.100.0", 24)
            for query in (
                dns.message.make_query(name, rdtype),
                dns.message.make_query(name, rdtype, use_edns=0, options=[ecs]),
            ):
                index += 1
                query.id = index  # fixed IDs keep the run deterministic
                out.append(query.to_wire())
    return out


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # pure noise
        return rng.randbytes(rng.randrange(0, 600))
    data = bytearray(rng.choice(seeds))
    if kind == 1:  # flip bits
        for _ in range(rng.randrange(1, 8)):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
    elif kind == 2:  # cut short
        data = data[: rng.randrange(len(data))]
    elif kind == 3:  # overwrite a header count or the flags
        offset = rng.choice([2, 4, 6, 8, 10])
        data[offset : offset + 2] = struct.pack("!H", rng.randrange(65536))
    elif kind == 4:  # insert random bytes
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.randbytes(rng.randrange(1, 40))
    else:  # random bytes after a valid header
        data = data[:12] + rng.randbytes(rng.randrange(0, 300))
    return bytes(data)


def check_reply(sent: bytes, reply: bytes) -> None:
    """A reply must parse, be a response, and carry the query's ID."""
    message = dns.message.from_wire(reply)
    assert message.flags & 0x8000, "reply without QR"
    assert message.id == struct.unpack_from("!H", sent)[0]


async def test_fuzzed_packets_get_wellformed_replies_or_silence(sem_server: Runtime) -> None:
    client = client_for(sem_server)
    rng = random.Random(SEED)
    seeds = seed_queries()
    loop = asyncio.get_running_loop()
    probe = dns.message.make_query("www.sem.test.", "A")
    probe.id = 0  # IDs of fuzz packets are matched by position, the probe by its content
    replies = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect((client.host, client.port))
        for _ in range(PACKETS // BATCH):
            batch = [mutate(rng, seeds) for _ in range(BATCH)]
            for packet in batch:
                await loop.sock_sendall(sock, packet)
            await loop.sock_sendall(sock, probe.to_wire())
            # Replies come back in order; match each to the packet it answers by ID.
            pending: dict[int, list[bytes]] = {}
            for packet in batch:
                if len(packet) >= 2:
                    pending.setdefault(struct.unpack_from("!H", packet)[0], []).append(packet)
            while True:
                reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 10)
                if is_probe_reply(reply, probe):
                    break
                qid = struct.unpack_from("!H", reply)[0]
                candidates = pending.get(qid)
                assert candidates, f"reply with an ID nothing was sent with: {reply!r}"
                check_reply(candidates.pop(0), reply)
                replies += 1
    assert replies > 0
    # And the server still answers correctly, over UDP and TCP.
    for tcp in (False, True):
        response = await client.ask("www.sem.test.", "A", tcp=tcp)
        assert response.rcode() == dns.rcode.NOERROR
        assert len(response.answer[0]) == 2


def is_probe_reply(reply: bytes, probe: dns.message.Message) -> bool:
    """Whether this answers the probe (ID 0, question www.sem.test A, with an answer)."""
    try:
        message = dns.message.from_wire(reply)
    except dns.exception.DNSException:
        return False
    return message.id == 0 and message.question == probe.question and bool(message.answer)


async def test_fuzzed_tcp_streams_never_break_the_server(sem: Client) -> None:
    rng = random.Random(SEED + 1)
    seeds = seed_queries()
    for _ in range(200):
        reader, writer = await asyncio.open_connection(sem.host, sem.port)
        packets = [mutate(rng, seeds) for _ in range(rng.randrange(1, 6))]
        stream = b"".join(struct.pack("!H", len(p)) + p for p in packets if p)
        if rng.random() < 0.3:  # break the framing too
            stream = stream[: rng.randrange(len(stream) + 1)] + rng.randbytes(rng.randrange(5))
        writer.write(stream)
        await writer.drain()
        writer.write_eof()
        while True:
            try:
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                body = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), 10)
            except (asyncio.IncompleteReadError, ConnectionResetError):
                break
            dns.message.from_wire(body)
        writer.close()
        await writer.wait_closed()
    response = await sem.ask("www.sem.test.", "A", tcp=True)
    assert response.rcode() == dns.rcode.NOERROR
