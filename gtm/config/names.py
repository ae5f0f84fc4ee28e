"""DNS names as written in zone files → absolute, lower-case names with a trailing dot.

Three ways a name appears: the zone itself and `ns:`/`soa:` names are always absolute (the
trailing dot is optional); owners in `records:`/`policies:` and names inside record data are
relative to the zone unless they end with a dot, and ``@`` is the apex. A relative name that
already ends with the zone's name is refused as ambiguous: ``www.gtm.example.test`` in zone
gtm.example.test could mean either ``www.gtm.example.test.`` or a name twice as long.
"""

from __future__ import annotations

import re

from gtm.model.errors import GtmError

ROOT = "."
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
MAX_NAME_OCTETS = 255


class BadName(GtmError):
    """A name that cannot be used; the message says why."""


def absolute(text: str) -> str:
    """A name that is always absolute (the zone, `ns:`, `soa:` names); trailing dot optional."""
    if text in ("", ROOT):
        raise BadName("must be a domain name, not the root")
    return _check(text.removesuffix(".") + ".", wildcard=False)


def owner(text: str, origin: str) -> str:
    """An owner name in `records:` or `policies:`; ``*`` is allowed as the leftmost label."""
    return _in_zone(text, origin, wildcard=True)


def data(text: str, origin: str) -> str:
    """A name inside record data (CNAME, NS, MX, SRV, PTR targets); may be outside the zone,
    and ``.`` is the root (a null MX or SRV target)."""
    if text == ROOT:
        return ROOT
    if text.endswith("."):
        return _check(text, wildcard=False)
    return _in_zone(text, origin, wildcard=False)


def is_within(name: str, parent: str) -> bool:
    """True when `name` is `parent` or below it (both absolute, lower-case)."""
    return parent == ROOT or name == parent or name.endswith("." + parent)


def is_below(name: str, parent: str) -> bool:
    """True when `name` is strictly below `parent`."""
    return name != parent and is_within(name, parent)


def is_wildcard(name: str) -> bool:
    """True for ``*.something.``."""
    return name.startswith("*.")


def relative(name: str, origin: str) -> str:
    """`name` as written relative to the zone (``@`` for the apex), for messages."""
    if name == origin:
        return "@"
    if is_below(name, origin):
        return name[: -len(origin) - 1]
    return name


def _in_zone(text: str, origin: str, *, wildcard: bool) -> str:
    if text == "@":
        return origin
    if text.endswith("."):
        name = _check(text, wildcard=wildcard)
        if not is_within(name, origin):
            raise BadName(f"'{text}' is not inside the zone '{origin}'")
        return name
    lowered = text.lower()
    apex = origin.removesuffix(".")
    if lowered == apex or lowered.endswith("." + apex):
        short = relative(lowered + ".", origin)
        raise BadName(
            f"'{text}' is ambiguous: write '{text}.' (absolute, with the trailing dot) "
            f"or '{short}' (relative)"
        )
    return _check(f"{text}.{origin}", wildcard=wildcard)


def _check(name: str, *, wildcard: bool) -> str:
    """Validate an absolute name (with its trailing dot) and lower-case it."""
    if not name.isascii():
        raise BadName(f"'{name}' must be ASCII (write an IDN in its xn-- form)")
    lowered = name.lower()
    labels = lowered[:-1].split(".")
    for i, label in enumerate(labels):
        if not label:
            raise BadName(f"'{name}' has an empty label")
        if label == "*":
            if not wildcard:
                raise BadName(f"'{name}': '*' is only allowed in owner names")
            if i != 0:
                raise BadName(f"'{name}': '*' must be the leftmost label")
            continue
        if len(label) > 63:
            raise BadName(f"'{name}': label '{label}' is longer than 63 octets")
        if not _LABEL.fullmatch(label):
            raise BadName(
                f"'{name}': label '{label}' may only contain letters, digits, '-' and '_'"
            )
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME_OCTETS:
        raise BadName(f"'{name}' is longer than {MAX_NAME_OCTETS} octets")
    return lowered
