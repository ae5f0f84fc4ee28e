"""The ExaBGP commands gtm writes for its UPDATEs, and the answers it reads back."""

from __future__ import annotations

import ipaddress

import pytest

from gtm.anycast.exabgp import Answer, answer, command
from gtm.anycast.model import PoP, Route
from gtm.anycast.rib import Action, Update
from gtm.model.geo import Location

P = ipaddress.ip_network("203.0.113.0/24")
V6 = ipaddress.ip_network("2001:db8:f::/48")


def update(action: Action, prefix: object = P, **kw: object) -> Update:
    pop = PoP("z.", "eu", Location(0, 0), (prefix,), 64512, **kw)  # type: ignore[arg-type]
    return Update(action, Route(pop, prefix), "test")  # type: ignore[arg-type]


CASES = {
    "plain announce": (update(Action.ANNOUNCE), "announce route 203.0.113.0/24 next-hop self"),
    "withdraw": (update(Action.WITHDRAW), "withdraw route 203.0.113.0/24 next-hop self"),
    "IPv6": (update(Action.ANNOUNCE, V6), "announce route 2001:db8:f::/48 next-hop self"),
    "prepend twice": (
        update(Action.ANNOUNCE, prepend=2),
        "announce route 203.0.113.0/24 next-hop self as-path [ 64512 64512 ]",
    ),
    "communities, standard and large, and a next hop": (
        update(Action.ANNOUNCE, communities=("64512:100", "64512:1:2"), next_hop="192.0.2.1"),
        "announce route 203.0.113.0/24 next-hop 192.0.2.1 community [ 64512:100 ]"
        " large-community [ 64512:1:2 ]",
    ),
}


@pytest.mark.parametrize(("given", "expected"), CASES.values(), ids=CASES.keys())
def test_command(given: Update, expected: str) -> None:
    assert command(given) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [("done\n", Answer.DONE), ("error", Answer.ERROR), ("shutdown", Answer.SHUTDOWN),
     ('{"answer": "done", "message": ""}', Answer.DONE), ('{"answer":"error"}', Answer.ERROR),
     ("neighbor 127.0.0.1 up", Answer.OTHER), ("", Answer.OTHER)],
)  # fmt: skip
def test_answer(line: str, expected: Answer) -> None:
    assert answer(line) is expected
