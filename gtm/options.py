"""Argument types and environment defaults shared by the `gtm` subcommands."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from urllib.parse import urlparse

from gtm.model.geo import Location

_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def env(name: str) -> str | None:
    """An environment variable, or None when unset or empty."""
    value = os.environ.get(name)
    return value if value else None


def redis_url(text: str) -> str:
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
    """Seconds from `500ms`, `2s`, `1.5s`, `5m`, `1h` or a bare number of seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or float(match["value"]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (500ms, 30s, 5m, 2h)")
    return float(match["value"]) * _UNITS[match["unit"]]


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


def read_token(path: Path | None) -> str | None:
    """The API token: from a file (first line), else from GTM_API_TOKEN."""
    if path is not None:
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read the token file {path}: {exc}") from exc
        if not token:
            raise argparse.ArgumentTypeError(f"the token file {path} is empty")
        return token
    return env("GTM_API_TOKEN")
