"""Response rate limiting, BIND's way, on an injected clock: in the spirit of Knot's RRL test
(`tests-extra/tests/modules/rrl`), one client at a known rate, counting answered, slipped and
dropped replies for each slip; the window; exempt and other networks; the classes."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter

import dns.message
import pytest

from gtm.config import load_zone_file, zone_files
from gtm.dns.full import respond
from gtm.dns.lookup import Result
from gtm.dns.rrl import Action, RateLimiter, ResponseClass, RrlSettings
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet
from gtm.model.codes import NOERROR
from tests.helpers import SEMANTICS

CLIENT = (4, int(ipaddress.ip_address("192.0.2.7")))
ANSWER = ResponseClass.ANSWER


def holder(limiter: RateLimiter, address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    found = limiter.network(ip.version, int(ip))
    assert found is not None
    return found


def run(limiter: RateLimiter, queries: int, rate: float, start: float = 0.0,
        address: str = "192.0.2.7", kind: ResponseClass = ANSWER,
        identity: object = "www.example. A") -> Counter[Action]:  # fmt: skip
    """`queries` responses from one client at `rate` per second; what each came to."""
    who = holder(limiter, address)
    return Counter(limiter.check(who, kind, identity, start + n / rate) for n in range(queries))


# slip: (answered, slipped, dropped) of 100 queries in one second at 10 allowed per second.
# The account starts with one second of credit (10); every reply it would send is charged, the
# limited ones too (as in BIND), so what it earns over the second only pays its debt.
SLIPS = {0: (10, 0, 90), 1: (10, 90, 0), 2: (10, 45, 45), 3: (10, 30, 60)}


@pytest.mark.parametrize(("slip", "expected"), SLIPS.items(), ids=[f"slip {s}" for s in SLIPS])
def test_one_client_over_its_rate(slip: int, expected: tuple[int, int, int]) -> None:
    limiter = RateLimiter(RrlSettings(responses=10, slip=slip))
    seen = run(limiter, 100, rate=100)
    assert (seen[Action.ANSWER], seen[Action.SLIP], seen[Action.DROP]) == expected


def test_a_client_within_its_rate_is_never_limited() -> None:
    limiter = RateLimiter(RrlSettings(responses=10))
    assert run(limiter, 300, rate=10) == Counter({Action.ANSWER: 300})


def test_the_window_caps_the_debt() -> None:
    """An abuser owes at most `window` seconds of credit: quiet that long, it is answered."""
    limiter = RateLimiter(RrlSettings(responses=5, window=3, slip=0))
    seen = run(limiter, 1000, rate=1000)  # one second of flood: deep in debt, capped at -15
    assert seen[Action.ANSWER] == 5
    assert run(limiter, 1, rate=1, start=1.0 + 2.9)[Action.DROP] == 1  # 2.9 s quiet: still owes
    limiter = RateLimiter(RrlSettings(responses=5, window=3, slip=0))
    run(limiter, 1000, rate=1000)
    assert run(limiter, 1, rate=1, start=1.0 + 3.3)[Action.ANSWER] == 1  # 3.3 s: paid off


def test_another_network_and_another_question_are_other_accounts() -> None:
    limiter = RateLimiter(RrlSettings(responses=2, slip=0))
    assert run(limiter, 50, rate=100)[Action.ANSWER] == 2
    assert run(limiter, 5, rate=100, address="192.0.2.200")[Action.ANSWER] == 0  # same /24
    assert run(limiter, 5, rate=100, address="192.0.3.7")[Action.ANSWER] == 2  # another /24
    assert run(limiter, 5, rate=100, identity="mail.example. A")[Action.ANSWER] == 2


def test_exempt_networks_have_no_account() -> None:
    limiter = RateLimiter(RrlSettings(responses=1, exempt=(ipaddress.ip_network("192.0.2.0/28"),)))
    assert limiter.network(4, int(ipaddress.ip_address("192.0.2.7"))) is None
    assert limiter.network(4, int(ipaddress.ip_address("192.0.2.17"))) is not None


def test_ipv6_networks_are_56_bits_by_default() -> None:
    limiter = RateLimiter(RrlSettings(responses=1, slip=0))
    assert run(limiter, 3, rate=100, address="2001:db8:0:ab00::1")[Action.ANSWER] == 1
    assert run(limiter, 3, rate=100, address="2001:db8:0:abff::9")[Action.ANSWER] == 0  # same
    assert run(limiter, 3, rate=100, address="2001:db8:0:ac00::1")[Action.ANSWER] == 1


CLASSES = {
    # settings, class asked: its rate (None: unlimited)
    "nodata defaults to responses": (RrlSettings(responses=3), ResponseClass.NODATA, 3),
    "its own nxdomain rate": (RrlSettings(responses=3, nxdomains=1), ResponseClass.NXDOMAIN, 1),
    "errors unlimited while responses are": (RrlSettings(errors=2), ResponseClass.ANSWER, None),
    "errors limited alone": (RrlSettings(errors=2), ResponseClass.ERROR, 2),
    "referrals": (RrlSettings(responses=4, referrals=2), ResponseClass.REFERRAL, 2),
}  # fmt: skip


@pytest.mark.parametrize(("settings", "kind", "rate"), CLASSES.values(), ids=CLASSES.keys())
def test_each_class_has_its_rate(
    settings: RrlSettings, kind: ResponseClass, rate: int | None
) -> None:
    seen = run(RateLimiter(settings), 100, rate=1000, kind=kind)
    assert seen[Action.ANSWER] == (100 if rate is None else rate)


def test_all_per_second_counts_every_response_of_a_network() -> None:
    limiter = RateLimiter(RrlSettings(all=5, slip=0))
    who = holder(limiter, "192.0.2.7")
    answered = sum(limiter.check(who, ANSWER, f"name{n}", n / 1000) is Action.ANSWER
                   for n in range(50))  # fmt: skip
    assert answered == 5


def test_the_table_stays_bounded() -> None:
    limiter = RateLimiter(RrlSettings(responses=1, window=1, max_accounts=100))
    for n in range(1000):
        limiter.check((4, n), ANSWER, None, n * 0.001)
    assert len(limiter) <= 100
    for n in range(100):  # accounts idle longer than the window go first
        limiter.check((4, 10_000 + n), ANSWER, None, 10.0)
    assert len(limiter) <= 100


@pytest.mark.parametrize("bad", [{"window": 0}, {"slip": 11}, {"responses": -1},
                                 {"ipv4_prefix": 33}])  # fmt: skip
def test_settings_are_checked(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"rate|window|slip|prefix"):
        RrlSettings(**bad)  # type: ignore[arg-type]


KINDS = {
    # query name, type: the class its response is limited as
    "www.sem.test. A": ResponseClass.ANSWER,
    "mail.sem.test. TXT": ResponseClass.NODATA,
    "nothere.sem.test. A": ResponseClass.NXDOMAIN,
    "dangling.sem.test. A": ResponseClass.NXDOMAIN,  # a CNAME to a name that does not exist
    "x.child.sem.test. A": ResponseClass.REFERRAL,
    "example.net. A": ResponseClass.ERROR,  # REFUSED: not our zone
    "sem.test. AXFR": ResponseClass.ERROR,
}


@pytest.mark.parametrize(("question", "kind"), KINDS.items(), ids=KINDS.keys())
def test_each_response_is_classified_by_what_it_says(question: str, kind: ResponseClass) -> None:
    name, rdtype = question.split()
    snap = Snapshot(ZoneSet.build([load_zone_file(p) for p in zone_files(SEMANTICS)]))
    query = dns.message.make_query(name, rdtype).to_wire()
    assert respond(query, "192.0.2.1", False, snap, random.Random(1)).kind is kind


def test_a_name_that_does_not_exist_counts_as_nxdomain_whatever_its_rcode() -> None:
    """A compact denial under DNSSEC (NOERROR, RFC 9824) must not become NODATA."""
    denial = Result(rcode=NOERROR, aa=True, answer=(), authority=(), additional=(),
                    nonexistent=True)  # fmt: skip
    assert denial.kind is ResponseClass.NXDOMAIN
