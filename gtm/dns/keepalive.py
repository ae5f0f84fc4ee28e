"""The edns-tcp-keepalive option (RFC 7828): the idle timeout a server sends in its TCP replies.

Only the value lives here; which replies carry it is the wire code's choice: over TCP only, and
only when the query carried the option (with OPTION-LENGTH 0, as clients send it).
"""

from __future__ import annotations

CODE = 11  # the EDNS option code of edns-tcp-keepalive
UNIT = 0.1  # TIMEOUT counts units of 100 milliseconds
MAX_UNITS = 0xFFFF  # a 16-bit field: at most 6553.5 s
_HEAD = CODE.to_bytes(2, "big") + b"\x00\x02"  # the option code, OPTION-LENGTH 2


def timeout_units(seconds: float) -> int:
    """The TIMEOUT field for an idle timeout of `seconds`: whole 100 ms units, rounded down.

    Rounding down: a client told 10.0 s must not be closed before that, so the value sent never
    exceeds what the transport honours. 0 tells the client to close once it has its answers.
    """
    if seconds <= 0:
        return 0
    # round() first absorbs float noise (0.3 / 0.1 == 2.9999999999999996) before the floor.
    return min(MAX_UNITS, int(round(seconds / UNIT, 6)))


def option_data(seconds: float) -> bytes:
    """OPTION-DATA of the option in a reply: TIMEOUT as 2 bytes, network order."""
    return timeout_units(seconds).to_bytes(2, "big")


def option(seconds: float) -> bytes:
    """The whole option as it appears in an OPT record's RDATA: code, length 2, TIMEOUT."""
    return encoded(timeout_units(seconds))


def encoded(units: int) -> bytes:
    """The whole option for a TIMEOUT already in 100 ms units (what a reply's OPT carries)."""
    return _HEAD + units.to_bytes(2, "big")
