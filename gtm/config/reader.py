"""Small typed readers over loader nodes. Each returns the value, or None after adding a reason.

Readers never raise on bad input: a caller reads every field, so one pass over a file reports
every problem in it. Paths are dotted, list items are ``[i]``: ``pools.eu-west.endpoints[1]``.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from gtm.config.duration import parse_duration
from gtm.config.loader import Map, Node, Scalar, Seq
from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.errors import Reason

T = TypeVar("T")

MAX_TTL = 2147483647  # RFC 2181 section 8
MAX_UINT32 = 4294967295


@dataclass(slots=True)
class Reasons:
    """The problems found in one file, in the order they were found."""

    file: str
    items: list[Reason] = field(default_factory=list)

    def add(self, where: Node | int, path: str, message: str) -> None:
        """Record a problem at a node's line (or at a line number)."""
        line = where if isinstance(where, int) else where.line
        self.items.append(Reason(self.file, line, path, message))


def join(path: str, key: str) -> str:
    """The path of `key` inside the mapping at `path`."""
    return f"{path}.{key}" if path else key


def index(path: str, i: int) -> str:
    """The path of item `i` of the list at `path`."""
    return f"{path}[{i}]"


def suggest(word: str, candidates: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to `word`, else ``""``."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(node: Node) -> str:
    """What a node is, for 'must be X, not Y' messages."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    value = node.value
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def mapping(
    r: Reasons,
    node: Node,
    path: str,
    *,
    required: Collection[str] = (),
    optional: Collection[str] = (),
    what: str = "",
) -> Map | None:
    """A mapping with only the given keys; reports unknown keys (with a suggestion) and missing
    required ones. `what` names the mapping in messages about unknown keys."""
    if not isinstance(node, Map):
        r.add(node, path, f"must be a mapping, not {describe(node)}")
        return None
    allowed = [*required, *optional]
    for key, line in node.key_lines.items():
        if key not in allowed:
            where = f" in {what}" if what else ""
            r.add(line, join(path, key), f"unknown key '{key}'{where}{suggest(key, allowed)}")
    for key in required:
        if key not in node.items:
            r.add(node, path, f"missing required key '{key}'")
    return node


def table(r: Reasons, node: Node, path: str) -> Map | None:
    """A mapping whose keys the user names (pools, checks, owners); None when empty (null)."""
    if isinstance(node, Scalar) and node.value is None:
        return None
    if not isinstance(node, Map):
        r.add(node, path, f"must be a mapping, not {describe(node)}")
        return None
    return node


def each(
    r: Reasons, node: Node, path: str, *, allow_scalar: bool = False
) -> Iterator[tuple[str, Node]]:
    """(path, node) of each item of a non-empty list, or of a lone scalar when allowed."""
    if isinstance(node, Seq):
        if not node.items:
            r.add(node, path, "must not be empty")
        for i, item in enumerate(node.items):
            yield index(path, i), item
    elif allow_scalar and isinstance(node, Scalar) and node.value is not None:
        yield path, node
    else:
        r.add(node, path, f"must be a list, not {describe(node)}")


def unique(
    r: Reasons,
    node: Node,
    path: str,
    read: Callable[[Reasons, Node, str], T | None],
    what: str,
    *,
    allow_scalar: bool = False,
) -> tuple[T, ...] | None:
    """The items of a list, each read by `read`, no two equal (``duplicate endpoint '…'``).
    None when any item is bad or repeated."""
    items: list[T] = []
    ok = True
    for item_path, item in each(r, node, path, allow_scalar=allow_scalar):
        value = read(r, item, item_path)
        if value is None:
            ok = False
        elif value in items:
            r.add(item, item_path, f"duplicate {what} '{value}'")
            ok = False
        else:
            items.append(value)
    return tuple(items) if ok else None


def text(r: Reasons, node: Node, path: str, *, empty: bool = False) -> str | None:
    """A string. Unquoted scalars YAML would read as something else (``NO``, ``on``, ``1.5``)
    are taken as written."""
    if isinstance(node, Scalar):
        if isinstance(node.value, str):
            value: str | None = node.value
        elif node.value is not None and node.plain is not None:
            value = node.plain
        else:
            value = None
        if value is not None:
            if not value and not empty:
                r.add(node, path, "must not be empty")
                return None
            return value
    r.add(node, path, f"must be a string, not {describe(node)}")
    return None


def integer(
    r: Reasons, node: Node, path: str, low: int | None = None, high: int | None = None
) -> int | None:
    """An integer within [low, high] (either bound optional)."""
    value = node.value if isinstance(node, Scalar) else None
    if not isinstance(value, int) or isinstance(value, bool):
        r.add(node, path, f"must be an integer, not {describe(node)}")
        return None
    if not in_range(r, node, path, value, low, high):
        return None
    return value


def number(
    r: Reasons, node: Node, path: str, low: float | None = None, high: float | None = None
) -> float | None:
    """A finite number (int or float) within [low, high]."""
    value = node.value if isinstance(node, Scalar) else None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        r.add(node, path, f"must be a number, not {describe(node)}")
        return None
    if not in_range(r, node, path, value, low, high):
        return None
    return float(value)


def in_range(
    r: Reasons,
    where: Node,
    path: str,
    value: float,
    low: float | None,
    high: float | None,
) -> bool:
    """Report `value` outside [low, high]; True when it is inside."""
    if low is not None and high is not None and not low <= value <= high:
        r.add(where, path, f"must be between {_show(low)} and {_show(high)}")
        return False
    if low is not None and value < low:
        r.add(where, path, f"must be at least {_show(low)}")
        return False
    if high is not None and value > high:
        r.add(where, path, f"must be at most {_show(high)}")
        return False
    return True


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def boolean(r: Reasons, node: Node, path: str) -> bool | None:
    """true or false."""
    if isinstance(node, Scalar) and isinstance(node.value, bool):
        return node.value
    r.add(node, path, f"must be true or false, not {describe(node)}")
    return None


def choice(r: Reasons, node: Node, path: str, choices: Collection[str]) -> str | None:
    """One of `choices` (case-sensitive, as documented)."""
    value = text(r, node, path)
    if value is None:
        return None
    if value not in choices:
        options = ", ".join(choices)
        r.add(node, path, f"must be one of {options}, not '{value}'{suggest(value, choices)}")
        return None
    return value


def ip_address(r: Reasons, node: Node, path: str) -> IPAddress | None:
    """An IPv4 or IPv6 address (no zone index)."""
    value = text(r, node, path)
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        r.add(node, path, f"invalid IP address '{value}'")
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        r.add(node, path, f"invalid IP address '{value}' (a zone index is not allowed)")
        return None
    return address


def network(r: Reasons, node: Node, path: str) -> IPNetwork | None:
    """A CIDR prefix whose host bits are zero (a lone address is a /32 or /128)."""
    value = text(r, node, path)
    if value is None:
        return None
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            r.add(node, path, f"invalid network '{value}' ({exc})")
            return None
        r.add(node, path, f"'{value}' has host bits set (did you mean '{loose}'?)")
        return None


def duration(r: Reasons, node: Node, path: str) -> float | None:
    """A duration in seconds: ``500ms``, ``2s``, ``1.5s``, ``5m``, ``1h``; a bare number is
    seconds."""
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return float(value)
    elif isinstance(value, str):
        seconds = parse_duration(value)
        if seconds is not None:
            return seconds
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        r.add(node, path, f"invalid duration '{value}' (write 500ms, 2s, 1.5s or 5m)")
    else:
        r.add(node, path, f"must be a duration (500ms, 2s, 1.5s or 5m), not {describe(node)}")
    return None
