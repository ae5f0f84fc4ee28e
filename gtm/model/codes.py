"""The codes of DNS and of routing, as named enums: one table of each, for every layer.

DNS: record types, classes and response codes (RFC 1035, 3596, 2782, 6891, 8659). The record
types and rcodes the DNS path uses are also module constants, as dnspython's `dns.rdatatype`
and `dns.rcode` have them (here plain ints, for speed).
Routing: what a policy answers when all is down, geolocation levels, check kinds, and the
verdict of a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum


class _Code(IntEnum):
    @classmethod
    def name_of(cls, value: int) -> str:
        """The mnemonic of a code, or its number when it has none here."""
        return cls(value).name if value in cls._value2member_map_ else str(value)


class RRType(_Code):
    """Resource record types gtm names (any other type is its number)."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    MX = 15
    TXT = 16
    AAAA = 28
    SRV = 33
    OPT = 41
    DS = 43
    DNSKEY = 48
    HTTPS = 65
    IXFR = 251
    AXFR = 252
    MAILB = 253
    MAILA = 254
    ANY = 255
    CAA = 257


class RRClass(IntEnum):
    IN = 1
    ANY = 255


class Rcode(_Code):
    """Response codes; BADVERS is extended (its upper bits travel in the OPT record)."""

    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    BADVERS = 16
    BADCOOKIE = 23


# The codes the DNS path compares and uses as keys on every query, as plain ints: there an
# enum member costs several times an int (89 against 25 ns an attribute, 30 against 18 ns a
# dict lookup, on the benchmark machine). The enums above name them.
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT, CAA, ANY = (
    int(t) for t in (RRType.A, RRType.NS, RRType.CNAME, RRType.SOA, RRType.PTR, RRType.MX,
                     RRType.TXT, RRType.AAAA, RRType.SRV, RRType.OPT, RRType.CAA, RRType.ANY)
)  # fmt: skip
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS, BADCOOKIE = (int(r) for r in Rcode)
STATIC_TYPES: Mapping[str, int] = {
    RRType(t).name: t for t in (A, AAAA, CNAME, MX, TXT, NS, SRV, CAA, PTR)
}  # the types a zone file's `records:` may hold


class CheckType(StrEnum):
    HTTP = "http"
    HTTPS = "https"
    TCP = "tcp"


class WhenAllDown(StrEnum):
    """What a policy answers when every candidate is down."""

    OPEN = "open"  # answer as if all were healthy (Route 53, gdnsd)
    SERVFAIL = "servfail"
    NODATA = "nodata"


class GeoLevel(StrEnum):
    """Geolocation rule levels, most specific first (the order rules are tried in)."""

    NETWORK = "network"
    SUBDIVISION = "subdivision"
    COUNTRY = "country"
    CONTINENT = "continent"
    DEFAULT = "default"


GEO_LEVEL_ORDER: tuple[GeoLevel, ...] = tuple(GeoLevel)


class Verdict(StrEnum):
    """What a policy decision came to."""

    ANSWER = "answer"
    NODATA = "nodata"
    SERVFAIL = "servfail"
