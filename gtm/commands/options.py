"""The flags several subcommands share, each declared once with one default and one
environment variable, and the argument types of the command line."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlparse

from gtm.config.duration import EXAMPLES, parse_duration
from gtm.model.errors import UsageError
from gtm.model.geo import Location

Parser = argparse.ArgumentParser
Group = argparse.ArgumentParser | argparse._MutuallyExclusiveGroup
if TYPE_CHECKING:  # generic to the type checker only
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def env(name: str) -> str | None:
    """An environment variable, or None when unset or empty."""
    value = os.environ.get(name)
    return value if value else None


# --- shared flags --------------------------------------------------------------------------------


def add_log_level(parser: Parser) -> None:
    parser.add_argument(
        "--log-level", default=env("GTM_LOG_LEVEL") or "info",
        choices=["debug", "info", "warning", "error"],
        help="log level (env GTM_LOG_LEVEL; default info)",
    )  # fmt: skip


def add_zones(parser: Parser) -> None:
    parser.add_argument(
        "--zones", type=Path, default=Path(env("GTM_ZONES") or "zones"), metavar="DIR",
        help="directory of zone files (env GTM_ZONES; default ./zones)",
    )  # fmt: skip


def add_geodb(parser: Parser) -> None:
    parser.add_argument(
        "--geodb", type=Path, default=Path(text) if (text := env("GTM_GEODB")) else None,
        metavar="FILE", help="MaxMind-format geo database (env GTM_GEODB)",
    )  # fmt: skip


def add_redis(parser: Group) -> None:
    parser.add_argument(
        "--redis", type=redis_url, default=env("GTM_REDIS"), metavar="URL",
        help="the Redis the DNS nodes and checker agents share: redis://, rediss://, unix:// or "
        "redis+sentinel:// (env GTM_REDIS)",
    )  # fmt: skip


def add_cluster(parser: Parser) -> None:
    parser.add_argument(
        "--cluster", default=env("GTM_CLUSTER") or "default", metavar="NAME",
        help="the Redis key space shared by the DNS nodes and agents (env GTM_CLUSTER; default "
        "'default')",
    )  # fmt: skip


def add_checker_name(parser: Parser) -> None:
    parser.add_argument(
        "--name", default=env("GTM_CHECKER_NAME") or socket.gethostname(),
        help="this checker's name, unique in the cluster (env GTM_CHECKER_NAME; default the "
        "host name)",
    )  # fmt: skip


def add_json(parser: Parser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


# --- argument types ------------------------------------------------------------------------------


def redis_url(text: str) -> str:
    """A Redis URL gtm can use (a Sentinel URL must name its sentinels and service)."""
    scheme = urlparse(text).scheme
    if scheme == "redis+sentinel":
        from gtm.health.redis_store import sentinel_address

        try:
            sentinel_address(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    elif scheme not in ("redis", "rediss", "unix"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a redis://, rediss://, unix:// or redis+sentinel:// URL"
        )
    return text


def duration(text: str) -> float:
    """A positive duration: `500ms`, `30s`, `5m`, `2h` (the zone files' syntax)."""
    seconds = parse_duration(text, spaced=True)
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration ({EXAMPLES})")
    return seconds


def positive_int(text: str) -> int:
    """A whole number from 1."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1")
    return int(text)


def duration_or_off(text: str) -> float:
    """A duration, or 0 for off."""
    seconds = parse_duration(text, spaced=True)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration ({EXAMPLES}) nor 0")
    return seconds


def location(text: str) -> Location:
    """`LAT,LON` in degrees."""
    try:
        lat_text, lon_text = text.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LAT,LON (53.35,-6.26)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError(f"{text!r}: latitude or longitude out of range")
    return Location(lat, lon)


def worker_count(text: str) -> int:
    """`auto` (the CPUs this process may run on) or a number from 1."""
    if text == "auto":
        return len(os.sched_getaffinity(0))
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--workers must be 'auto' or a number from 1, not {text!r}")
    return int(text)


def read_token(path: Path | None) -> str | None:
    """The API token: from a file (first line), else from GTM_API_TOKEN."""
    if path is not None:
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the token file {path}: {exc}") from exc
        if not token:
            raise UsageError(f"the token file {path} is empty")
        return token
    return env("GTM_API_TOKEN")
