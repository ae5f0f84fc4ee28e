"""Zones as loaded: records, pools, checks, policies. Frozen, validated, free of strings to
look up.

`gtm.config` builds these from zone files; tests may build them directly. Names are absolute,
lower-case and end with a dot (``"www.gtm.example.test."``); record data are dnslib ``RD``
objects ready to pack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.codes import CheckType, GeoLevel, WhenAllDown
from gtm.model.geo import Location


@dataclass(frozen=True, slots=True)
class Check:
    """A health check, after templates are inlined. Durations are in seconds."""

    type: CheckType
    port: int
    path: str = "/"
    host: str | None = None
    expect_status: tuple[int, ...] | None = None  # None: any 2xx or 3xx
    expect_body: str | None = None
    interval: float = 5.0
    timeout: float = 2.0
    rise: int = 2
    fall: int = 3
    quorum: float = 0.5
    address: IPAddress | None = None  # probe this address instead of the endpoint
    tls_verify: bool = True
    watch: bool = True  # hold an idle connection to notice a crash at once (health.md)
    name: str | None = None  # the template's name, when it came from one


DEFAULT_ASN = 64512  # the first private AS number (RFC 6996)


@dataclass(frozen=True, slots=True)
class Damping:
    """Route flap damping in the spirit of RFC 2439.

    Every withdrawal adds `penalty`; the penalty halves every `half_life` seconds. Above
    `suppress`, the route is not announced again until the penalty has decayed below `reuse`;
    the penalty is capped so that no route stays suppressed longer than `max_suppress`.
    """

    penalty: float = 1000.0
    suppress: float = 2000.0
    reuse: float = 750.0
    half_life: float = 900.0
    max_suppress: float = 3600.0

    @property
    def ceiling(self) -> float:
        """The highest penalty: decays to `reuse` in exactly `max_suppress` seconds."""
        return self.reuse * 2 ** (self.max_suppress / self.half_life)

    def decayed(self, penalty: float, elapsed: float) -> float:
        return penalty * math.pow(0.5, max(elapsed, 0.0) / self.half_life)


@dataclass(frozen=True, slots=True)
class AnycastSettings:
    """A zone's `anycast:` section (docs/anycast.md)."""

    asn: int = DEFAULT_ASN  # the PoPs' local AS unless a pool says otherwise
    hold_down: float = 30.0  # seconds a withdrawn PoP must stay up before it announces again
    damping: Damping | None = field(default_factory=Damping)  # None: no damping
    withdraw_last: bool = False  # True: the last PoP of a prefix may withdraw it too
    prepend_km: float = 2000.0  # how much farther each AS-path prepend makes a PoP look


@dataclass(frozen=True, slots=True)
class BgpAttributes:
    """What a pool's anycast announcements carry besides the prefixes (`announce:` mapping)."""

    asn: int | None = None  # None: the zone's `anycast.asn`
    communities: tuple[str, ...] = ()  # "64512:100" or large "64512:1:2"
    prepend: int = 0  # extra copies of the local AS in the path: a less preferred PoP
    next_hop: str = "self"


@dataclass(frozen=True, slots=True)
class Pool:
    """One region / datacenter / PoP."""

    name: str
    endpoints: tuple[IPAddress, ...]
    location: Location | None = None
    check: Check | None = None
    min_healthy: int = 1
    announce: tuple[IPNetwork, ...] = ()  # anycast prefixes (simulated BGP)
    bgp: BgpAttributes = field(default_factory=lambda: BgpAttributes())
    # Derived once: the policy engine asks for a family's endpoints on every decision.
    _v4: tuple[IPAddress, ...] = field(init=False, repr=False, compare=False, default=())
    _v6: tuple[IPAddress, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_v4", tuple(e for e in self.endpoints if e.version == 4))
        object.__setattr__(self, "_v6", tuple(e for e in self.endpoints if e.version == 6))

    def endpoints_of(self, family: int) -> tuple[IPAddress, ...]:
        """The endpoints of one address family (4 or 6)."""
        return self._v6 if family == 6 else self._v4


@dataclass(frozen=True, slots=True)
class Failover:
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class WeightedTarget:
    target: Target
    weight: int


@dataclass(frozen=True, slots=True)
class Weighted:
    targets: tuple[WeightedTarget, ...]


@dataclass(frozen=True, slots=True)
class GeoRule:
    """One geolocation rule. `values` holds CIDRs (network), ``CC-SUB`` codes (subdivision),
    ISO country codes or continent codes, upper-case; empty for `default`."""

    level: GeoLevel
    values: tuple[str, ...]
    networks: tuple[IPNetwork, ...]
    target: Target
    index: int  # position in the file, for traces


@dataclass(frozen=True, slots=True)
class Geolocation:
    rules: tuple[GeoRule, ...]


@dataclass(frozen=True, slots=True)
class ProximityTarget:
    pool: Pool
    bias: int = 0


@dataclass(frozen=True, slots=True)
class Geoproximity:
    targets: tuple[ProximityTarget, ...]


@dataclass(frozen=True, slots=True)
class Latency:
    pools: tuple[Pool, ...]


PolicyKind = Failover | Weighted | Geolocation | Geoproximity | Latency
Target = Pool | PolicyKind


@dataclass(frozen=True, slots=True)
class Policy:
    """A dynamic name: answers A/AAAA from its routing tree."""

    name: str  # absolute owner name
    root: PolicyKind
    ttl: int = 60
    answers: int | None = None
    when_all_down: WhenAllDown = WhenAllDown.OPEN
    key: str = ""  # the name as written in the file (for messages and the API)


@dataclass(frozen=True, slots=True)
class RRset:
    """A static RRset. `rdata` are dnslib RD objects (treat as immutable)."""

    name: str
    rtype: int
    ttl: int
    rdata: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Soa:
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int
    ttl: int


@dataclass(frozen=True, slots=True)
class Zone:
    """One validated zone, as loaded from one file."""

    origin: str
    soa: Soa
    nameservers: tuple[str, ...]
    ttl: int
    records: Mapping[str, Mapping[int, RRset]]  # owner -> type -> RRset (apex NS included)
    policies: Mapping[str, Policy]  # owner -> policy
    pools: Mapping[str, Pool] = field(default_factory=dict)
    checks: Mapping[str, Check] = field(default_factory=dict)
    anycast: AnycastSettings = field(default_factory=lambda: AnycastSettings())
    source: str = ""  # the file it came from
    origin_line: int = 0  # the line of its `zone:` key in that file
    digest: str = ""  # hash of the file's content, to tell reloads that changed nothing
