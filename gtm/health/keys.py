"""Every Redis key and channel gtm uses, and the JSON stored under them. Pure.

All keys live under ``gtm:{cluster}:`` so several gtm clusters can share one Redis:

| key | value | expiry |
|---|---|---|
| ``gtm:{cluster}:vote:{checker}:{target}`` | a vote (JSON, below) | 3 intervals of the check |
| ``gtm:{cluster}:override:{kind}:{id}`` | an override (JSON) | its `--for`, else none |
| ``gtm:{cluster}:checker:{name}`` | the agent: location, version, started | 30 s, refreshed |

| channel | message |
|---|---|
| ``gtm:{cluster}:votes`` | a vote whose state changed (or a checker's first vote) |
| ``gtm:{cluster}:overrides`` | ``{"op": "set", ...}`` or ``{"op": "clear", "kind", "id"}`` |

A vote's freshness is its key's existence: an agent rewrites it after every probe with an
expiry of three intervals, so the votes of an agent that dies disappear by themselves, with
no clock shared between machines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gtm.model.geo import Location
from gtm.model.health import Override, State, Vote

NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # checker and cluster names: no ':' in keys


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys of one cluster."""

    cluster: str = "default"

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.cluster):
            raise ValueError(f"cluster name {self.cluster!r} must match {NAME.pattern}")

    @property
    def prefix(self) -> str:
        return f"gtm:{self.cluster}:"

    def vote(self, checker: str, target: str) -> str:
        return f"{self.prefix}vote:{checker}:{target}"

    def vote_pattern(self) -> str:
        return f"{self.prefix}vote:*"

    def parse_vote(self, key: str) -> tuple[str, str] | None:
        """(checker, target) of a vote key, or None for a key of another shape."""
        head = f"{self.prefix}vote:"
        if not key.startswith(head):
            return None
        checker, sep, target = key[len(head) :].partition(":")
        return (checker, target) if sep and checker and target else None

    def override(self, kind: str, ident: str) -> str:
        return f"{self.prefix}override:{kind}:{ident}"

    def override_pattern(self) -> str:
        return f"{self.prefix}override:*"

    def checker(self, name: str) -> str:
        return f"{self.prefix}checker:{name}"

    @property
    def votes_channel(self) -> str:
        return f"{self.prefix}votes"

    @property
    def overrides_channel(self) -> str:
        return f"{self.prefix}overrides"


def encode_vote(target: str, vote: Vote) -> str:
    loc = vote.location
    return json.dumps({
        "target": target, "checker": vote.checker, "state": vote.state.value,
        "interval": vote.interval, "rtt_ms": vote.rtt_ms, "detail": vote.detail,
        "location": None if loc is None else [loc.lat, loc.lon], "since": vote.since,
    })  # fmt: skip


def decode_vote(text: str | bytes, seen: float) -> tuple[str, Vote] | None:
    """(target, vote) from JSON, seen at `seen` on this node; None when malformed."""
    try:
        data: dict[str, Any] = json.loads(text)
        loc = data.get("location")
        vote = Vote(
            checker=str(data["checker"]),
            state=State(data["state"]),
            seen=seen,
            interval=float(data["interval"]),
            rtt_ms=None if data.get("rtt_ms") is None else float(data["rtt_ms"]),
            detail=str(data.get("detail", "")),
            location=None if not loc else Location(float(loc[0]), float(loc[1])),
            since=float(data.get("since", 0.0)),
        )
        return str(data["target"]), vote
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def encode_override(override: Override) -> str:
    return json.dumps(override.as_dict())


def decode_override(text: str | bytes) -> Override | None:
    try:
        data: dict[str, Any] = json.loads(text)
        kind = str(data["kind"])
        if kind not in ("pool", "endpoint") or data["state"] not in ("up", "down"):
            return None
        expires = data.get("expires")
        return Override(
            kind, str(data["id"]), data["state"] == "up", str(data.get("reason", "")),
            None if expires is None else float(expires), float(data.get("set_at", 0.0)),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None
