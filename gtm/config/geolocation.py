"""`geolocation:` rules → `gtm.model.Geolocation`, refusing rules that can never match.

A rule is shadowed when every value it lists is already listed by earlier rules of the same
level (for networks: the identical network), so it would never be chosen first; a backup belongs
in a failover target instead. Partial overlap is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gtm.config import reader
from gtm.config.geocodes import CONTINENTS, COUNTRIES, COUNTRY_HINTS
from gtm.config.loader import Map, Node, Seq
from gtm.config.reader import Reasons, join
from gtm.model.addresses import IPNetwork
from gtm.model.codes import GeoLevel
from gtm.model.zone import Geolocation, GeoRule, Target

TargetReader = Callable[[Node, str], Target | None]
MATCH_LEVELS = (GeoLevel.NETWORK, GeoLevel.SUBDIVISION, GeoLevel.COUNTRY, GeoLevel.CONTINENT)
_SUBDIVISION = re.compile(r"([A-Z]{2})-([A-Z0-9]{1,3})")


def read_geolocation(r: Reasons, node: Node, path: str, target: TargetReader) -> Geolocation | None:
    """A non-empty list of rules with exactly one `{default: TARGET}`."""
    mark = len(r.items)
    rules: list[GeoRule | None] = []
    earlier: dict[GeoLevel, list[tuple[int, frozenset[str]]]] = {}
    defaults: list[int] = []
    for i, (rule_path, rule_node) in enumerate(reader.each(r, node, path)):
        rule = _rule(r, rule_node, rule_path, i, target)
        rules.append(rule)
        if isinstance(rule_node, Map) and "default" in rule_node.items:
            if defaults:
                r.add(
                    rule_node,
                    join(rule_path, "default"),
                    f"rule is shadowed by the default rule [{defaults[0]}] "
                    "(a geolocation has one default)",
                )
            defaults.append(i)
        elif rule is not None:
            _check_shadow(r, rule_node, rule_path, rule, earlier.setdefault(rule.level, []))
    if not defaults and isinstance(node, Seq) and node.items:
        r.add(node, path, "geolocation needs a default rule")
    if len(r.items) > mark or not rules:
        return None
    return Geolocation(tuple(rule for rule in rules if rule is not None))


def _check_shadow(
    r: Reasons,
    where: Node,
    path: str,
    rule: GeoRule,
    earlier: list[tuple[int, frozenset[str]]],
) -> None:
    values = frozenset(rule.values)
    covered = frozenset().union(*(vals for _, vals in earlier))
    if values <= covered:
        by = [f"[{j}]" for j, vals in earlier if vals & values]
        which = f"rule {by[0]}" if len(by) == 1 else f"rules {', '.join(by)}"
        r.add(
            where,
            join(path, rule.level.value),
            f"rule is shadowed by {which} (every {rule.level.value} it lists is matched "
            "there first); use a failover target for a backup",
        )
    earlier.append((rule.index, values))


def _rule(r: Reasons, node: Node, path: str, i: int, target: TargetReader) -> GeoRule | None:
    mark = len(r.items)
    body = reader.mapping(
        r,
        node,
        path,
        optional=("to", "default", *(level.value for level in MATCH_LEVELS)),
        what="a geolocation rule",
    )
    if body is None:
        return None
    fields = body.items
    if "default" in fields:
        for key in fields:
            if key != "default":
                r.add(body.key_lines[key], path, f"a default rule has only 'default', not '{key}'")
        chosen = target(fields["default"], join(path, "default"))
        if chosen is None or len(r.items) > mark:
            return None
        return GeoRule(GeoLevel.DEFAULT, (), (), chosen, i)

    levels = [level for level in MATCH_LEVELS if level.value in fields]
    if not levels:
        r.add(
            body,
            path,
            "a rule needs one of network, subdivision, country, continent "
            "(or is {default: TARGET})",
        )
    elif len(levels) > 1:
        r.add(body, path, f"rule has both '{levels[0].value}' and '{levels[1].value}'")
    if "to" not in fields:
        r.add(body, path, "missing required key 'to'")
        chosen = None
    else:
        chosen = target(fields["to"], join(path, "to"))
    if len(levels) != 1:
        return None
    level = levels[0]
    values, networks = _values(r, fields[level.value], join(path, level.value), level)
    if chosen is None or len(r.items) > mark:
        return None
    return GeoRule(level, values, networks, chosen, i)


def _values(
    r: Reasons, node: Node, path: str, level: GeoLevel
) -> tuple[tuple[str, ...], tuple[IPNetwork, ...]]:
    values: list[str] = []
    networks: list[IPNetwork] = []
    for item_path, item in reader.each(r, node, path, allow_scalar=True):
        if level is GeoLevel.NETWORK:
            prefix = reader.network(r, item, item_path)
            value = str(prefix) if prefix is not None else None
            if prefix is not None and value not in values:
                networks.append(prefix)
        else:
            value = _code(r, item, item_path, level)
        if value is None:
            continue
        if value in values:
            r.add(item, item_path, f"'{value}' is listed twice")
            continue
        values.append(value)
    return tuple(values), tuple(networks)


def _code(r: Reasons, node: Node, path: str, level: GeoLevel) -> str | None:
    written = reader.text(r, node, path)
    if written is None:
        return None
    code = written.upper()
    if level is GeoLevel.CONTINENT:
        if code not in CONTINENTS:
            choices = " ".join(sorted(CONTINENTS))
            r.add(node, path, f"unknown continent '{written}' (one of {choices})")
            return None
        return code
    if level is GeoLevel.COUNTRY:
        country = code
    else:
        match = _SUBDIVISION.fullmatch(code)
        if match is None:
            r.add(node, path, f"invalid subdivision '{written}' (write CC-SUB, e.g. US-CA, GB-ENG)")
            return None
        country = match[1]
    if country not in COUNTRIES:
        hint = COUNTRY_HINTS.get(country)
        advice = f" (did you mean '{hint}'?)" if hint else " (use ISO 3166-1 alpha-2 codes)"
        r.add(node, path, f"unknown country code '{country}'{advice}")
        return None
    return code
