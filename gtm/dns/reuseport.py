"""Which process of `gtm serve --workers N` gets a UDP query: every query from one client
network goes to the same one, so that process's rate-limiting accounts see all of that
network's traffic and the configured rates hold for the node as a whole.

By default the kernel spreads a SO_REUSEPORT group by a hash of the whole address and port
pair, so one client's queries, from many source ports, land on every process. A classic BPF
program attached to the group (SO_ATTACH_REUSEPORT_CBPF, Linux 4.5) picks the socket instead:
the client's network (its source address cut to the rate limiting prefix) modulo N.
"""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_REUSEPORT_CBPF = 51  # Linux; not in Python's socket module
_NET = -0x100000  # SKF_NET_OFF: loads relative to the IP header, not the UDP payload

# Classic BPF instructions (linux/filter.h): (code, jt, jf, k).
_LD_ABS_W = 0x20  # A = the 32-bit word at k
_LD_IMM = 0x00  # A = k
_RSH_K = 0x74  # A >>= k
_MOD_K = 0x94  # A %= k
_XOR_X = 0xAC  # A ^= X
_TAX = 0x07  # X = A
_RET_A = 0x16  # return A: the index of the socket in the group


def program(family: int, prefix: int, processes: int) -> list[tuple[int, int, int, int]]:
    """The instructions: A = the source network (at most its first 64 bits) mod processes.

    Steering by a shorter prefix than the limiter's is still right (a network never spans
    two sockets), so an IPv6 prefix longer than 64 bits is steered by its first 64.
    """
    code: list[tuple[int, int, int, int]] = []
    if family == socket.AF_INET:
        code += _load(12, 32, prefix)
    else:
        prefix = min(prefix, 64)
        if prefix <= 32:
            code += _load(8, 32, prefix)
        else:
            code += _load(12, 32, prefix - 32)
            code += [(_TAX, 0, 0, 0)]
            code += [(_LD_ABS_W, 0, 0, (_NET + 8) & 0xFFFFFFFF), (_XOR_X, 0, 0, 0)]
    return [*code, (_MOD_K, 0, 0, processes), (_RET_A, 0, 0, 0)]


def _load(offset: int, width: int, bits: int) -> list[tuple[int, int, int, int]]:
    """A = the first `bits` of the `width`-bit word at `offset` of the IP header."""
    if bits == 0:
        return [(_LD_IMM, 0, 0, 0)]
    load = [(_LD_ABS_W, 0, 0, (_NET + offset) & 0xFFFFFFFF)]
    return load if bits == width else [*load, (_RSH_K, 0, 0, width - bits)]


def steer_by_network(sock: socket.socket, prefix: int, processes: int) -> None:
    """Attach the program to `sock`'s SO_REUSEPORT group (one socket of the group suffices;
    every process attaches the same one). Raises OSError where the kernel refuses."""
    code = program(sock.family, prefix, processes)
    filters = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in code))
    fprog = struct.pack("HL", len(code), ctypes.addressof(filters))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
