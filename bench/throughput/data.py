"""The benchmark's inputs: one geo database for all servers, and dnsperf's query files.

The database is written as a CSV and built with `gtm geodb build` (mmdb-writer, database_type
"gtm-City", which PowerDNS and gdnsd accept). Ten countries, one first octet each: even /16s
whole, odd /16s cut into /20s (2,176 networks per country). First octets 20-39 are not in it.
"""

from __future__ import annotations

import ipaddress
import random
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ZONE = "geo.example.test"
STATIC = f"static.{ZONE}"
GEO = f"www.{ZONE}"
WEIGHTED = f"weighted.{ZONE}"

# country -> (continent, first octet, latitude, longitude)
COUNTRIES = {
    "DE": ("EU", 2, 50.11, 8.68),
    "JP": ("AS", 3, 35.68, 139.69),
    "US": ("NA", 4, 39.04, -77.49),
    "BR": ("SA", 5, -23.55, -46.63),
    "FR": ("EU", 7, 48.86, 2.35),
    "GB": ("EU", 8, 51.51, -0.13),
    "IN": ("AS", 9, 19.08, 72.88),
    "AU": ("OC", 11, -33.87, 151.21),
    "CA": ("NA", 12, 43.65, -79.38),
    "ZA": ("AF", 13, -26.2, 28.05),
}
OUTSIDE = range(20, 40)  # first octets not in the database
ONE_SUBNET = "2.0.0.0/24"  # DE: the "one subnet" mix
# the "many subnets" mix: share of queries per country, the rest outside the database
MANY_SHARES = {"BR": 0.4, "DE": 0.1, "JP": 0.1, "US": 0.1}
EXPECT = {"DE": "10.0.0.1", "JP": "10.0.0.2"}  # else 10.0.0.3


def expected_geo(country: str | None) -> str:
    return EXPECT.get(country or "", "10.0.0.3")


def write_csv(path: Path) -> int:
    lines = ["network,country,continent,subdivisions,city,latitude,longitude,registered_country"]
    for cc, (continent, octet, lat, lon) in COUNTRIES.items():
        place = f"{cc},{continent},,,{lat},{lon},{cc}"
        for second in range(256):
            if second % 2 == 0:
                lines.append(f"{octet}.{second}.0.0/16,{place}")
            else:
                thirds = range(0, 256, 16)
                lines.extend(f"{octet}.{second}.{third}.0/20,{place}" for third in thirds)
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def build_geodb(work: Path) -> Path:
    csv = work / "bench-geo.csv"
    out = work / "bench-geo.mmdb"
    count = write_csv(csv)
    gtm = Path(sys.executable).with_name("gtm")
    argv = [str(gtm), "geodb", "build", str(csv), "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"gtm geodb build failed: {done.stderr.strip() or done.stdout.strip()}")
    print(f"geo database: {count} networks -> {out}", file=sys.stderr)
    return out


# --- DNS wire format, enough for A queries with an optional ECS option --------------------


def qname_wire(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ecs_option(network: str) -> bytes:
    net = ipaddress.ip_network(network)
    family = 1 if net.version == 4 else 2
    addr = net.network_address.packed[: (net.prefixlen + 7) // 8]
    body = struct.pack("!HBB", family, net.prefixlen, 0) + addr
    return struct.pack("!HH", 8, len(body)) + body


def query(name: str, ecs: str | None = None, qid: int = 0) -> bytes:
    header = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1 if ecs else 0)
    msg = header + qname_wire(name) + struct.pack("!HH", 1, 1)
    if ecs:
        opt = ecs_option(ecs)
        msg += b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt)) + opt
    return msg


def ecs_hex(network: str) -> str:
    """The value of dnsperf's `-E 8:HEX` for an ECS option with this network."""
    return ecs_option(network)[4:].hex()


# --- the mixes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mix:
    key: str
    title: str
    file: str  # name of the query file in the work folder
    binary: bool = False  # dnsperf -B
    ecs: str | None = None  # dnsperf -E 8:... (one fixed subnet)
    weighted: bool = False  # needs a weighted resource (n/a for PowerDNS)


MIXES = [
    Mix("static", "static A", "static.txt"),
    Mix("geo-one", f"geo A, ECS one /24 ({ONE_SUBNET}, DE)", "geo.txt", ecs=ONE_SUBNET),
    Mix("geo-many", "geo A, ECS many /24s (binary -B)", "geo-many.bin", binary=True),
    Mix("weighted", "weighted A", "weighted.txt", weighted=True),
    Mix("nxdomain", "static/geo A + 10% NXDOMAIN", "nxdomain.txt"),
]
MIX_KEYS = [m.key for m in MIXES]


def random_slash24(rng: random.Random) -> tuple[str, str | None]:
    """A random /24 as the many-subnets mix draws it, and its country (None: not in the DB)."""
    pick = rng.random()
    country = None
    for cc, share in MANY_SHARES.items():
        if pick < share:
            country = cc
            break
        pick -= share
    first = COUNTRIES[country][1] if country else rng.choice(OUTSIDE)
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.0/24", country


def write_query_files(work: Path, many: int = 300_000, seed: int = 7) -> None:
    rng = random.Random(seed)
    (work / "static.txt").write_text(f"{STATIC} A\n")
    (work / "geo.txt").write_text(f"{GEO} A\n")
    (work / "weighted.txt").write_text(f"{WEIGHTED} A\n")
    lines = []
    for i in range(10_000):
        if i % 10 == 9:
            lines.append(f"nx{rng.randrange(10**9)}.{ZONE} A")
        else:
            lines.append(f"{STATIC if i % 2 else GEO} A")
    (work / "nxdomain.txt").write_text("\n".join(lines) + "\n")
    chunks = []
    for _ in range(many):
        msg = query(GEO, random_slash24(rng)[0])
        chunks.append(struct.pack("!H", len(msg)) + msg)
    (work / "geo-many.bin").write_bytes(b"".join(chunks))
