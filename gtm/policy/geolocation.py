"""geolocation: the most specific matching rule wins; a down target falls to the next. Pure.

Order: network (longest prefix first), subdivision, country, continent, default; rules of the
same level in file order. A client without a known location matches network rules and default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gtm.model.addresses import IPNetwork
from gtm.model.codes import GEO_LEVEL_ORDER, GeoLevel
from gtm.model.geo import GeoRecord
from gtm.model.zone import Geolocation, GeoRule, Pool
from gtm.policy.context import common_prefix, describe

if TYPE_CHECKING:
    from gtm.policy.context import Context


def select(node: Geolocation, ctx: Context) -> Pool | None:
    for rule, why in matching_rules(node, ctx):
        ctx.note("rule", rule=rule.index, level=str(rule.level), match=why,
                 target=describe(rule.target))  # fmt: skip
        pool = ctx.select(rule.target)
        if pool is not None:
            return pool
    return None


def matching_rules(node: Geolocation, ctx: Context) -> list[tuple[GeoRule, str]]:
    """The rules that match this client, most specific first, with what matched."""
    address = ctx.client.address
    geo = ctx.client.geo
    networks: list[tuple[int, GeoRule, str]] = []
    others: list[tuple[int, int, GeoRule, str]] = []
    for rule in node.rules:
        if rule.level is GeoLevel.NETWORK:
            best: IPNetwork | None = None
            for network in rule.networks:
                if network.version != address.version:
                    continue
                if address in network:
                    ctx.bound(network.prefixlen)
                    if best is None or network.prefixlen > best.prefixlen:
                        best = network
                else:  # answers hold only for clients that stay outside it too
                    ctx.bound(common_prefix(address, network) + 1)
            if best is not None:
                networks.append((best.prefixlen, rule, f"{address} in {best}"))
            continue
        if rule.level is not GeoLevel.DEFAULT:
            ctx.depends_on_location()
        why = _match(rule, geo)
        if why is not None:
            others.append((GEO_LEVEL_ORDER.index(rule.level), rule.index, rule, why))
    networks.sort(key=lambda item: (-item[0], item[1].index))
    others.sort(key=lambda item: (item[0], item[1]))
    return [(rule, why) for _, rule, why in networks] + [(rule, why) for _, _, rule, why in others]


def _match(rule: GeoRule, geo: GeoRecord | None) -> str | None:
    """What matched a non-network rule, or None."""
    if rule.level is GeoLevel.DEFAULT:
        return "default"
    if geo is None or not geo.found:
        return None
    if rule.level is GeoLevel.SUBDIVISION:
        hit = next((s for s in geo.subdivisions if s in rule.values), None)
        return f"subdivision {hit}" if hit else None
    if rule.level is GeoLevel.COUNTRY:
        return f"country {geo.country}" if geo.country in rule.values else None
    return f"continent {geo.continent}" if geo.continent in rule.values else None
